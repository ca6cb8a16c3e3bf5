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
 *     Unlike the RFC's estimator, one |D| can move it only so far (JITTER_CLIP_*),
 *     and a storm of them stops counting once it is over (JITTER_MEDIAN_WINDOW).
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
/**
 * A single |D| counts for at most JITTER_CLIP_FACTOR x J + JITTER_CLIP_FLOOR_MS.
 *
 * Why: RFC 3550's estimator is a mean, so one delayed probe moves it by
 * |D|/16, and routing weighs jitter (x3 for rtc, profiles.ts). A relay
 * process that stalls for 400 ms (a loaded host, its own start-up) reads
 * the probes waiting in its socket 100-400 ms late, and every edge into it
 * then showed ~50 ms of jitter that took ~6 s to decay: in the lab a call
 * left its 35 ms detour for a 45 ms one in the first seconds of a run and
 * after such a stall (test/lab/relay-restart.test.ts failed in CI that way),
 * and a cold start picked paths by start-up noise for ~7 s. With the clip a
 * stall's handful of big |D|s raises a clean edge's 0.1 ms to well under a
 * millisecond. Sustained jitter still shows: each sample may raise J by
 * (3J + 1 ms)/16, ~19% a sample, so 10 ms of new jitter on a clean edge
 * reads over 5 ms after 20-32 samples (2-3 s at the normal interval),
 * against ~11 unclipped: slower to see, which routing can afford (jitter
 * is a preference; loss and outages have detectors of their own).
 * For queueing noise (|D| about exponential with mean J) a |D| above 4J + 1
 * ms happens with p < 2%, and clipping it changes the mean by under 2%.
 */
export const JITTER_CLIP_FACTOR = 4
export const JITTER_CLIP_FLOOR_MS = 1
/**
 * J is also held at or below JITTER_MEDIAN_HEADROOM x the median of the last
 * JITTER_MEDIAN_WINDOW |D|s / ln 2 (median / ln 2 is their mean when |D| is
 * exponential, as for queueing noise). The clip bounds what a spike adds;
 * this bounds how long a storm of them lasts: when all relays start at once
 * on a loaded host, most of an edge's first |D|s are tens of ms (every
 * process stalls in turn), the warm-up's J was ~70 ms and the EWMA took ~6 s
 * to decay from it, during which calls rode paths chosen by start-up noise.
 * With the bound, J is within twice the real jitter once half the window is
 * calm (8 samples), and the EWMA does the rest in ~1 s. It never raises J,
 * and the headroom keeps it off a steady estimate: the window's median of
 * 16 swings by ~25%, and for uniform noise median / ln 2 is ~1.27 x the
 * mean. (The warm-up's end takes the median without headroom: there it
 * replaces the prior's mean, not a measured EWMA.)
 */
export const JITTER_MEDIAN_WINDOW = JITTER_WARMUP
export const JITTER_MEDIAN_HEADROOM = 2
/**
 * The bound is only looked at while J is above this: under it a storm's
 * leftover costs at most 3 ms even in the rtc profile, and the median's sort
 * (~100 ns) would double the cost of a sample on every clean edge.
 */
export const JITTER_MEDIAN_FROM_MS = 1
/** Samples between two computations of the bound while it applies: the sort would triple a jittery edge's cost per sample. */
export const JITTER_BOUND_EVERY = 4
const MEAN_PER_MEDIAN = 1 / Math.LN2
/** Scratch for medianD (single-threaded, never re-entered). */
const dScratch = new Float64Array(JITTER_MEDIAN_WINDOW)

// State offsets (in doubles from the filter's base in its store). The
// scalars and the sorted median window come first, so the part every sample
// reads and writes is a few adjacent cache lines; then the level-shift
// scratch and the MIN_WINDOW ring, of which a sample touches one slot.
const N = 0
const HEAD = 1
/** Ring slot of the window minimum; -1 when empty. */
const MIN_SLOT = 2
const LAST_SAMPLE = 3
/** Sum of the |D|s seen during warm-up. */
const WARMUP_SUM = 4
/** Consecutive samples beyond the shift margin: > 0 above the smoothed value, < 0 below. */
const SHIFT_COUNT = 5
/** The smoothed value and the margin when the current run began (the EWMA moves during it). */
const SHIFT_BASE = 6
const SHIFT_MARGIN = 7
const MIN = 8
const SMOOTHED = 9
const JITTER = 10
const SAMPLES = 11
/** The last min(n, MEDIAN_WINDOW) samples, kept sorted (one leaves and one enters per add). */
const SORTED_AT = 12
/** SHIFT_RUN slots of scratch for a level shift. */
const SHIFT_AT = SORTED_AT + MEDIAN_WINDOW
/** The last MIN_WINDOW samples (a ring). */
const RING_AT = SHIFT_AT + SHIFT_RUN
/** The last JITTER_MEDIAN_WINDOW raw |D|s (a ring), the ring's head, and the bound as last computed (NaN: stale). */
const D_RING_AT = RING_AT + MIN_WINDOW
const D_HEAD = D_RING_AT + JITTER_MEDIAN_WINDOW
const D_BOUND = D_HEAD + 1
/** Doubles one DelayFilter takes in a shared store. */
export const DELAY_FILTER_DOUBLES = D_BOUND + 1

