/** The ingress's verdicts on path reports (control/path-check.ts), on a fake timeline: thresholds, low rates, holds. */
import { describe, expect, it } from 'vitest'
import {
  DEMOTION_HOLD_MS, LOSS_EXCESS_PCT, MIN_SENT_FOR_LOSS, PathCheck, type Verdict,
} from '../../src/control/path-check.js'
import { SentSlot } from '../../src/dataplane/path-meter.js'
import type { PathPrediction } from '../../src/route/types.js'
import { NO_DIFF, pathKey, type ReportEntry } from '../../src/wire/path-report.js'

const E = 0xe
const nodes = Uint32Array.of(0xa, 0xb, E)
const KEY = pathKey(nodes, 3)
/** The map: 20 ms of pseudo delay (and of estimated delay), no loss, no jitter. */
const MAP: PathPrediction = { up: true, pseudoMs: 20, delayMs: 20, lossPct: 0, jitterMs: 0 }

/** One exit, one path: each step sends `sent`, the exit receives `recv`, with the interval's minimum delay `minMs`. */
class Timeline {
  readonly check = new PathCheck()
  readonly slot = new SentSlot(KEY, nodes, 0)
  received = 0
  nowMs = 0
  verdicts: Verdict[] = []

  map = MAP

  step(sent: number, recv: number, minMs?: number, samples = recv): Verdict[] {
    this.nowMs += 500
    this.slot.sent += sent
    this.received += recv
    const e: ReportEntry = { pathKey: KEY, slotId: 1, received: this.received, samples: minMs === undefined ? 0 : samples, minDiff: NO_DIFF, meanDiff: NO_DIFF }
    if (minMs !== undefined) e.minDiff = e.meanDiff = Math.round(minMs * 100)
    const v = this.check.onReport(this.nowMs, E, { reporter: E, seq: 0, entries: [e] }, [this.slot], () => this.map)
    this.verdicts.push(...v)
    return v
  }
}

/** Alternating 2 and 3 packets per report: 5 a second. */
function i2(t: Timeline): number {
  return t.nowMs % 1000 === 0 ? 3 : 2
}

describe('path check', () => {
  it('demotes a path that loses most of its data at 50 packets a second after two bad reports', () => {
    const t = new Timeline()
    t.step(25, 25) // baseline
    expect(t.step(25, 3)).toEqual([])
    expect(t.step(25, 3)).toEqual([expect.objectContaining({ reason: 'loss', holdMs: DEMOTION_HOLD_MS })])
    expect(t.verdicts[0].measured).toBeCloseTo(88, 0)
    expect(t.verdicts[0].limit).toBe(LOSS_EXCESS_PCT)
  })

  it('counts a path the exit never saw as lost, not as unknown', () => {
    const t = new Timeline()
    const silent = (): Verdict[] => {
      t.nowMs += 500
      t.slot.sent += 25
      return t.check.onReport(t.nowMs, E, { reporter: E, seq: 0, entries: [] }, [t.slot], () => MAP)
    }
    silent()
    silent()
    expect(silent()).toEqual([expect.objectContaining({ reason: 'loss', measured: 100 })])
  })

  it('leaves moderate loss to the probes (10% is under the margin)', () => {
    const t = new Timeline()
    for (let i = 0; i < 20; i++) t.step(50, i === 0 ? 50 : 45)
    expect(t.verdicts).toEqual([])
  })

  it('at 5 packets a second: one loss per bucket is no verdict, losing everything is one within 2.5 s', () => {
    const t = new Timeline()
    for (let i = 0; i < 40; i++) t.step(i % 2 ? 3 : 2, i % 4 === 1 ? 2 : i % 2 ? 3 : 2)
    expect(t.verdicts).toEqual([])
    const from = t.nowMs
    while (t.verdicts.length === 0 && t.nowMs - from < 5000) t.step(i2(t), 0)
    expect(t.verdicts[0]).toMatchObject({ reason: 'loss', measured: 100 })
    expect(t.nowMs - from).toBeLessThanOrEqual(2500)
    expect(MIN_SENT_FOR_LOSS).toBe(10)
  })

  it('does not blame an outage the probes caught: one spoilt report, then the sender left the path', () => {
    const t = new Timeline()
    t.step(25, 25)
    t.step(25, 25)
    t.step(25, 10) // the relay died in this interval
    t.step(7, 0) // the route moved away 150 ms into this one
    t.step(0, 0) // not in use
    t.step(25, 25) // back on it after the relay returned
    t.step(25, 25)
    expect(t.verdicts).toEqual([])
  })

  it('does not judge a path the map already shows broken', () => {
    const t = new Timeline()
    t.step(25, 25)
    t.map = { ...MAP, up: false }
    for (let i = 0; i < 5; i++) t.step(25, 0)
    t.map = MAP
    t.step(25, 25)
    expect(t.verdicts).toEqual([])
  })

  it('demotes a path whose minimum data delay stays well above the map for two reports, not for one', () => {
    const t = new Timeline()
    t.step(25, 25, 21)
    // Limit: 15 + 50% of 20 = 25 ms over the map's 20 ms.
    expect(t.step(25, 25, 50)).toEqual([])
    expect(t.step(25, 25, 22)).toEqual([])
    expect(t.step(25, 25, 60)).toEqual([])
    expect(t.step(25, 25, 60)).toEqual([expect.objectContaining({ reason: 'delay', measured: 40, limit: 25 })])
  })

  it('ignores the delay of an interval with too few samples', () => {
    const t = new Timeline()
    for (let i = 0; i < 10; i++) t.step(5, 5, 200, 5)
    expect(t.verdicts).toEqual([])
  })

  it('doubles the hold when the same path fails again right after its hold', () => {
    const t = new Timeline()
    t.step(25, 25)
    t.step(25, 0)
    t.step(25, 0)
    expect(t.verdicts.map((v) => v.holdMs)).toEqual([DEMOTION_HOLD_MS])
    // During the hold no new verdict; after it, the next failure holds twice as long.
    const end = t.nowMs + DEMOTION_HOLD_MS
    while (t.nowMs < end) t.step(25, 0)
    expect(t.verdicts).toHaveLength(1)
    while (t.verdicts.length < 2 && t.nowMs < end + 3000) t.step(25, 0)
    expect(t.verdicts.map((v) => v.holdMs)).toEqual([DEMOTION_HOLD_MS, 2 * DEMOTION_HOLD_MS])
  })
})
