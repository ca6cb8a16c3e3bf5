/** Fast probing of the edges that carry data (probe/probe-rate.ts), two probers on a fake clock. */
import { describe, expect, it } from 'vitest'
import { Prober } from '../../src/probe/prober.js'
import { FAST_DOWN_AFTER_MS, FAST_PROBE_HOLD_MS, FAST_PROBES_PER_ROUND, MAX_FAST_PEERS } from '../../src/probe/probe-rate.js'
import { decodeProbe, emptyProbeFields } from '../../src/probe/probe-codec.js'
import type { RouterMessage } from '../../src/probe/types.js'
import { seededRandom } from '../../src/route/seeded-random.js'

const names = ['a', 'b', 'c']

function prober(self: string, seed: number): Prober {
  return new Prober({
    self, selfId: names.indexOf(self) + 1, relays: names, relayIds: [1, 2, 3], bootId: 7,
    probeIntervalMs: 100, lossDownAfter: 3, random: seededRandom(seed),
  })
}

/** a and b probe each other every 10 ms tick for `ms`; `drop(from, to, nowMs)` loses a probe. Returns the probes a sent to b and c. */
function runPair(a: Prober, b: Prober, fromMs: number, ms: number, drop = (_f: string, _t: string, _n: number) => false): { toB: number; toC: number } {
  let toB = 0
  let toC = 0
  for (let t = fromMs; t < fromMs + ms; t += 10) {
    for (const [p, self] of [[a, 'a'], [b, 'b']] as const) {
      const out: RouterMessage[] = []
      p.tick(t, out)
      for (const m of out) {
        if (m.kind !== 'probe') continue
        if (self === 'a' && m.to === 'b') toB++
        if (self === 'a' && m.to === 'c') toC++
        if (m.to === 'c' || drop(self, m.to, t)) continue
        ;(m.to === 'a' ? a : b).onProbe(t + 5, self, m.bytes)
      }
    }
  }
  return { toB, toC }
}

/** a and b after a second of probing each other at the normal interval (0 to 1000 ms). */
function settledPair(): { a: Prober; b: Prober } {
  const a = prober('a', 1)
  const b = prober('b', 2)
  runPair(a, b, 0, 1000)
  return { a, b }
}

