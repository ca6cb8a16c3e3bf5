import { SIGNIFICANT_ABS_MS, SIGNIFICANT_REL } from './link-map.js'

export const DEFAULT_SWITCH_HOLD_MS = 1000

/** A candidate route: relay indices from first to last, and its cost under the current map. */
export interface Candidate {
  path: number[]
  costMs: number
}

export function samePath(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  if (a === undefined || b === undefined || a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Better by more than max(1 ms, 5%) of the current cost. `baseMs` is what
 * the 5% is taken of, when a better estimate of the active route's delay
 * than its reweighted cost is at hand (see RouteTable.marginBase).
 */
export function significantlyBetter(candidateMs: number, activeMs: number, baseMs = activeMs): boolean {
  return candidateMs < activeMs - Math.max(SIGNIFICANT_ABS_MS, SIGNIFICANT_REL * baseMs)
}

/**
 * Damped route selection for one destination (a service's forward route, or
 * one reply route).
 *
 * Why damping: every relay re-decides on the same flooded map, and moving
 * traffic onto a path changes that path's queueing. If each relay jumped to
 * whichever path is cheapest at this instant, small measurement noise would
 * make routes flap, and flapping routes create the very delay swings that
 * cause more flapping. babeld's answer, which we follow, is that a working
 * route is only replaced when the alternative is clearly better (here: by
 * more than max(1 ms, 5%)) and stays clearly better (here: continuously for
 * `holdMs`, default 1 s); its metrics are already smoothed, so a single noisy
 * update cannot start a switch. A route that stops working (an edge down,
 * disqualified by loss, or stale) is not damped at all: it is replaced at once,
 * because the cost of waiting is lost traffic.
 */
export class RouteSlot {
  active: Candidate | undefined
  /** nowMs at which `active` was chosen. */
  sinceMs = NaN
  /** nowMs since which the best candidate has continuously been significantly better; NaN if not. */
  pendingSinceMs = NaN
  private best: Candidate | undefined
  switches = 0

  constructor(private readonly holdMs: number) {}

  /**
   * Called after each route computation with the best candidate and the
   * active path's cost under the same (current) map: Infinity when it no
   * longer works. `marginBaseMs`: what the 5% of the margin is taken of.
   */
  update(nowMs: number, best: Candidate | undefined, activeCostMs: number, marginBaseMs = activeCostMs): void {
    this.best = best
    if (this.active !== undefined) this.active.costMs = activeCostMs
    if (this.active === undefined || !Number.isFinite(activeCostMs)) {
      // Nothing usable held: take the best at once (or hold nothing).
      if (this.active !== undefined || best !== undefined) this.switchTo(nowMs, best)
      return
    }
    if (best === undefined || samePath(best.path, this.active.path) || !significantlyBetter(best.costMs, activeCostMs, marginBaseMs)) {
      this.pendingSinceMs = NaN
      return
    }
    if (Number.isNaN(this.pendingSinceMs)) this.pendingSinceMs = nowMs
    this.poll(nowMs)
  }

  /** Called on every tick: completes a pending switch once it has held for holdMs. */
  poll(nowMs: number): boolean {
    if (Number.isNaN(this.pendingSinceMs) || nowMs - this.pendingSinceMs < this.holdMs) return false
    this.switchTo(nowMs, this.best)
    return true
  }

  private switchTo(nowMs: number, c: Candidate | undefined): void {
    this.active = c === undefined ? undefined : { path: c.path, costMs: c.costMs }
    this.sinceMs = nowMs
    this.pendingSinceMs = NaN
    this.switches++
  }
}
