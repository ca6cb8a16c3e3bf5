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
 * The run: `needed` lost probes within FAST_LOSS_WINDOW (30) sequence
 * numbers, or, on a clean edge, two lost in a row. `needed` is 2 on a clean
 * edge (background loss under FAST_LOSS_CLEAN_BACKGROUND, 0.1%) and 5 on
 * any other. The background is what the edge lost before the current
 * episode: losses are counted in blocks of FAST_LOSS_BLOCK (200) numbers,
 * and a block is folded into the background (exponentially, a time
 * constant of FAST_LOSS_BACKGROUND_BLOCKS blocks, ~1000 numbers) only once
 * the block after it is complete too. So losses of the last 200-400
 * numbers are never background: the first losses of a new sustained loss
 * do not raise the bar for the next ones (with a plain EWMA they did, and
 * 5% loss then needed more losses than it gives within 3 s).
 *
 * Why: a single lost probe is what healthy links do now and then, so one
 * loss never trips. At 10 probes a second nothing can tell 5% from 1% loss
 * in 3 s (the likelihood ratio needs ~70 probes), which is why edges that
 * carry data are probed 10 times as often (probe-rate.ts), and why the
 * detector uses what the edge did before: on a clean edge two losses
 * within 30 numbers are ~7% and trip (sustained 5% loss: ~0.4 s after its
 * onset at the fast rate, median; ~1.3 s p95, ~1.9 s p99); an edge that has been
 * losing 0.5% all along needs five within 30 numbers, which chance gives
 * about once in 3 days at 50 probes a second, 1.5 days at the fast rate's
 * 100 (two would trip it every minute, four every hour or two). Low sustained loss (< 2%) on a lossy edge is left to the mean's
 * limit and the profiles' penalty. Clearing needs 3 s clean (the caller
 * passes the clearing run in numbers: FAST_LOSS_CLEAR_PROBES at the normal
 * interval): sustained 5% loss rarely gives that, and a one-off burst
 * costs the edge 3 s, close to a one-off outage.
 *
 * Losses are seen when a newer number arrives past missing ones; the edge
 * (inbound-edge.ts) feeds a number only once FAST_LOSS_REORDER newer ones
 * arrived, so a probe overtaken by the next one (a fast round's two probes
 * leave back to back, and back-to-back packets are the ones a network
 * reorders) is no loss. A probe later than that counts as lost.
 */
export const FAST_LOSS_WINDOW = 30
/** Newer numbers that must arrive before a missing one counts as lost (see above): one round of a fast pair later. */
export const FAST_LOSS_REORDER = 2
export const FAST_LOSS_CLEAR_PROBES = 30
/** Background loss under which an edge is clean: fewer than two losses in the ~2000 numbers before the episode (a stray loss leaves it clean). */
export const FAST_LOSS_CLEAN_BACKGROUND = 0.001
/** Losses within the window that trip a clean edge, and any other. */
export const FAST_LOSS_NEEDED_CLEAN = 2
export const FAST_LOSS_NEEDED_LOSSY = 5
/** Sequence numbers per background block. */
export const FAST_LOSS_BLOCK = 200
/** Time constant of the background, in blocks (5: ~1000 numbers, 100 s at the normal interval, 25 s at the fast one). */
export const FAST_LOSS_BACKGROUND_BLOCKS = 10
/**
 * A new edge's background counts this many clean numbers more until it has
 * seen as many: one early loss then reads as 0.3%, not as a high background
 * (and an edge losing ~1% from the start needs four losses after ~30 s).
 */
export const FAST_LOSS_BACKGROUND_PRIOR = 300

// State offsets in doubles from the detector's base (see DelayFilter).
const TRIPPED = 0
/** Sequence numbers of the newest FAST_LOSS_NEEDED_LOSSY numbers seen lost, newest first; -Infinity when none. */
const LOST1 = 1
const LOST_SLOTS = FAST_LOSS_NEEDED_LOSSY
/** Background: decayed losses and numbers of the folded blocks. */
const BG_LOSSES = LOST1 + LOST_SLOTS
const BG_NUMBERS = BG_LOSSES + 1
/** The open block: its first number and losses; the complete block waiting to be folded. */
const BLOCK_START = BG_LOSSES + 2
const BLOCK_LOSSES = BG_LOSSES + 3
const PENDING_LOSSES = BG_LOSSES + 4
const PENDING_NUMBERS = BG_LOSSES + 5
/** Doubles one FastLoss takes in a shared store. */
export const FAST_LOSS_DOUBLES = BG_LOSSES + 6