describe('fast probing of active edges', () => {
  it('probes a peer we send data to 10 times as often (a pair every 20 ms), with the FAST flag, and the others as before', () => {
    const { a, b } = settledPair()
    const slow = runPair(a, b, 1000, 1000)
    expect(slow.toB).toBeGreaterThanOrEqual(9)
    expect(slow.toB).toBeLessThanOrEqual(11)
    let flagged = 0
    let toB = 0
    let toC = 0
    for (let t = 2000; t < 3000; t += 10) {
      a.markActive(1, t)
      const out: RouterMessage[] = []
      a.tick(t, out)
      for (const m of out) {
        if (m.kind !== 'probe') continue
        const f = emptyProbeFields()
        decodeProbe(m.bytes, f)
        if (m.to === 'b') {
          toB++
          if (f.fast) flagged++
        } else toC++
      }
    }
    // 50 rounds a second of FAST_PROBES_PER_ROUND, less a few rounds due just after a 10 ms tick (they wait for the next).
    expect(FAST_PROBES_PER_ROUND).toBe(2)
    expect(toB).toBeGreaterThanOrEqual(80)
    expect(toB).toBeLessThanOrEqual(110)
    expect(flagged).toBe(toB)
    expect(toC).toBeGreaterThanOrEqual(9)
    expect(toC).toBeLessThanOrEqual(11)
  })

  it('sends a fast round\'s probes back to back with consecutive numbers, so a burst of two lost packets trips the loss detector', () => {
    const { a, b } = settledPair()
    a.markActive(1, 1000)
    runPair(a, b, 1000, 500)
    const out: RouterMessage[] = []
    let t = 1500
    for (; out.length === 0; t += 10) a.tick(t, out)
    const seqs = out.filter((m) => m.to === 'b').map((m) => {
      if (m.kind !== 'probe') throw new Error('a probe round sends only probes')
      const f = emptyProbeFields()
      decodeProbe(m.bytes, f)
      b.onProbe(t + 5, 'a', m.bytes)
      return f.seq
    })
    expect(seqs).toHaveLength(2)
    expect(seqs[1]).toBe(seqs[0] + 1)
    // Two packets lost back to back (a congested queue's burst, one round of a's probes): b trips.
    const e = b.inbound[0]
    expect(e.fastLoss.tripped).toBe(false)
    // Every probe a sends b in the first tick from 1650 on that sends any: one round, both probes.
    let lostAt = -1
    runPair(a, b, 1600, 200, (from, _to, t) => {
      if (from !== 'a' || t < 1650 || (lostAt >= 0 && t !== lostAt)) return false
      lostAt = t
      return true
    })
    expect(e.fastLoss.tripped).toBe(true)
    // The clearing run is scaled to the pairs: still ~3 s of clean probes (a still sending b data), not 1.5.
    let clearedAt = -1
    for (let t = 1800; t < 6000 && clearedAt < 0; t += 100) {
      a.markActive(1, t)
      runPair(a, b, t, 100)
      if (!e.fastLoss.tripped) clearedAt = t + 100
    }
    expect(clearedAt - lostAt).toBeGreaterThanOrEqual(2900)
    expect(clearedAt - lostAt).toBeLessThanOrEqual(3500)
  })

  it('keeps each peer\'s sequence numbers gapless, so a fast peer costs the others no loss', () => {
    const { a, b } = settledPair()
    for (let t = 1000; t < 3000; t += 200) {
      a.markActive(1, t)
      runPair(a, b, t, 200)
    }
    runPair(a, b, 3000, 5000)
    expect(b.inbound[0].loss.lossPct()).toBe(0)
    expect(b.inbound[0].fastLoss.tripped).toBe(false)
    expect(b.inbound[0].up).toBe(true)
  })

  it('holds a fast edge to FAST_DOWN_AFTER_MS', () => {
    const { a, b } = settledPair()
    a.markActive(1, 1000)
    runPair(a, b, 1000, 500)
    expect(b.inbound[0].senderFast).toBe(true)
    // a goes silent at 1500: b notices within FAST_DOWN_AFTER_MS (+ a tick and a probe interval).
    let downAt = -1
    for (let t = 1500; t < 2500 && downAt < 0; t += 10) {
      b.tick(t, [])
      if (!b.inbound[0].up) downAt = t
    }
    expect(downAt).toBeGreaterThan(1500)
    expect(downAt - 1500).toBeLessThanOrEqual(FAST_DOWN_AFTER_MS + 40)
  })

  it('announces the slow-down before probing slowly, so the receiver never sees a fast edge fall silent', () => {
    const { a, b } = settledPair()
    a.markActive(1, 1000)
    let downs = 0
    for (let t = 1000; t < 1000 + FAST_PROBE_HOLD_MS + 3000; t += 10) {
      const out: RouterMessage[] = []
      a.tick(t, out)
      for (const m of out) if (m.kind === 'probe' && m.to === 'b') b.onProbe(t + 5, 'a', m.bytes)
      const outB: RouterMessage[] = []
      downs += b.tick(t, outB)
    }
    expect(a.fastCount).toBe(0)
    expect(b.inbound[0].senderFast).toBe(false)
    expect(downs).toBe(0)
  })

  it('probes at most MAX_FAST_PEERS peers fast', () => {
    const many = Array.from({ length: MAX_FAST_PEERS + 5 }, (_, i) => `r${i}`)
    const p = new Prober({ self: 'r0', selfId: 1, relays: many, relayIds: many.map((_, i) => i + 1), bootId: 1, probeIntervalMs: 100, lossDownAfter: 3, random: seededRandom(1) })
    for (let i = 0; i < many.length; i++) p.markActive(i, 0)
    expect(p.fastCount).toBe(MAX_FAST_PEERS)
    expect(p.isFast(0)).toBe(false)
  })

  it('carries each peer\'s sequence numbers over to a successor (continueRun)', () => {
    const { a, b } = settledPair()
    a.markActive(1, 1000)
    runPair(a, b, 1000, 1000)
    const run = a.run
    expect(run.seqs.b).toBeGreaterThan(run.seqs.c + 20)
    const a2 = prober('a', 3)
    a2.continueRun(run.bootId, run.nextSeq, run.seqs)
    runPair(a2, b, 2000, 1000)
    expect(b.inbound[0].loss.lossPct()).toBe(0)
    expect(b.inbound[0].up).toBe(true)
  })
})