/**
 * All state lives in `store` at [base, base + DELAY_FILTER_DOUBLES): by
 * default its own array; a caller keeping many filters (the prober, one per
 * peer) passes one block per edge, so a sample touches that block's few
 * cache lines instead of an object, its boxed number fields and a separate
 * ring allocation (docs/simulator.md, Run time). The fields below are views
 * of the store.
 */
export class DelayFilter {
  private readonly s: Float64Array
  private readonly b: number

  constructor(store?: Float64Array, base = 0) {
    this.s = store ?? new Float64Array(DELAY_FILTER_DOUBLES)
    this.b = base
    this.reset()
  }

  get minMs(): number {
    return this.s[this.b + MIN]
  }

  get smoothedMs(): number {
    return this.s[this.b + SMOOTHED]
  }

  get jitterMs(): number {
    return this.s[this.b + JITTER]
  }

  get samples(): number {
    return this.s[this.b + SAMPLES]
  }

  /** True until the prior is dropped (JITTER_WARMUP differences): the jitter is still partly the prior. */
  get warmingUp(): boolean {
    return this.s[this.b + SAMPLES] <= JITTER_WARMUP
  }

  reset(): void {
    const s = this.s
    const b = this.b
    s[b + N] = 0
    s[b + HEAD] = 0
    s[b + MIN_SLOT] = -1
    s[b + LAST_SAMPLE] = NaN
    s[b + WARMUP_SUM] = 0
    s[b + SHIFT_COUNT] = 0
    s[b + SHIFT_BASE] = NaN
    s[b + SHIFT_MARGIN] = NaN
    s[b + MIN] = NaN
    s[b + SMOOTHED] = NaN
    s[b + JITTER] = INITIAL_JITTER_MS
    s[b + SAMPLES] = 0
    s[b + D_HEAD] = 0
    s[b + D_BOUND] = NaN
  }