/** Losses within FAST_LOSS_WINDOW that trip an edge with background loss `bg` (a fraction). */
export function lossesToTrip(bg: number): number {
  return bg < FAST_LOSS_CLEAN_BACKGROUND ? FAST_LOSS_NEEDED_CLEAN : FAST_LOSS_NEEDED_LOSSY
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
    for (let k = 0; k < LOST_SLOTS; k++) s[b + LOST1 + k] = -Infinity
    if (all) {
      s[b + BG_LOSSES] = 0
      s[b + BG_NUMBERS] = 0
      s[b + BLOCK_START] = NaN
      s[b + BLOCK_LOSSES] = 0
      s[b + PENDING_LOSSES] = 0
      s[b + PENDING_NUMBERS] = 0
    }
  }

  get tripped(): boolean {
    return this.s[this.b + TRIPPED] === 1
  }

  /** Background loss estimate (a fraction): the folded blocks, before the last 200-400 numbers. */
  get background(): number {
    const s = this.s
    const b = this.b
    const n = s[b + BG_NUMBERS]
    return s[b + BG_LOSSES] / Math.max(n, FAST_LOSS_BACKGROUND_PRIOR)
  }

  /**
   * The highest sequence number moved from `prevHi` to `seq` (> prevHi):
   * the numbers in between were lost. A tripped detector clears after
   * `clearProbes` clean numbers (more on an edge probed at the fast interval,
   * so that clearing still takes ~3 s). Returns true when `tripped` changed.
   */
  advance(prevHi: number, seq: number, clearProbes = FAST_LOSS_CLEAR_PROBES): boolean {
    const s = this.s
    const b = this.b
    const was = s[b + TRIPPED]
    const lost = seq - prevHi - 1
    this.count(seq, lost)
    if (lost > 0) {
      // Record up to the newest LOST_SLOTS lost numbers (prevHi+1 .. seq-1).
      for (let q = Math.max(prevHi + 1, seq - LOST_SLOTS); q < seq; q++) {
        for (let k = LOST_SLOTS - 1; k > 0; k--) s[b + LOST1 + k] = s[b + LOST1 + k - 1]
        s[b + LOST1] = q
      }
      const needed = lossesToTrip(this.background)
      const from = seq - FAST_LOSS_WINDOW
      let recent = 0
      for (let k = 0; k < LOST_SLOTS; k++) if (s[b + LOST1 + k] >= from) recent++
      if (recent >= needed || (lost >= 2 && needed === FAST_LOSS_NEEDED_CLEAN)) s[b + TRIPPED] = 1
    } else if (was === 1 && seq - s[b + LOST1] > clearProbes) {
      s[b + TRIPPED] = 0
    }
    return s[b + TRIPPED] !== was
  }

  /** Counts `lost` losses up to `seq` into the open block; folds the pending block once the open one is complete. */
  private count(seq: number, lost: number): void {
    const s = this.s
    const b = this.b
    if (s[b + BLOCK_START] !== s[b + BLOCK_START]) s[b + BLOCK_START] = seq - lost - 1
    s[b + BLOCK_LOSSES] += lost
    const numbers = seq - s[b + BLOCK_START]
    if (numbers < FAST_LOSS_BLOCK) return
    const keep = 1 - 1 / FAST_LOSS_BACKGROUND_BLOCKS
    s[b + BG_LOSSES] = s[b + BG_LOSSES] * keep + s[b + PENDING_LOSSES]
    s[b + BG_NUMBERS] = s[b + BG_NUMBERS] * keep + s[b + PENDING_NUMBERS]
    s[b + PENDING_LOSSES] = s[b + BLOCK_LOSSES]
    s[b + PENDING_NUMBERS] = numbers
    s[b + BLOCK_LOSSES] = 0
    s[b + BLOCK_START] = seq
  }
}
