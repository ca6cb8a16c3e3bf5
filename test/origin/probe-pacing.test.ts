import { describe, expect, it } from 'vitest'
import { MISS_FLOOR_MS, MISS_RTT_FACTOR, ProbePacing } from '../../src/origin/probe-pacing.js'
import { TwampReflectorCore, TwampSender } from '../../src/origin/index.js'
import { ORIGIN_DOWN_AFTER_MISSED, OriginEdge } from '../../src/probe/origin-edge.js'

const half = (): number => 0.5

describe('origin probe pacing', () => {
  it('misses a reply after a few typical round trips, at least the floor, at most the interval', () => {
    const p = new ProbePacing(250, 1000, half)
    expect(p.missDeadlineMs()).toBe(250)
    p.onReply(2)
    expect(p.missDeadlineMs()).toBe(MISS_FLOOR_MS)
    for (let i = 0; i < 8; i++) p.onReply(20)
    expect(p.missDeadlineMs()).toBe(MISS_RTT_FACTOR * 20)
    for (let i = 0; i < 8; i++) p.onReply(200)
    expect(p.missDeadlineMs()).toBe(250)
  })

  it('keeps its deadline through a few stalled replies (the median, not the mean)', () => {
    const p = new ProbePacing(250, 1000, half)
    for (let i = 0; i < 8; i++) p.onReply(i % 3 === 0 ? 150 : 1)
    expect(p.missDeadlineMs()).toBe(MISS_FLOOR_MS)
  })

  it('confirms a miss at once, up to the misses that take a leg down, then goes back to the interval', () => {
    const p = new ProbePacing(250, 1000, half)
    expect(p.due(0)).toBe(true)
    expect(p.due(100)).toBe(false)
    for (let k = 1; k < ORIGIN_DOWN_AFTER_MISSED; k++) {
      p.onMiss(100 + k)
      expect(p.due(100 + k)).toBe(true)
    }
    p.onMiss(200)
    expect(p.due(200)).toBe(false)
    expect(p.nextDueMs()).toBe(100 + ORIGIN_DOWN_AFTER_MISSED - 1 + 250)
  })
})

describe('TWAMP sender misses', () => {
  /** A sender that has seen replies of 1 ms, and a reflector. */
  function warmed(): { s: TwampSender; reflect: (p: Uint8Array, atMs: number) => Uint8Array; t: number } {
    const s = new TwampSender({ service: 'g', intervalMs: 250, random: half })
    const core = new TwampReflectorCore()
    const out = new Uint8Array(128)
    const reflect = (p: Uint8Array, atMs: number): Uint8Array => out.slice(0, core.reflect(p, p.length, atMs, atMs, 64, out))
    let t = 0
    for (let i = 0; i < 8; i++, t += 250) {
      const pkt = Uint8Array.from(s.tick(t).packet!)
      expect(s.onReply(t + 1, reflect(pkt, t))).toBeDefined()
    }
    return { s, reflect, t }
  }

  it('reports each overdue reply once and sends a confirmation at once', () => {
    const { s, t } = warmed()
    expect(s.tick(t).packet).toBeDefined()
    expect(s.tick(t + MISS_FLOOR_MS - 1).losses).toEqual([])
    const miss = s.tick(t + MISS_FLOOR_MS)
    expect(miss.losses).toEqual([{ service: 'g', method: 'twamp', missed: true }])
    expect(miss.packet).toBeDefined()
    expect(s.nextDueMs()).toBe(t + 2 * MISS_FLOOR_MS)
  })

  it('takes a late reply as proof of life: a leg whose RTT jumps past the deadline stays up while the deadline follows', () => {
    const { s, reflect, t: t0 } = warmed()
    const edge = new OriginEdge(3)
    for (let k = 0; k < 3; k++) edge.onSample(t0 - 3 + k, { service: 'g', method: 'twamp', forwardPseudoMs: 0.5, reversePseudoMs: 0.5, rttMs: 1 })
    const pending: { pkt: Uint8Array; sentMs: number }[] = []
    // Every reply now takes 50 ms: past the 30 ms deadline until the median has moved.
    for (let t = t0; t < t0 + 10_000; t++) {
      const tick = s.tick(t)
      for (const l of tick.losses) edge.onSample(t, l)
      if (tick.packet) pending.push({ pkt: Uint8Array.from(tick.packet), sentMs: t })
      while (pending.length > 0 && pending[0].sentMs + 50 <= t) {
        const sample = s.onReply(t, reflect(pending.shift()!.pkt, t))
        if (sample) edge.onSample(t, sample)
      }
      expect(edge.up).toBe(true)
    }
    expect(s.counters.missed).toBeGreaterThan(0)
    expect(s.tick(t0 + 10_000).losses).toEqual([])
    expect(s.counters.lost).toBe(0)
  })
})

describe('origin edge misses', () => {
  const good = { service: 's', method: 'icmp' as const, rttMs: 1 }
  const missed = { service: 's', method: 'icmp' as const, missed: true }

  it(`goes down at ${ORIGIN_DOWN_AFTER_MISSED} misses in a row, not before, and counts no loss for them`, () => {
    const e = new OriginEdge(3)
    for (let t = 0; t < 2000; t += 250) e.onSample(t, good)
    expect(e.up).toBe(true)
    for (let k = 1; k < ORIGIN_DOWN_AFTER_MISSED; k++) e.onSample(2000 + k, missed)
    expect(e.up).toBe(true)
    // A reply between (even a late one) starts the count over.
    e.onSample(2010, good)
    for (let k = 1; k < ORIGIN_DOWN_AFTER_MISSED; k++) e.onSample(2010 + k, missed)
    expect(e.up).toBe(true)
    expect(e.onSample(2100, missed).changed).toBe(true)
    expect(e.up).toBe(false)
    expect(e.loss.lossPct()).toBe(0)
  })
})
