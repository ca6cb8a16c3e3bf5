import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../src/route/seeded-random.js'
import { delays, FakeNet } from './helpers/fake-net.js'

const HOUR = 3_600_000

/** Ingress i, exit e; the detour via a (20 ms) is clearly better than via b (30 ms). */
function net(seed: number): FakeNet {
  const relays = ['i', 'a', 'b', 'e']
  const rnd = seededRandom(seed)
  return new FakeNet({
    relays,
    services: [{ name: 'svc', ingress: ['i'], exits: ['e'] }],
    delayMs: delays({ 'i-a': 10, 'a-e': 10, 'i-b': 10, 'b-e': 20, 'i-e': 60, 'a-b': 30 }, 60),
    offsetsMs: Object.fromEntries(relays.map((r) => [r, (rnd() * 2 - 1) * HOUR])),
    seed,
    origins: { svc: { method: 'twamp', fwdMs: { e: 2 }, revMs: { e: 2 }, offsetMs: HOUR / 3 } },
  })
}

/** Steps 10 ms at a time for `ms`, counting how often each direction moved back onto a. */
function watch(n: FakeNet, ms: number, count: { forward: number; reply: number }, onA: { forward: boolean; reply: boolean }): void {
  for (let t = 0; t < ms; t += 10) {
    n.run(10)
    const f = n.router('i').forwardPath('svc')?.path.includes('a') ?? false
    const r = n.router('e').replyPath('svc', 'i')?.path.includes('a') ?? false
    if (f && !onA.forward) count.forward++
    if (r && !onA.reply) count.reply++
    onA.forward = f
    onA.reply = r
  }
}

describe('flap damping in the network', () => {
  it('rides a link flapping with a 4 s period at most once more after the first cut, and uses it again once stable', () => {
    for (const seed of [1, 2, 3]) {
      const n = net(seed)
      n.run(5000)
      expect(n.router('i').forwardPath('svc')!.path).toEqual(['i', 'a', 'e'])
      const reentries = { forward: 0, reply: 0 }
      const onA = { forward: true, reply: true }
      for (let cut = 0; cut < 5; cut++) {
        n.cutEdge('a', 'e')
        n.cutEdge('e', 'a')
        watch(n, 2000, reentries, onA)
        n.restoreEdge('a', 'e')
        n.restoreEdge('e', 'a')
        watch(n, 2000, reentries, onA)
      }
      expect(reentries.forward).toBeLessThanOrEqual(1)
      expect(reentries.reply).toBeLessThanOrEqual(1)
      expect(n.router('e').counters!().edge_flap_suppressions).toBeGreaterThanOrEqual(1)
      // Now stable: the link stays avoided for a while (the penalty decays), then is used again.
      const back = n.runUntil(() => n.router('i').forwardPath('svc')?.path.includes('a') === true, 60_000, 50)
      expect(back).toBeGreaterThan(10_000)
      expect(back).toBeLessThan(40_000)
    }
  })

  it('uses a link that failed once again as fast as without damping', () => {
    const n = net(4)
    n.run(5000)
    n.cutEdge('a', 'e')
    n.run(2000)
    expect(n.router('i').forwardPath('svc')!.path).toEqual(['i', 'b', 'e'])
    n.restoreEdge('a', 'e')
    const back = n.runUntil(() => n.router('i').forwardPath('svc')?.path.includes('a') === true, 10_000, 5)
    // 3 probes to come up, a flood, then the 1 s hold: as in dynamics.test.ts.
    expect(back).toBeLessThan(3000)
  })
})
