import { describe, expect, it } from 'vitest'
import { InboundEdge, ProbeVerdict, UP_AFTER_PROBES } from '../../src/probe/inbound-edge.js'
import { emptyProbeFields } from '../../src/probe/probe-codec.js'

function probe(seq: number, txMs: number, bootId = 1) {
  return { ...emptyProbeFields(), seq, txMs, bootId }
}

describe('InboundEdge', () => {
  it('starts down and comes up only after consecutive probes', () => {
    const e = new InboundEdge()
    for (let s = 0; s < UP_AFTER_PROBES - 1; s++) e.onProbe(s * 100 + 5, probe(s, s * 100), 0)
    expect(e.up).toBe(false)
    e.onProbe(1000, probe(UP_AFTER_PROBES - 1, 995), 0)
    expect(e.up).toBe(true)
  })

  it('goes down after silence and needs consecutive probes again', () => {
    const e = new InboundEdge()
    for (let s = 0; s < 5; s++) e.onProbe(s * 100 + 5, probe(s, s * 100), 0)
    expect(e.checkSilence(405 + 300, 350)).toBe(false)
    expect(e.checkSilence(405 + 351, 350)).toBe(true)
    expect(e.up).toBe(false)
    e.onProbe(1005, probe(10, 1000), 0)
    expect(e.up).toBe(false)
  })

  it('reports duplicates and resets when the peer restarts with a new boot id', () => {
    const e = new InboundEdge()
    for (let s = 0; s < 5; s++) e.onProbe(s * 100 + 5, probe(s, s * 100), 0)
    expect(e.onProbe(600, probe(4, 400), 0)).toBe(ProbeVerdict.Duplicate)
    expect(e.onProbe(700, probe(0, 600, 2), 0)).toBe(ProbeVerdict.Accepted)
    expect(e.up).toBe(false)
    expect(e.delay.samples).toBe(1)
  })

  it('measures the pseudo delay as receive time minus send time', () => {
    const e = new InboundEdge()
    e.onProbe(3_600_010, probe(0, 0), 0)
    expect(e.delay.smoothedMs).toBe(3_600_010)
  })

  it('takes an offset sample only from an echo of our own boot', () => {
    const e = new InboundEdge()
    const p = { ...probe(0, 1000), hasEcho: true, echoBootId: 99, echoTxMs: 0, echoRxMs: 990 }
    e.onProbe(30, p, 5)
    expect(Number.isNaN(e.offset.thetaMs)).toBe(true)
    e.onProbe(130, { ...p, seq: 1, txMs: 1100, echoBootId: 5, echoTxMs: 100, echoRxMs: 1090 }, 5)
    // t1=100 t2=1090 t3=1100 t4=130: rtt = 30 - 10 = 20, theta = ((130-1100) - (1090-100))/2
    expect(e.offset.rttMs).toBe(20)
    expect(e.offset.thetaMs).toBe((130 - 1100 - (1090 - 100)) / 2)
  })

  it('does not count an outage as loss once the edge is back up', () => {
    const e = new InboundEdge()
    for (let s = 0; s < 20; s++) e.onProbe(s * 100 + 5, probe(s, s * 100), 0)
    expect(e.checkSilence(1905 + 351, 350)).toBe(true)
    // 50 probes (5 s) lost, then the edge comes back.
    for (let s = 70; s < 70 + UP_AFTER_PROBES; s++) e.onProbe(s * 100 + 5, probe(s, s * 100), 0)
    expect(e.up).toBe(true)
    expect(e.loss.lossPct()).toBe(0)
    // Loss after it is up counts again.
    e.onProbe(7405, probe(74, 7400), 0)
    expect(e.loss.lossPct()).toBeCloseTo(100 / (UP_AFTER_PROBES + 2))
  })

  // A fast round's two probes leave back to back, and back-to-back packets
  // are the ones a network reorders: each pair overtaking itself read as
  // a loss, and two within 30 numbers tripped a clean edge.
  it('takes a probe overtaken by its pair\'s partner for no loss: the fast loss detector never trips on reordered pairs', () => {
    const e = new InboundEdge()
    let t = 0
    for (let s = 0; s < 10; s++) e.onProbe((t += 10), probe(s, t), 0)
    expect(e.up).toBe(true)
    // 100 rounds, every other one arriving in reverse order (n + 1, then n).
    for (let r = 0; r < 100; r++) {
      const n = 10 + 2 * r
      const order = r % 2 === 0 ? [n + 1, n] : [n, n + 1]
      for (const s of order) e.onProbe((t += 10), { ...probe(s, t), fast: true }, 0, 0, 300)
      expect(e.fastLoss.tripped).toBe(false)
    }
    expect(e.loss.lossPct()).toBe(0)
    // Two probes that never arrive still trip it, a round later.
    e.onProbe((t += 10), { ...probe(212, t), fast: true }, 0, 0, 300)
    expect(e.fastLoss.tripped).toBe(false)
    e.onProbe((t += 10), { ...probe(213, t), fast: true }, 0, 0, 300)
    e.onProbe((t += 10), { ...probe(214, t), fast: true }, 0, 0, 300)
    expect(e.fastLoss.tripped).toBe(true)
  })
})
