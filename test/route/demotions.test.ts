/** Local demotions (route/demotions.ts): a demoted path is left at once, avoided while held, and taken back after. */
import { describe, expect, it } from 'vitest'
import { EdgeDemotions, DEMOTED_EDGE_PENALTY_MS } from '../../src/route/demotions.js'
import { delays, FakeNet } from './helpers/fake-net.js'

/** Ingress i, exit e: via a (20 ms) beats via b (24 ms); the direct edge is slow (60 ms). */
function world(): FakeNet {
  return new FakeNet({
    relays: ['i', 'a', 'b', 'e'],
    services: [{ name: 'svc', ingress: ['i'], exits: ['e'] }],
    delayMs: delays({ 'i-a': 10, 'a-e': 10, 'i-b': 12, 'b-e': 12, 'i-e': 60, 'a-b': 30 }, 60),
    seed: 5,
    origins: { svc: { method: 'twamp', fwdMs: { e: 2 }, revMs: { e: 2 } } },
  })
}

const fwd = (net: FakeNet): string => net.router('i').forwardPath('svc')?.path.join('>') ?? 'none'

describe('edge demotions', () => {
  it('penalise finite weights only, and expire', () => {
    const d = new EdgeDemotions(3)
    d.demote(0, 1, 100)
    d.demote(0, 1, 50) // an earlier deadline does not shorten it
    const w = Float64Array.of(0, 5, Infinity, 0, 0, 0, 0, 0, 0)
    d.demote(0, 2, 100)
    d.apply(w)
    expect([w[1], w[2]]).toEqual([5 + DEMOTED_EDGE_PENALTY_MS, Infinity])
    expect(d.onPath([0, 1])).toBe(true)
    expect(d.onPath([1, 0])).toBe(false)
    expect(d.expire(99)).toBe(false)
    expect(d.expire(100)).toBe(true)
    expect(d.size).toBe(0)
  })

  it('move a route off a demoted path at the next computation, without the switch hold', () => {
    const net = world()
    net.run(4000)
    expect(fwd(net)).toBe('i>a>e')
    const r = net.router('i')
    const now = net.local('i')
    expect(r.demotePath!(now, ['i', 'a', 'e'], now + 5000)).toBe(true)
    net.run(60)
    expect(fwd(net)).toBe('i>b>e')
    expect(r.counters!().path_demoted).toBe(1)
    expect(r.demotedEdges!().map((e) => `${e.from}>${e.to}`).sort()).toEqual(['a>e', 'i>a'])
    // The map itself is untouched: the demotion is this relay's own.
    expect(r.predictPath!(['i', 'a', 'e'])?.lossPct).toBe(0)
    // After the hold the better path competes again (and wins after the usual hold).
    net.run(7000)
    expect(fwd(net)).toBe('i>a>e')
    expect(r.demotedEdges!()).toEqual([])
  })

  it('still route over demoted edges when nothing else reaches the exit', () => {
    const net = world()
    net.run(4000)
    const r = net.router('i')
    const now = net.local('i')
    for (const p of [['i', 'a', 'e'], ['i', 'b', 'e'], ['i', 'e']]) r.demotePath!(now, p, now + 60_000)
    net.run(2000)
    expect(fwd(net)).not.toBe('none')
  })

  it('refuse a path through an unknown relay', () => {
    const net = world()
    expect(net.router('i').demotePath!(0, ['i', 'zz', 'e'], 1)).toBe(false)
  })

  it('suspect a silent peer\'s column: avoid every edge into it until an update from it arrives', () => {
    const d = new EdgeDemotions(3)
    expect(d.markSuspect(1)).toBe(true)
    expect(d.markSuspect(1)).toBe(false)
    const w = Float64Array.of(0, 5, 7, 4, 0, 6, Infinity, 3, 0)
    d.apply(w)
    // Every finite edge into 1 (0->1, 2->1) costs the penalty; edges out of it do not.
    expect([w[1], w[7], w[3], w[5]]).toEqual([5 + DEMOTED_EDGE_PENALTY_MS, 3 + DEMOTED_EDGE_PENALTY_MS, 4, 6])
    expect(d.onPath([0, 2, 1])).toBe(true)
    expect(d.onPath([1, 2])).toBe(false)
    expect(d.clearSuspect(1)).toBe(true)
    expect(d.onPath([0, 2, 1])).toBe(false)
  })

  // Exit e loses its link to a (a stays up): e's reply leaves a at e's
  // silence deadline, and a's column is suspect until a's own 'down' of
  // the link, relayed around it, arrives; then e's reply may go through
  // a again by another way (e-b-a-i, 23 ms, beats e-b-i, 42 ms).
  it('lift the suspicion of a silent peer once its column arrives relayed, so routes through it by other links return', () => {
    const net = new FakeNet({
      relays: ['i', 'a', 'b', 'e'],
      services: [{ name: 'svc', ingress: ['i'], exits: ['e'] }],
      delayMs: delays({ 'i-a': 10, 'a-e': 10, 'i-b': 30, 'b-e': 12, 'i-e': 60, 'a-b': 1 }, 60),
      seed: 5,
      origins: { svc: { method: 'twamp', fwdMs: { e: 2 }, revMs: { e: 2 } } },
    })
    const reply = (): string => net.router('e').replyPath('svc', 'i')?.path.join('>') ?? 'none'
    net.run(8000)
    expect(reply()).toBe('e>a>i')
    net.cutEdge('a', 'e')
    net.cutEdge('e', 'a')
    net.run(3000)
    expect(reply()).toBe('e>b>a>i')
  })
})
