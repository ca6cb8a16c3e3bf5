/**
 * Robust delay estimate over a stream of (pseudo) one-way delay samples:
 *   - `minMs`: minimum of the last MIN_WINDOW samples (the propagation floor),
 *   - `smoothedMs`: an exponentially smoothed running median of the last
 *     MEDIAN_WINDOW samples. The median ignores isolated spikes (a single
 *     delayed probe), the smoothing (gain 1/8, like TCP's SRTT) damps noise.
 *     A level shift (SHIFT_RUN samples in a row beyond the noise, all on one
 *     side of the estimate) sets it to the median at once, see `add`.
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
/**
 * Level shift: this many consecutive samples all above (or all below) the
 * smoothed value by more than the shift margin. It is the number of new
 * samples at which the median of MEDIAN_WINDOW has moved onto the new level,
 * so waiting longer would not give a better value to jump to.
 */
export const SHIFT_RUN = (MEDIAN_WINDOW + 1) / 2
/** Shift margin: max(SHIFT_MIN_MS, SHIFT_JITTER_FACTOR x jitter). */
export const SHIFT_MIN_MS = 0.25
export const SHIFT_JITTER_FACTOR = 2
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
const SHIFT_AT = MIN_WINDOW + MEDIAN_WINDOW

export class DelayFilter {
  /**
   * The last MIN_WINDOW samples (a ring), then from SORTED_AT the last
   * min(n, MEDIAN_WINDOW) samples kept sorted (one leaves and one enters per
   * add), then SHIFT_RUN slots of scratch for a level shift. One buffer, so
   * a sample touches one allocation.
   */
  private readonly ring = new Float64Array(MIN_WINDOW + MEDIAN_WINDOW + SHIFT_RUN)
  private n = 0
  private head = 0
  /** Ring slot of the window minimum; -1 when empty. */
  private minSlot = -1
  private lastSample = NaN
  /** Sum of the |D|s seen during warm-up. */
  private warmupSumMs = 0
  /** Consecutive samples beyond the shift margin: > 0 above the smoothed value, < 0 below. */
  private shiftRun = 0
  /** The smoothed value and the margin when the current run began (the EWMA moves during it). */
  private shiftBaseMs = NaN
  private shiftMarginMs = NaN
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
    this.shiftRun = 0
    this.shiftBaseMs = NaN
    this.shiftMarginMs = NaN
    this.minMs = NaN
    this.smoothedMs = NaN
    this.jitterMs = INITIAL_JITTER_MS
    this.samples = 0
  }

  add(sampleMs: number): void {
    // The shift margin uses the jitter before this sample: the first sample of a step is one big |D|.
    const jitterBeforeMs = this.jitterMs
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
    if (Number.isNaN(this.smoothedMs)) this.smoothedMs = med
    else if (this.levelShifted(sampleMs, jitterBeforeMs)) this.smoothedMs = this.recentMedian(slot)
    else this.smoothedMs += (med - this.smoothedMs) * SMOOTH_GAIN
  }

  /**
   * Whether `sampleMs` completes a level shift. The EWMA alone follows a
   * step with a long tail: a 30% degradation took ~2 s to show 3/4 of
   * itself and ~3 s for 95%, so a path whose alternative is just over the
   * switching margin moved only after 4 s (docs/simulator.md, Failover).
   * When SHIFT_RUN samples in a row lie beyond the noise on the same side
   * of the estimate held before the first of them (the EWMA and the jitter
   * estimate both move during the run; comparing against the moving values
   * broke runs on real steps), the delay has moved, not jittered: the
   * estimate takes the median of those samples at once (not of the whole
   * window, whose median is then the nearest of the new samples, biased
   * towards the old level by the noise).
   * The margin is twice the measured jitter (at least SHIFT_MIN_MS), so
   * noise alone practically never makes such a run: with exponential
   * queueing delay of mean J, RFC 3550 jitter is about J and a sample lies
   * 2J above the median with p = 0.07, five in a row ~1e-6 (at one jitter it
   * was ~2e-4, and the median of such a run is ~1.7 J off). A step smaller
   * than about two jitters is left to the EWMA, as before. Bursts shorter
   * than the run are still left to the median.
   */
  private levelShifted(sampleMs: number, jitterMs: number): boolean {
    const r = this.shiftRun
    if (r > 0 && sampleMs > this.shiftBaseMs + this.shiftMarginMs) this.shiftRun = r + 1
    else if (r < 0 && sampleMs < this.shiftBaseMs - this.shiftMarginMs) this.shiftRun = r - 1
    else {
      // No run, or it broke: this sample may start one against the current estimate.
      const margin = Math.max(SHIFT_MIN_MS, SHIFT_JITTER_FACTOR * jitterMs)
      this.shiftRun = sampleMs > this.smoothedMs + margin ? 1 : sampleMs < this.smoothedMs - margin ? -1 : 0
      this.shiftBaseMs = this.smoothedMs
      this.shiftMarginMs = margin
    }
    if (this.shiftRun < SHIFT_RUN && this.shiftRun > -SHIFT_RUN) return false
    this.shiftRun = 0
    return true
  }

  /** Median of the last SHIFT_RUN samples, the newest in ring slot `slot` (after a level shift: n >= SHIFT_RUN). */
  private recentMedian(slot: number): number {
    const s = this.ring
    for (let i = 0; i < SHIFT_RUN; i++) {
      const v = s[(slot - i + MIN_WINDOW) % MIN_WINDOW]
      let j = i - 1
      while (j >= 0 && s[SHIFT_AT + j] > v) {
        s[SHIFT_AT + j + 1] = s[SHIFT_AT + j]
        j--
      }
      s[SHIFT_AT + j + 1] = v
    }
    return SHIFT_RUN % 2 === 1 ? s[SHIFT_AT + (SHIFT_RUN - 1) / 2] : (s[SHIFT_AT + SHIFT_RUN / 2 - 1] + s[SHIFT_AT + SHIFT_RUN / 2]) / 2
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
