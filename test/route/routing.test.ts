import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../src/route/seeded-random.js'
import { delays, FakeNet } from './helpers/fake-net.js'
import type { NetOptions } from './helpers/fake-net.js'

const HOUR = 3_600_000

function randomOffsets(relays: string[], seed: number): Record<string, number> {
  const rnd = seededRandom(seed)
  return Object.fromEntries(relays.map((r) => [r, (rnd() * 2 - 1) * HOUR]))
}

/** Five relays, a service entering at i and leaving at e1/e2 (TWAMP origin with its own clock). */
function meshOpts(offsetsMs: Record<string, number> | undefined): NetOptions {
  const relays = ['i', 'a', 'b', 'e1', 'e2']
  return {
    relays,
    services: [{ name: 'game', ingress: ['i', 'a'], exits: ['e1', 'e2'], profile: 'gaming' }],
    delayMs: delays({ 'i-a': 8, 'i-b': 12, 'a-e1': 9, 'b-e2': 6, 'a-b': 3, 'i-e1': 30, 'i-e2': 25, 'b-e1': 14, 'e1-e2': 4, 'i>b': 7, 'b>i': 15 }, 40),
    offsetsMs,
    jitterMs: 0.5,
    seed: 11,
    origins: { game: { method: 'twamp', fwdMs: { e1: 3, e2: 6 }, revMs: { e1: 3, e2: 5 }, offsetMs: -2.5 * HOUR } },
  }
}

function snapshot(net: FakeNet): string[] {
  const out: string[] = []
  for (const [name, r] of net.routers) {
    out.push(`${name} fwd ${r.forwardPath('game')?.path.join('>')}`)
    for (const ing of ['i', 'a']) out.push(`${name} reply ${ing} ${r.replyPath('game', ing)?.path.join('>')}`)
    for (const d of net.routers.keys()) out.push(`${name} to ${d} ${r.pathTo(net.local(name), d)?.path.join('>')}`)
  }
  return out
}

describe('routing on a fake network', () => {
  it('makes identical choices whether clocks agree or differ by hours', () => {
    const a = new FakeNet(meshOpts(undefined))
    const b = new FakeNet(meshOpts(randomOffsets(['i', 'a', 'b', 'e1', 'e2'], 5)))
    a.run(6000)
    b.run(6000)
    const sa = snapshot(a)
    expect(sa).toEqual(snapshot(b))
    expect(sa).toContain('i fwd i>b>e2')
    expect(a.router('i').counters!().route_clamped_edges).toBe(0)
    expect(b.router('i').counters!().route_clamped_edges).toBe(0)
  })

  it('shows readable one-way delays despite the offsets', () => {
    const net = new FakeNet(meshOpts(randomOffsets(['i', 'a', 'b', 'e1', 'e2'], 9)))
    net.run(6000)
    const view = net.router('a').edges()
    const ib = view.find((e) => e.from === 'i' && e.to === 'b')!
    const bi = view.find((e) => e.from === 'b' && e.to === 'i')!
    // Asymmetric pair 7 / 15 ms: the NTP estimate splits the difference (11 each way +- jitter).
    // The sum is the RTT: 22 ms plus the median jitter (0.25 ms) each way.
    expect(ib.delayMs + bi.delayMs).toBeCloseTo(22.5, 0)
    expect(Math.abs(ib.pseudoMs)).toBeGreaterThan(1000)
    const ae1 = view.find((e) => e.from === 'a' && e.to === 'e1')!
    expect(ae1.delayMs).toBeGreaterThan(8.5)
    expect(ae1.delayMs).toBeLessThan(10)
    expect(ae1.up).toBe(true)
    expect(view.find((e) => e.from === 'e1' && e.to === 'origin:game')!.delayMs).toBeCloseTo(3, 0)
  })

  it('routes forward and reply differently on an asymmetric topology where RTT would choose wrong', () => {
    // i->x->e is fast (5+5) but e->x->i is slow (40+40): RTT via x = 90.
    // i->y->e is slow (20+20) but e->y->i is fast (5+5): RTT via y = 50.
    const table = { 'i>x': 5, 'x>e': 5, 'e>x': 40, 'x>i': 40, 'i>y': 20, 'y>e': 20, 'e>y': 5, 'y>i': 5, 'i-e': 100, 'x-y': 100 }
    const relays = ['i', 'x', 'y', 'e']
    const net = new FakeNet({
      relays,
      services: [{ name: 'svc', ingress: ['i'], exits: ['e'] }],
      delayMs: delays(table, 100),
      offsetsMs: randomOffsets(relays, 21),
      origins: { svc: { method: 'twamp', fwdMs: { e: 1 }, revMs: { e: 1 }, offsetMs: 4 * HOUR } },
    })
    net.run(5000)
    expect(net.router('i').forwardPath('svc')!.path).toEqual(['i', 'x', 'e'])
    expect(net.router('e').replyPath('svc', 'i')!.path).toEqual(['e', 'y', 'i'])
    // What a symmetric RTT/2 metric would have picked for the forward direction:
    const rttHalf = (p: string[]) => p.slice(1).reduce((s, v, k) => s + (table[`${p[k]}>${v}` as keyof typeof table] + table[`${v}>${p[k]}` as keyof typeof table]) / 2, 0)
    expect(rttHalf(['i', 'y', 'e'])).toBeLessThan(rttHalf(['i', 'x', 'e']))
    // (The displayed delayMs is only an estimate here: without clock sync the
    // 5/40 ms asymmetry of i<->x cannot be seen, only its effect on rankings.)
  })

  it('finds a path between two relays that never had a direct link', () => {
    const relays = ['p', 'q', 'r', 's', 't']
    const rnd = seededRandom(21)
    const ms: Record<string, number> = {}
    for (let i = 0; i < relays.length; i++) {
      for (let j = i + 1; j < relays.length; j++) ms[`${relays[i]}-${relays[j]}`] = 5 + Math.floor(rnd() * 40)
    }
    const net = new FakeNet({ relays, services: [], delayMs: delays(ms, 50), offsetsMs: randomOffsets(relays, 21), seed: 21 })
    net.cutEdge('p', 't')
    net.cutEdge('t', 'p')
    net.run(4000)
    const pt = net.router('p').pathTo(net.local('p'), 't')
    const tp = net.router('t').pathTo(net.local('t'), 'p')
    expect(pt?.path.length).toBe(3)
    expect(tp?.path.length).toBe(3)
    expect(pt?.path[0]).toBe('p')
    expect(tp?.path[2]).toBe('p')
    // Bounded relaying: a couple of relayers per missing pair, not everyone.
    let relayed = 0
    for (const name of relays) relayed += net.router(name).counters!().control_relayed ?? 0
    expect(relayed).toBeGreaterThan(0)
    expect(relayed).toBeLessThan(200)
  })
})
