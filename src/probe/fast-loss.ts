/**
 * The fast loss detector, next to the LossWindow's 100-probe (10 s) mean.
 *
 * The mean is the right number to show and to weigh in a profile, but it is
 * too slow to act on: 5% loss moves it by 0.5 points a second, so a link
 * that starts losing 5% crosses the 5% limit after ~10 s, or never when the
 * draw stays at or under it. The detector trips on a *run*: a second lost
 * probe within FAST_LOSS_WINDOW sequence numbers of the previous one (two
 * lost in a row trip at once), and clears once FAST_LOSS_CLEAR_PROBES
 * numbers in a row arrived. A tripped edge is flooded as down at once
 * (route/own-column.ts), and each trip counts as a flap for flap damping.
 *
 * Why these numbers (probes every 100 ms): a single lost probe is what a
 * healthy Internet link does now and then (0.1-1% background loss), so one
 * loss never trips. Two within 30 (3 s) is ~7% over that span: random
 * background loss does that rarely (per probe p x P(another loss among the
 * previous 29): one trip per ~40 s at 1% loss, per ~150 s at 0.5%; flap
 * damping keeps a repeating one out), while sustained loss trips at about
 * the second loss: ~2.6 s on average at 5%, ~1.3 s at 10%, ~11 s at 2%.
 * Nothing sampling 10 probes a second can tell 2% from 0% in 2 s (that is
 * 0.4 lost probes): the mean's limit and the profiles' loss penalty cover
 * low sustained loss. Clearing needs 3 s clean: 5% loss rarely gives that
 * (P(30 clean) = 21%), and a one-off burst costs the edge 3 s, close to a
 * one-off outage.
 *
 * Losses are seen when a newer number arrives past missing ones (a late,
 * reordered probe does not un-trip it: pessimistic by one probe).
 */
export const FAST_LOSS_WINDOW = 30
export const FAST_LOSS_CLEAR_PROBES = 30

// State offsets in doubles from the detector's base (see DelayFilter).
const TRIPPED = 0
/** Sequence number of the newest number seen lost; -Infinity when none. */
const LAST_LOST = 1
/** Doubles one FastLoss takes in a shared store. */
export const FAST_LOSS_DOUBLES = 2

export class FastLoss {
  private readonly s: Float64Array
  private readonly b: number

  constructor(store?: Float64Array, base = 0) {
    this.s = store ?? new Float64Array(FAST_LOSS_DOUBLES)
    this.b = base
    this.reset()
  }

  reset(): void {
    this.s[this.b + TRIPPED] = 0
    this.s[this.b + LAST_LOST] = -Infinity
  }

  get tripped(): boolean {
    return this.s[this.b + TRIPPED] === 1
  }

  /**
   * The highest sequence number moved from `prevHi` to `seq` (> prevHi):
   * the numbers in between were lost. Returns true when `tripped` changed.
   */
  advance(prevHi: number, seq: number): boolean {
    const s = this.s
    const b = this.b
    const was = s[b + TRIPPED]
    if (seq > prevHi + 1) {
      const firstLost = prevHi + 1
      if (seq - firstLost >= 2 || firstLost - s[b + LAST_LOST] < FAST_LOSS_WINDOW) s[b + TRIPPED] = 1
      s[b + LAST_LOST] = seq - 1
    } else if (was === 1 && seq - s[b + LAST_LOST] > FAST_LOSS_CLEAR_PROBES) {
      s[b + TRIPPED] = 0
    }
    return s[b + TRIPPED] !== was
  }
}
