import { describe, expect, it } from 'vitest'
import type { MapUpdate } from '../../src/route/index.js'
import { delays, FakeNet } from './helpers/fake-net.js'

/** The edges into `col` as relay `at` holds them: pseudo, jitter, loss, up. */
function column(net: FakeNet, at: string, col: string): string[] {
  return net.router(at).edges().filter((e) => e.to === col).map((e) => `${e.from} ${e.pseudoMs} ${e.jitterMs} ${e.lossPct} ${e.up}`).sort()
}

describe('column sync', () => {
  // A receiver that missed a delta resyncs from a whole column. That column
  // used to carry the live estimates, while deltas carry changes against what
  // was last sent: the receiver then kept values off by up to a delta
  // threshold (1 point of loss), possibly on the other side of the loss limit,
  // until the edge moved by a threshold again - on a lossy link, whose floods
  // are the ones that get lost, for good.
  it('a receiver that resynced from a whole column holds exactly what receivers in sync hold', () => {
    const relays = ['a', 'b', 'c']
    const net = new FakeNet({
      relays,
      services: [{ name: 'svc', ingress: ['b'], exits: ['c'] }],
      delayMs: delays({}, 10),
      seed: 4,
    })
    for (const u of ['b', 'c']) net.setNoise(u, 'a', 0.1)
    net.setLoss('b', 'a', 0.03)
    net.run(5000)
    // Drop one of a's deltas to c: c must resync.
    let dropped = 0
    net.tamper = (from, m) => {
      if (from === 'a' && m.to === 'c' && m.kind === 'control' && (m.msg as MapUpdate).full === false && dropped === 0) {
        dropped++
        return undefined
      }
      return m
    }
    net.run(8000)
    expect(dropped).toBe(1)
    expect(net.router('c').counters!().control_delta_gap).toBeGreaterThan(0)
    // Right after a's next flood both copies are a's last delta applied.
    expect(column(net, 'c', 'a')).toEqual(column(net, 'b', 'a'))
  })
})
