/**
 * A relay's own stalls are not its peers' silence (probe/stall-watch.ts):
 * two probers on a fake clock, `a` sending `b` data (so probing it fast),
 * `b` stalled, or `a` silent, or both.
 */
import { describe, expect, it } from 'vitest'
import { Prober } from '../../src/probe/prober.js'
import { FAST_DOWN_AFTER_MS, FAST_PROBE_INTERVAL_MS } from '../../src/probe/probe-rate.js'
import { STALL_GAP_MS, STALL_WATCH_MS, StallWatch } from '../../src/probe/stall-watch.js'
import type { RouterMessage } from '../../src/probe/types.js'
import { seededRandom } from '../../src/route/seeded-random.js'

const names = ['a', 'b']
const LATENCY_MS = 5
const TICK_MS = 20

function prober(self: string, seed: number, lossDownAfter = 3): Prober {
  return new Prober({
    self, selfId: names.indexOf(self) + 1, relays: names, relayIds: [1, 2], bootId: 7,
    probeIntervalMs: 100, lossDownAfter, random: seededRandom(seed),
  })
}

/**
 * a and b on a fake clock. a sends b data (markActive) and probes it every
 * tick; b's probes reach a at once. b runs only when `bRuns(t)`: probes for
 * it wait in its socket until then, and on waking it ticks first, then reads
 * them (a timer phase before the socket's), as Node does after a stall.
 */
class Pair {
  readonly a = prober('a', 1)
  readonly b: Prober
  /** Probes on their way to (or waiting at) b: [arrival time, bytes]. */
  private readonly toB: [number, Uint8Array][] = []
  /** When b first saw a's edge go down (NaN: never). */
  downAtMs = NaN
  aSilent = false

  constructor(lossDownAfter = 3, private readonly bTickMs = TICK_MS) {
    this.b = prober('b', 2, lossDownAfter)
  }

  run(fromMs: number, toMs: number, bRuns: (t: number) => boolean = () => true): void {
    let nextB = fromMs
    for (let t = fromMs; t < toMs; t++) {
      if (t % TICK_MS === 0 && !this.aSilent) {
        this.a.markActive(1, t)
        const out: RouterMessage[] = []
        this.a.tick(t, out)
        // Copied: the prober rewrites its buffers every round.
        for (const m of out) if (m.kind === 'probe' && m.to === 'b') this.toB.push([t + LATENCY_MS, Uint8Array.from(m.bytes)])
      }
      if (!bRuns(t)) continue
      if (t >= nextB) {
        nextB = t + this.bTickMs
        const out: RouterMessage[] = []
        if (this.b.tick(t, out) > 0 && Number.isNaN(this.downAtMs)) this.downAtMs = t
        for (const m of out) if (m.kind === 'probe' && m.to === 'a') this.a.onProbe(t + LATENCY_MS, 'b', Uint8Array.from(m.bytes))
      }
      while (this.toB.length > 0 && this.toB[0][0] <= t) this.b.onProbe(t, 'a', this.toB.shift()![1])
    }
  }

  get edgeUp(): boolean {
    return this.b.inbound[0].up
  }
}

