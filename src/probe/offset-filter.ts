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

export class OffsetFilter {
  /** Ring of (theta, rtt) pairs, interleaved so one sample is one cache line touched. */
  private readonly ring = new Float64Array(2 * OFFSET_WINDOW)
  private n = 0
  private head = 0
  /** Slot of the minimum-rtt sample; -1 when empty. */
  private best = -1
  /** Offset estimate offset_R - offset_S (ms) of the minimum-rtt sample; NaN before the first. */
  thetaMs = NaN
  /** Round trip of that sample (ms). */
  rttMs = NaN

  reset(): void {
    this.n = 0
    this.head = 0
    this.best = -1
    this.thetaMs = NaN
    this.rttMs = NaN
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
    const slot = this.head
    this.ring[2 * slot] = thetaMs
    this.ring[2 * slot + 1] = rttMs
    this.head = (slot + 1) % OFFSET_WINDOW
    if (this.n < OFFSET_WINDOW) this.n++
    // Rescan only when the sample being replaced was the minimum (about once
    // per window); otherwise the new sample either beats it or not.
    if (this.best === slot) this.best = this.scanMin()
    else if (this.best < 0 || rttMs < this.rttMs) this.best = slot
    this.thetaMs = this.ring[2 * this.best]
    this.rttMs = this.ring[2 * this.best + 1]
  }

  private scanMin(): number {
    const r = this.ring
    let best = 0
    for (let i = 1; i < this.n; i++) if (r[2 * i + 1] < r[2 * best + 1]) best = i
    return best
  }
}
