import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../src/route/seeded-random.js'
import { delays, FakeNet } from './helpers/fake-net.js'

const HOUR = 3_600_000

describe('origin failover', () => {
  it('moves flows to the other exit about 2 missed origin probes after the origin leg fails (250 ms interval)', () => {
    const times: number[] = []
    for (let seed = 1; seed <= 8; seed++) {
      const relays = ['i', 'e1', 'e2']
      const rnd = seededRandom(seed)
      const net = new FakeNet({
        relays,
        services: [{ name: 'svc', ingress: ['i'], exits: ['e1', 'e2'] }],
        delayMs: delays({ 'i-e1': 10, 'i-e2': 10 }, 60),
        offsetsMs: Object.fromEntries(relays.map((r) => [r, (rnd() * 2 - 1) * HOUR])),
        seed,
        origins: { svc: { method: 'twamp', fwdMs: { e1: 2, e2: 6 }, revMs: { e1: 2, e2: 6 }, offsetMs: 2 * HOUR } },
        originIntervalMs: 250,
      })
      net.run(5000 + seed * 31)
      expect(net.router('i').forwardPath('svc')!.path).toEqual(['i', 'e1'])
      // The origin stops answering e1's probes: no sample at all until a driver's 1 s timeout.
      net.tamperOrigin = (exit) => (exit === 'e1' ? 'silent' : 'ok')
      times.push(net.runUntil(() => net.router('i').forwardPath('svc')?.path.join('>') === 'i>e2', 3000, 5))
    }
    console.log(`origin failover at 250 ms: ${times.join(', ')} ms`)
    // 2 x 275 + 20 ms after the last good sample at most (which came before the failure), + 10 ms flood, + ticks.
    for (const t of times) expect(t).toBeLessThan(620)
    expect(times.reduce((a, b) => a + b, 0) / times.length).toBeLessThan(500)
  })
})
