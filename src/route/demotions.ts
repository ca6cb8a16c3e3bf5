/**
 * Local demotions: directed edges this relay has stopped trusting for its
 * own route choices because its traffic on a path through them fared clearly
 * worse than the map predicted (control/path-check.ts decides; docs/routing.md,
 * "Path reports"). The evidence is this relay's own data, so a demotion is
 * never flooded: it changes only this relay's weights.
 *
 * A demoted edge costs DEMOTED_EDGE_PENALTY_MS more, so a route avoids it
 * whenever any other way exists, and still uses it when none does (a
 * penalty, not an exclusion: a wrong verdict can never cut a service off).
 */

/**
 * Added to a demoted edge's weight: more than any real path delay (a path
 * has at most 7 edges and every edge delay is far below a second), so one
 * demoted edge loses against every path without one.
 */
export const DEMOTED_EDGE_PENALTY_MS = 10_000

export class EdgeDemotions {
  /** untilMs by edge index u * n + v. */
  private readonly until = new Map<number, number>()
  /**
   * Our own edges self -> v to a peer whose probes stopped reaching us (its
   * edge v -> self went silent): penalised like a demotion until v is heard
   * again (Router: "Silent peers"), with no time limit.
   */
  private readonly silent = new Set<number>()
  /**
   * Peers whose column is suspect: v went silent to us, so v may be cut off
   * from everyone, and then the edges into v (measured at v) are frozen in
   * its column, shown up while nothing reaches v. Every edge u -> v is
   * penalised until an update from v arrives after the silence (v is alive
   * and its column current: cleared by the router) or v is heard again.
   * Without this, an exit whose edge from a cut-off transit relay went
   * silent moved its reply path to another way through that relay (over
   * edges into it still shown up) and only left it on the next flood.
   */
  private readonly suspect = new Set<number>()

  constructor(private readonly n: number) {}

  get size(): number {
    return this.until.size
  }

  /** Marks u->v silent; true when it was not. */
  markSilent(u: number, v: number): boolean {
    const k = u * this.n + v
    if (this.silent.has(k)) return false
    this.silent.add(k)
    return true
  }

  /** Lifts a silent mark; true when there was one. */
  clearSilent(u: number, v: number): boolean {
    return this.silent.delete(u * this.n + v)
  }

  /** Marks v's column suspect; true when it was not. */
  markSuspect(v: number): boolean {
    if (this.suspect.has(v)) return false
    this.suspect.add(v)
    return true
  }

  /** Lifts v's suspect mark; true when there was one. */
  clearSuspect(v: number): boolean {
    return this.suspect.delete(v)
  }

  /** Demotes u->v until untilMs (a later deadline wins). */
  demote(u: number, v: number, untilMs: number): void {
    const k = u * this.n + v
    if (!((this.until.get(k) ?? -Infinity) >= untilMs)) this.until.set(k, untilMs)
  }

  has(u: number, v: number): boolean {
    const k = u * this.n + v
    return this.until.has(k) || this.silent.has(k) || this.suspect.has(v)
  }

  /** True when some path edge is demoted. */
  onPath(path: readonly number[]): boolean {
    if (this.until.size === 0 && this.silent.size === 0 && this.suspect.size === 0) return false
    for (let i = 0; i + 1 < path.length; i++) if (this.has(path[i], path[i + 1])) return true
    return false
  }

  /** The earliest moment expire() has work (Infinity: nothing demoted). */
  nextExpiryMs(): number {
    let next = Infinity
    for (const t of this.until.values()) if (t < next) next = t
    return next
  }

  /** Drops demotions whose time is up; true when any did (routes must be recomputed). */
  expire(nowMs: number): boolean {
    let any = false
    for (const [k, t] of this.until) {
      if (nowMs >= t) {
        this.until.delete(k)
        any = true
      }
    }
    return any
  }

  /** Adds the penalty to every demoted edge's (finite) weight in w (V x V). */
  apply(w: Float64Array): void {
    for (const k of this.until.keys()) if (Number.isFinite(w[k])) w[k] += DEMOTED_EDGE_PENALTY_MS
    for (const k of this.silent) if (Number.isFinite(w[k]) && !this.until.has(k)) w[k] += DEMOTED_EDGE_PENALTY_MS
    const n = this.n
    for (const v of this.suspect) {
      for (let u = 0; u < n; u++) {
        const k = u * n + v
        if (Number.isFinite(w[k]) && !this.until.has(k) && !this.silent.has(k)) w[k] += DEMOTED_EDGE_PENALTY_MS
      }
    }
  }

  /** [u, v, untilMs] of every demoted edge. */
  list(): [number, number, number][] {
    return [...this.until].map(([k, t]) => [Math.floor(k / this.n), k % this.n, t])
  }
}