describe('silence counts only while the relay watches', () => {
  it('adds up only the part of a late call past the time it was expected by', () => {
    const w = new StallWatch()
    // [call at, next due, watching, unobserved after the call]
    const steps: [number, number, boolean, number][] = [
      [0, 20, true, 0],
      [20, 40, true, 0],
      [20 + STALL_GAP_MS, 200, true, 0], // on time: a gap of STALL_GAP_MS while watching is allowed
      [20 + 2 * STALL_GAP_MS + 30, 1000, false, 30], // 30 ms late
      [1000 + STALL_GAP_MS, 2000, false, 30], // not watching: the due time plus the gap is allowed
      [2000 + STALL_GAP_MS + 500, 3000, false, 530],
    ]
    for (const [i, [at, due, watching, unobserved]] of steps.entries()) {
      w.arrive(at)
      w.expectNext(at, due, watching)
      expect(w.unobservedMs, `step ${i}`).toBe(unobserved)
    }
    expect(w.watchDueMs()).toBe(2000 + STALL_GAP_MS + 500 + STALL_WATCH_MS)
  })

  it('does not declare a fast peer down after a stall of its own, though its timers run before the waiting probes are read', () => {
    for (const stallMs of [200, 500, 900, 3000]) {
      const p = new Pair()
      p.run(0, 2000)
      expect(p.edgeUp).toBe(true)
      expect(p.b.inbound[0].senderFast).toBe(true)
      // b does not run from 2003 for stallMs: far longer than the fast deadline (the attack: a silent relay).
      p.run(2000, 2000 + stallMs + 1000, (t) => t < 2003 || t >= 2003 + stallMs)
      expect(p.downAtMs, `stall ${stallMs} ms`).toBeNaN()
      expect(p.edgeUp).toBe(true)
      expect(p.b.unobservedMs).toBeGreaterThan(stallMs - STALL_GAP_MS - TICK_MS)
    }
  })

  it('declares a fast peer down after FAST_DOWN_AFTER_MS of silence while it runs normally', () => {
    const p = new Pair()
    p.run(0, 2000)
    p.aSilent = true
    const lastRx = p.b.inbound[0].lastRxMs
    p.run(2000, 3000)
    expect(p.b.unobservedMs).toBe(0)
    expect(p.downAtMs - lastRx).toBeGreaterThan(FAST_DOWN_AFTER_MS)
    expect(p.downAtMs - lastRx).toBeLessThanOrEqual(FAST_DOWN_AFTER_MS + TICK_MS)
  })

  it('still declares a peer that died during its stall down, once it has watched for the deadline', () => {
    const p = new Pair()
    p.run(0, 2000)
    p.aSilent = true
    const stallEnd = 2003 + 600
    p.run(2000, 4000, (t) => t < 2003 || t >= stallEnd)
    expect(p.downAtMs).toBeGreaterThan(stallEnd)
    // What b watched before the stall (up to 2003) and after it adds up to the deadline.
    expect(p.downAtMs - stallEnd).toBeLessThanOrEqual(FAST_DOWN_AFTER_MS + TICK_MS)
  })

  it('still sees a dead peer when every one of its own ticks comes late', () => {
    // Ticked every 90 ms, 20 ms past the allowed gap each time: the silence
    // counts at 70/90 of real time, so the edge goes down, a little later.
    const p = new Pair(3, 90)
    p.run(0, 2000)
    p.aSilent = true
    const lastRx = p.b.inbound[0].lastRxMs
    p.run(2000, 4000)
    expect(p.b.unobservedMs).toBeGreaterThan(0)
    expect(p.downAtMs - lastRx).toBeGreaterThan(FAST_DOWN_AFTER_MS)
    expect(p.downAtMs - lastRx).toBeLessThanOrEqual((FAST_DOWN_AFTER_MS * 90) / STALL_GAP_MS + 90)
  })

  it('counts nothing as a stall while ticked every 20 ms and fed probes', () => {
    const p = new Pair()
    p.run(0, 5000)
    expect(p.b.unobservedMs).toBe(0)
    expect(p.b.watchDueMs).toBeLessThanOrEqual(5000 + STALL_WATCH_MS)
  })

  it('lengthens the fast deadline with loss_down_after, up to the normal one', () => {
    expect(prober('b', 2).fastDownAfterMs).toBe(FAST_DOWN_AFTER_MS)
    const tolerant = prober('b', 2, 20)
    expect(tolerant.fastDownAfterMs).toBe((FAST_DOWN_AFTER_MS * 20) / 3)
    expect(tolerant.fastDownAfterMs).toBeLessThan(tolerant.downAfterMs)
    expect(prober('b', 2, 1).fastDownAfterMs).toBe(Math.min(FAST_DOWN_AFTER_MS / 3, prober('b', 2, 1).downAfterMs))
    // With loss_down_after 1, still two fast rounds: one whole jittered round (22 ms) missed, and more.
    expect(FAST_PROBE_INTERVAL_MS * 2).toBeLessThanOrEqual(FAST_DOWN_AFTER_MS / 3)
  })
})