  add(sampleMs: number): void {
    const s = this.s
    const b = this.b
    const ring = b + RING_AT
    // The shift margin uses the jitter before this sample: the first sample of a step is one big |D|.
    const jitterBeforeMs = s[b + JITTER]
    const slot = s[b + HEAD]
    let n = s[b + N]
    const k = n < MEDIAN_WINDOW ? n : MEDIAN_WINDOW
    // The sample leaving the median window (MEDIAN_WINDOW back), read before the ring slot is reused.
    const leaving = n >= MEDIAN_WINDOW ? s[ring + ((slot - MEDIAN_WINDOW + MIN_WINDOW) % MIN_WINDOW)] : NaN
    s[ring + slot] = sampleMs
    s[b + HEAD] = (slot + 1) % MIN_WINDOW
    if (n < MIN_WINDOW) s[b + N] = ++n
    const samples = s[b + SAMPLES] + 1
    s[b + SAMPLES] = samples
    const last = s[b + LAST_SAMPLE]
    if (last === last) {
      // Warm-up: until JITTER_WARMUP differences are in, the pessimistic prior
      // counts as one sample among them (gain 1/(j+1)); with the last one the
      // prior is dropped and the estimate is the plain mean of the measured
      // |D|s, then RFC 3550 (gain 1/16) takes over. Decaying the prior's
      // leftover (1/16 of it) at 1/16 per probe instead kept a ~0.6 ms
      // penalty on new edges for seconds and made every flood of a cold
      // start carry every edge again (docs/simulator.md, run time).
      const j = samples - 1
      const jit = s[b + JITTER]
      const raw = Math.abs(sampleMs - last)
      const head = s[b + D_HEAD]
      s[b + D_RING_AT + head] = raw
      s[b + D_HEAD] = (head + 1) % JITTER_MEDIAN_WINDOW
      const d = Math.min(raw, JITTER_CLIP_FACTOR * jit + JITTER_CLIP_FLOOR_MS)
      if (j < JITTER_WARMUP) {
        s[b + WARMUP_SUM] += d
        s[b + JITTER] = jit + (d - jit) / (j + 1)
      } else if (j === JITTER_WARMUP) {
        s[b + WARMUP_SUM] += d
        s[b + JITTER] = Math.min(s[b + WARMUP_SUM] / JITTER_WARMUP, this.medianD() * MEAN_PER_MEDIAN)
      } else {
        const next = jit + (d - jit) * JITTER_GAIN
        if (next > JITTER_MEDIAN_FROM_MS) {
          // The bound is recomputed every JITTER_BOUND_EVERY samples (a storm's end shows a few samples later).
          let bound = s[b + D_BOUND]
          if (bound !== bound || j % JITTER_BOUND_EVERY === 0) s[b + D_BOUND] = bound = JITTER_MEDIAN_HEADROOM * MEAN_PER_MEDIAN * this.medianD()
          s[b + JITTER] = Math.min(next, bound)
        } else {
          s[b + JITTER] = next
          s[b + D_BOUND] = NaN
        }
      }
    }
    s[b + LAST_SAMPLE] = sampleMs
    // Rescan only when the slot just overwritten held the minimum (about once
    // per window); otherwise the new sample either beats it or not.
    let minSlot = s[b + MIN_SLOT]
    if (minSlot === slot) minSlot = this.scanMin(n)
    else if (minSlot < 0 || sampleMs < s[b + MIN]) minSlot = slot
    s[b + MIN_SLOT] = minSlot
    s[b + MIN] = s[ring + minSlot]
    const med = this.slideMedian(leaving, sampleMs, k)
    const sm = s[b + SMOOTHED]
    if (sm !== sm) s[b + SMOOTHED] = med
    else if (this.levelShifted(sampleMs, jitterBeforeMs)) s[b + SMOOTHED] = this.recentMedian(slot)
    else s[b + SMOOTHED] = sm + (med - sm) * SMOOTH_GAIN
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
    const s = this.s
    const b = this.b
    const r = s[b + SHIFT_COUNT]
    let run: number
    if (r > 0 && sampleMs > s[b + SHIFT_BASE] + s[b + SHIFT_MARGIN]) run = r + 1
    else if (r < 0 && sampleMs < s[b + SHIFT_BASE] - s[b + SHIFT_MARGIN]) run = r - 1
    else {
      // No run, or it broke: this sample may start one against the current estimate.
      const margin = Math.max(SHIFT_MIN_MS, SHIFT_JITTER_FACTOR * jitterMs)
      const sm = s[b + SMOOTHED]
      run = sampleMs > sm + margin ? 1 : sampleMs < sm - margin ? -1 : 0
      s[b + SHIFT_BASE] = sm
      s[b + SHIFT_MARGIN] = margin
    }
    if (run < SHIFT_RUN && run > -SHIFT_RUN) {
      s[b + SHIFT_COUNT] = run
      return false
    }
    s[b + SHIFT_COUNT] = 0
    return true
  }

  /** Median of the |D| ring (full: called from the warm-up's end on). Sorts a copy: O(window²) worst case, rare (JITTER_MEDIAN_FROM_MS). */
  private medianD(): number {
    const s = this.s
    const ring = this.b + D_RING_AT
    for (let i = 0; i < JITTER_MEDIAN_WINDOW; i++) slideSorted(dScratch, 0, i, NaN, s[ring + i])
    return sortedMedian(dScratch, 0, JITTER_MEDIAN_WINDOW)
  }

  /** Median of the last SHIFT_RUN samples, the newest in ring slot `slot` (after a level shift: n >= SHIFT_RUN). */
  private recentMedian(slot: number): number {
    const s = this.s
    const ring = this.b + RING_AT
    const o = this.b + SHIFT_AT
    for (let i = 0; i < SHIFT_RUN; i++) slideSorted(s, o, i, NaN, s[ring + ((slot - i + MIN_WINDOW) % MIN_WINDOW)])
    return sortedMedian(s, o, SHIFT_RUN)
  }

  private scanMin(n: number): number {
    const s = this.s
    const ring = this.b + RING_AT
    let best = 0
    for (let i = 1; i < n; i++) if (s[ring + i] < s[ring + best]) best = i
    return best
  }

  /**
   * Median of the last min(n, MEDIAN_WINDOW) samples. The sorted part holds the
   * previous `k` of them in order: drop `leaving` (when the window is full),
   * insert `v`. O(MEDIAN_WINDOW) per sample instead of a sort.
   */
  private slideMedian(leaving: number, v: number, k: number): number {
    const o = this.b + SORTED_AT
    return sortedMedian(this.s, o, slideSorted(this.s, o, k, k === MEDIAN_WINDOW ? leaving : NaN, v))
  }
}

/**
 * s[o, o + len) is sorted: drops `leaving` (NaN: nothing leaves), inserts `v`
 * in order; returns the new length. O(len): the windows here are small.
 */
function slideSorted(s: Float64Array, o: number, len: number, leaving: number, v: number): number {
  if (leaving === leaving) {
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
  return len + 1
}

function sortedMedian(s: Float64Array, o: number, len: number): number {
  return len % 2 === 1 ? s[o + ((len - 1) >> 1)] : (s[o + len / 2 - 1] + s[o + len / 2]) / 2
}
