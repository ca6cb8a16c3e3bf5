/**
 * Robust delay estimate over a stream of (pseudo) one-way delay samples:
 *   - `minMs`: minimum of the last MIN_WINDOW samples (the propagation floor),
 *   - `smoothedMs`: an exponentially smoothed running median of the last
 *     MEDIAN_WINDOW samples. The median ignores isolated spikes (a single
 *     delayed probe), the smoothing (gain 1/8, like TCP's SRTT) damps noise.
 *   - `jitterMs`: RFC 3550 interarrival jitter, J += (|D| - J) / 16, where D is
 *     the difference of consecutive transit times. Transit times here are the
 *     samples themselves (receive time - send time), so D is exact even though
 *     each sample contains an unknown clock offset: the offset cancels in D.
 *
 * Samples may carry offsets of hours; nothing here assumes they are small.
 */

export const MIN_WINDOW = 64
export const MEDIAN_WINDOW = 9
/** EWMA gain of the smoothed median. */
export const SMOOTH_GAIN = 1 / 8
/** RFC 3550 section 6.4.1 jitter gain. */
export const JITTER_GAIN = 1 / 16
/**
 * Jitter a fresh estimator starts with. New edges start pessimistic
 * (babeld's habit): the jitter penalty makes them unattractive to the
 * gaming/rtc profiles until real samples have pulled it down; the prior
 * counts as one sample among the first differences and is dropped once
 * JITTER_WARMUP (16) of them are in (17 probes, ~1.7 s).
 */
export const INITIAL_JITTER_MS = 10
/** Differences after which the prior is dropped: the estimate is then all measurement. */
export const JITTER_WARMUP = 16

const SORTED_AT = MIN_WINDOW

export class DelayFilter {
  /**
   * The last MIN_WINDOW samples (a ring), then from SORTED_AT the last
   * min(n, MEDIAN_WINDOW) samples kept sorted (one leaves and one enters per
   * add). One buffer, so a sample touches one allocation.
   */
  private readonly ring = new Float64Array(MIN_WINDOW + MEDIAN_WINDOW)
  private n = 0
  private head = 0
  /** Ring slot of the window minimum; -1 when empty. */
  private minSlot = -1
  private lastSample = NaN
  /** Sum of the |D|s seen during warm-up. */
  private warmupSumMs = 0
  minMs = NaN
  smoothedMs = NaN
  jitterMs = INITIAL_JITTER_MS
  samples = 0

  /** True until the prior is dropped (JITTER_WARMUP differences): the jitter is still partly the prior. */
  get warmingUp(): boolean {
    return this.samples <= JITTER_WARMUP
  }

  reset(): void {
    this.n = 0
    this.head = 0
    this.minSlot = -1
    this.lastSample = NaN
    this.warmupSumMs = 0
    this.minMs = NaN
    this.smoothedMs = NaN
    this.jitterMs = INITIAL_JITTER_MS
    this.samples = 0
  }

  add(sampleMs: number): void {
    const slot = this.head
    const k = this.n < MEDIAN_WINDOW ? this.n : MEDIAN_WINDOW
    // The sample leaving the median window (MEDIAN_WINDOW back), read before the ring slot is reused.
    const leaving = this.n >= MEDIAN_WINDOW ? this.ring[(slot - MEDIAN_WINDOW + MIN_WINDOW) % MIN_WINDOW] : NaN
    this.ring[slot] = sampleMs
    this.head = (slot + 1) % MIN_WINDOW
    if (this.n < MIN_WINDOW) this.n++
    this.samples++
    if (!Number.isNaN(this.lastSample)) {
      // Warm-up: until JITTER_WARMUP differences are in, the pessimistic prior
      // counts as one sample among them (gain 1/(j+1)); with the last one the
      // prior is dropped and the estimate is the plain mean of the measured
      // |D|s, then RFC 3550 (gain 1/16) takes over. Decaying the prior's
      // leftover (1/16 of it) at 1/16 per probe instead kept a ~0.6 ms
      // penalty on new edges for seconds and made every flood of a cold
      // start carry every edge again (docs/simulator.md, run time).
      const d = Math.abs(sampleMs - this.lastSample)
      const j = this.samples - 1
      if (j < JITTER_WARMUP) {
        this.warmupSumMs += d
        this.jitterMs += (d - this.jitterMs) / (j + 1)
      } else if (j === JITTER_WARMUP) {
        this.warmupSumMs += d
        this.jitterMs = this.warmupSumMs / JITTER_WARMUP
      } else this.jitterMs += (d - this.jitterMs) * JITTER_GAIN
    }
    this.lastSample = sampleMs
    // Rescan only when the slot just overwritten held the minimum (about once
    // per window); otherwise the new sample either beats it or not.
    if (this.minSlot === slot) this.minSlot = this.scanMin()
    else if (this.minSlot < 0 || sampleMs < this.minMs) this.minSlot = slot
    this.minMs = this.ring[this.minSlot]
    const med = this.slideMedian(leaving, sampleMs, k)
    this.smoothedMs = Number.isNaN(this.smoothedMs) ? med : this.smoothedMs + (med - this.smoothedMs) * SMOOTH_GAIN
  }

  private scanMin(): number {
    let best = 0
    for (let i = 1; i < this.n; i++) if (this.ring[i] < this.ring[best]) best = i
    return best
  }

  /**
   * Median of the last min(n, MEDIAN_WINDOW) samples. The sorted part holds the
   * previous `k` of them in order: drop `leaving` (when the window is full),
   * insert `v`. O(MEDIAN_WINDOW) per sample instead of a sort.
   */
  private slideMedian(leaving: number, v: number, k: number): number {
    const s = this.ring
    const o = SORTED_AT
    let len = k
    if (k === MEDIAN_WINDOW) {
      let i = 0
      while (i < len - 1 && s[o + i] !== leaving) i++
      for (; i < len - 1; i++) s[o + i] = s[o + i + 1]
      len--
    }
    let j = len - 1
    while (j >= 0 && s[o + j] > v) {
      s[o + j + 1] = s[o + j]
      j--
    }
    s[o + j + 1] = v
    len++
    return len % 2 === 1 ? s[o + ((len - 1) >> 1)] : (s[o + len / 2 - 1] + s[o + len / 2]) / 2
  }
}
