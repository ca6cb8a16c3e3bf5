/**
 * The fast loss detector, next to the LossWindow's 100-probe (10 s) mean.
 *
 * The mean is the right number to show and to weigh in a profile, but it is
 * too slow to act on: 5% loss moves it by 0.5 points a second, so a link
 * that starts losing 5% crosses the 5% limit after ~10 s, or never when the
 * draw stays at or under it. The detector trips on a *run* of losses well
 * above the edge's own background loss, and clears once
 * FAST_LOSS_CLEAR_PROBES numbers in a row arrived. A tripped edge is flooded
 * as down at once (route/own-column.ts), and each trip counts as a failure
 * for flap damping.
 *
 * The run: `needed` lost probes within FAST_LOSS_WINDOW (30, 3 s) sequence
 * numbers, or two lost in a row. `needed` is 2 on an edge whose background
 * loss (an EWMA over ~FAST_LOSS_BACKGROUND_PROBES numbers, 100 s, of the
 * losses before the run) is under 0.5%, 3 under 2%, else 4 (two in a row
 * then no longer trip).
 *
 * Why: a single lost probe is what healthy links do now and then, so one
 * loss never trips. At 10 probes a second nothing can tell 5% from 1% loss
 * in 3 s (the likelihood ratio needs ~70 probes), so the detector uses what
 * the edge did before: on a clean edge two losses within 3 s are ~7% and
 * trip (sustained 5% loss: ~2.6 s after its onset on average, ~1.3 s at
 * 10%, ~11 s at 2%); on an edge that has been losing ~1% all along, two
 * within 3 s happen every ~40 s by chance, so it takes three (every ~250 s
 * at 1%; flap damping keeps a repeating one out). Nothing sampling 10
 * probes a second can tell 2% from 0% in 2 s (0.4 lost probes): low
 * sustained loss is left to the mean's limit and the profiles' penalty.
 * Clearing needs 3 s clean: sustained 5% loss rarely gives that
 * (P(30 clean) = 21%), and a one-off burst costs the edge 3 s, close to a
 * one-off outage.
 *
 * Losses are seen when a newer number arrives past missing ones (a late,
 * reordered probe does not un-trip it: pessimistic by one probe).
 */
export const FAST_LOSS_WINDOW = 30
export const FAST_LOSS_CLEAR_PROBES = 30
/**
 * Time constant, in sequence numbers, of the background loss estimate
 * (1000: 100 s). Long, so that the first losses of a new sustained loss do
 * not count as background: at 300 (30 s) two losses more than a window
 * apart lifted it over 0.5% and the edge then needed three losses within a
 * window, which 5% loss gives only one window in five (reply paths stayed
 * on a 5%-lossy link for 10 s and more).
 */
export const FAST_LOSS_BACKGROUND_PROBES = 1000
/**
 * A new edge's background starts as this many clean numbers: its estimate
 * is (losses) / (numbers seen + prior) until the EWMA takes over, so an edge
 * that has lost ~1% from the start needs three losses after ~30 s (as with
 * a 30 s EWMA), while one early loss reads as 0.3%, not as a high background.
 */
export const FAST_LOSS_BACKGROUND_PRIOR = 300

// State offsets in doubles from the detector's base (see DelayFilter).
const TRIPPED = 0
/** Sequence numbers of the newest three numbers seen lost, newest first; -Infinity when none. */
const LOST1 = 1
const LOST2 = 2
const LOST3 = 3
/** Background loss: EWMA of the lost fraction per sequence number. */
const BACKGROUND = 4
/** Sequence numbers the background has seen, up to FAST_LOSS_BACKGROUND_PROBES. */
const SEEN = 5
/** Doubles one FastLoss takes in a shared store. */
export const FAST_LOSS_DOUBLES = 6

/** Losses within FAST_LOSS_WINDOW that trip an edge with background loss `bg` (a fraction). */
export function lossesToTrip(bg: number): number {
  return bg < 0.005 ? 2 : bg < 0.02 ? 3 : 4
}

export class FastLoss {
  private readonly s: Float64Array
  private readonly b: number

  constructor(store?: Float64Array, base = 0) {
    this.s = store ?? new Float64Array(FAST_LOSS_DOUBLES)
    this.b = base
    this.reset()
  }

  /** Forgets runs and state; keeps the background estimate unless `all`. */
  reset(all = true): void {
    const s = this.s
    const b = this.b
    s[b + TRIPPED] = 0
    s[b + LOST1] = -Infinity
    s[b + LOST2] = -Infinity
    s[b + LOST3] = -Infinity
    if (all) {
      s[b + BACKGROUND] = 0
      s[b + SEEN] = 0
    }
  }

  get tripped(): boolean {
    return this.s[this.b + TRIPPED] === 1
  }

  /** Background loss estimate, a fraction. */
  get background(): number {
    return this.s[this.b + BACKGROUND]
  }

  /**
   * The highest sequence number moved from `prevHi` to `seq` (> prevHi):
   * the numbers in between were lost. Returns true when `tripped` changed.
   */
  advance(prevHi: number, seq: number): boolean {
    const s = this.s
    const b = this.b
    const was = s[b + TRIPPED]
    const lost = seq - prevHi - 1
    const bg = s[b + BACKGROUND]
    // EWMA per sequence number over the lost + 1 numbers this step covers,
    // gain 1 / (numbers seen + prior) until that reaches the time constant
    // (see FAST_LOSS_BACKGROUND_PRIOR). A new edge on a lossy link still
    // trips more often in its first ~30 s (and flap damping then keeps it
    // out for a while).
    const seen = s[b + SEEN]
    const gain = 1 / Math.min(FAST_LOSS_BACKGROUND_PROBES, seen + FAST_LOSS_BACKGROUND_PRIOR)
    const keep = (1 - gain) ** (lost + 1)
    s[b + BACKGROUND] = bg * keep + (lost / (lost + 1)) * (1 - keep)
    s[b + SEEN] = Math.min(FAST_LOSS_BACKGROUND_PROBES, seen + lost + 1)
    if (lost > 0) {
      // Record up to the newest three lost numbers (prevHi+1 .. seq-1).
      for (let q = Math.max(prevHi + 1, seq - 3); q < seq; q++) {
        s[b + LOST3] = s[b + LOST2]
        s[b + LOST2] = s[b + LOST1]
        s[b + LOST1] = q
      }
      const from = seq - FAST_LOSS_WINDOW
      const recent = (s[b + LOST1] >= from ? 1 : 0) + (s[b + LOST2] >= from ? 1 : 0) + (s[b + LOST3] >= from ? 1 : 0)
      // The background is what the edge did before this run: the run's
      // earlier losses (each added about `gain`) must not raise the bar
      // they are measured against.
      const needed = lossesToTrip(Math.max(0, bg - (recent - Math.min(recent, lost)) * gain))
      if (recent >= needed || (lost >= 2 && needed <= 3)) s[b + TRIPPED] = 1
    } else if (was === 1 && seq - s[b + LOST1] > FAST_LOSS_CLEAR_PROBES) {
      s[b + TRIPPED] = 0
    }
    return s[b + TRIPPED] !== was
  }
}
