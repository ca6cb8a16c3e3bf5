/**
 * NTP-style clock offset between this relay (R) and a peer (S), from the four
 * timestamps of one probe exchange:
 *   t1 R sends (R clock), t2 S receives (S clock), t3 S sends (S clock), t4 R receives (R clock)
 *   rtt   = (t4 - t1) - (t3 - t2)                  (clock-free: each difference is on one clock)
 *   theta = ((t4 - t3) - (t2 - t1)) / 2            (estimate of offset_R - offset_S)
 * theta is exact when the two directions have equal delay and off by half the
 * asymmetry otherwise. Queueing inflates one direction at a time, so the
 * sample with the smallest rtt in a recent window is the one least disturbed
 * (the minimum-RTT filter of NTP's clock filter algorithm).
 */

export const OFFSET_WINDOW = 64
/** An echo older than this (t4 - t1) is ignored: it belongs to a stale exchange. */
export const MAX_EXCHANGE_MS = 10_000

const N = 0
const HEAD = 1
/** Slot of the minimum-rtt sample; -1 when empty. */
const BEST = 2
const THETA = 3
const RTT = 4
/** Ring of (theta, rtt) pairs, interleaved so one sample is one cache line touched. */
const RING_AT = 5
/** Doubles one OffsetFilter takes in a shared store. */
export const OFFSET_FILTER_DOUBLES = RING_AT + 2 * OFFSET_WINDOW

/**
 * All state lives in `store` at [base, base + OFFSET_FILTER_DOUBLES): its
 * own array by default, or one block of a caller's shared store (see
 * DelayFilter).
 */
export class OffsetFilter {
  private readonly s: Float64Array
  private readonly b: number

  constructor(store?: Float64Array, base = 0) {
    this.s = store ?? new Float64Array(OFFSET_FILTER_DOUBLES)
    this.b = base
    this.reset()
  }

  /** Offset estimate offset_R - offset_S (ms) of the minimum-rtt sample; NaN before the first. */
  get thetaMs(): number {
    return this.s[this.b + THETA]
  }

  /** Round trip of that sample (ms). */
  get rttMs(): number {
    return this.s[this.b + RTT]
  }

  reset(): void {
    const s = this.s
    const b = this.b
    s[b + N] = 0
    s[b + HEAD] = 0
    s[b + BEST] = -1
    s[b + THETA] = NaN
    s[b + RTT] = NaN
  }

  /** Adds one exchange; returns false (and ignores it) when the timestamps are inconsistent. */
  add(t1: number, t2: number, t3: number, t4: number): boolean {
    const rtt = t4 - t1 - (t3 - t2)
    if (!(rtt >= 0) || t4 - t1 > MAX_EXCHANGE_MS || t4 < t1 || t3 < t2) return false
    this.addSample((t4 - t3 - (t2 - t1)) / 2, rtt)
    return true
  }

  /** Adds an already computed (offset, rtt) pair, e.g. from a TWAMP origin sample. */
  addSample(thetaMs: number, rttMs: number): void {
    const s = this.s
    const b = this.b
    const ring = b + RING_AT
    const slot = s[b + HEAD]
    s[ring + 2 * slot] = thetaMs
    s[ring + 2 * slot + 1] = rttMs
    s[b + HEAD] = (slot + 1) % OFFSET_WINDOW
    let n = s[b + N]
    if (n < OFFSET_WINDOW) s[b + N] = ++n
    // Rescan only when the sample being replaced was the minimum (about once
    // per window); otherwise the new sample either beats it or not.
    let best = s[b + BEST]
    if (best === slot) best = this.scanMin(n)
    else if (best < 0 || rttMs < s[b + RTT]) best = slot
    s[b + BEST] = best
    s[b + THETA] = s[ring + 2 * best]
    s[b + RTT] = s[ring + 2 * best + 1]
  }

  private scanMin(n: number): number {
    const s = this.s
    const ring = this.b + RING_AT
    let best = 0
    for (let i = 1; i < n; i++) if (s[ring + 2 * i + 1] < s[ring + 2 * best + 1]) best = i
    return best
  }
}
