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
 * counts as one sample, so after 16 probes it weighs 1/16.
 */
export const INITIAL_JITTER_MS = 10

export class DelayFilter {
  private readonly ring = new Float64Array(MIN_WINDOW)
  private readonly scratch = new Float64Array(MEDIAN_WINDOW)
  private n = 0
  private head = 0
  private lastSample = NaN
  minMs = NaN
  smoothedMs = NaN
  jitterMs = INITIAL_JITTER_MS
  samples = 0

  reset(): void {
    this.n = 0
    this.head = 0
    this.lastSample = NaN
    this.minMs = NaN
    this.smoothedMs = NaN
    this.jitterMs = INITIAL_JITTER_MS
    this.samples = 0
  }

  add(sampleMs: number): void {
    this.ring[this.head] = sampleMs
    this.head = (this.head + 1) % MIN_WINDOW
    if (this.n < MIN_WINDOW) this.n++
    this.samples++
    if (!Number.isNaN(this.lastSample)) {
      // Warm-up: until 16 differences are in, weigh the pessimistic prior as
      // one sample among them (gain 1/(k+1)) instead of decaying it at 1/16
      // per probe, which kept new edges penalised for ~5 s and made routes
      // with more hops converge late. Afterwards plain RFC 3550.
      const d = sampleMs - this.lastSample
      const k = this.samples - 1
      this.jitterMs += (Math.abs(d) - this.jitterMs) * Math.max(JITTER_GAIN, 1 / (k + 1))
    }
    this.lastSample = sampleMs
    this.minMs = this.windowMin()
    const med = this.recentMedian()
    this.smoothedMs = Number.isNaN(this.smoothedMs) ? med : this.smoothedMs + (med - this.smoothedMs) * SMOOTH_GAIN
  }

  private windowMin(): number {
    let m = Infinity
    for (let i = 0; i < this.n; i++) if (this.ring[i] < m) m = this.ring[i]
    return m
  }

  /** Median of the last min(n, MEDIAN_WINDOW) samples, by insertion sort into a preallocated scratch. */
  private recentMedian(): number {
    const k = Math.min(this.n, MEDIAN_WINDOW)
    const s = this.scratch
    for (let i = 0; i < k; i++) {
      const v = this.ring[(this.head - 1 - i + MIN_WINDOW) % MIN_WINDOW]
      let j = i - 1
      while (j >= 0 && s[j] > v) {
        s[j + 1] = s[j]
        j--
      }
      s[j + 1] = v
    }
    return k % 2 === 1 ? s[(k - 1) >> 1] : (s[k / 2 - 1] + s[k / 2]) / 2
  }
}
