/**
 * Route flap damping for the edges a relay measures (RFC 2439's scheme,
 * rescaled from BGP's minutes to an overlay's seconds).
 *
 * Every time an edge stops being usable (its probes stopped, or the fast
 * loss detector tripped) it gets FLAP_PENALTY. The penalty decays
 * exponentially with half-life FLAP_HALF_LIFE_MS. When a failure lifts it
 * to FLAP_SUPPRESS or more, the edge is suppressed: the measuring relay
 * floods it as down even while it works, so no relay picks it for a path,
 * until the penalty has decayed under FLAP_REUSE. The penalty is capped so
 * that no edge stays suppressed longer than FLAP_MAX_SUPPRESS_MS after it
 * last failed.
 *
 * Why these numbers:
 * - One failure (1000) stays under the suppress threshold (1500): an edge
 *   that fails once comes back as fast as without damping.
 * - A second failure within one half-life (10 s: 1000 x 2^(-t/10 s) + 1000
 *   >= 1500 for t <= 10 s) suppresses. A link flapping with a 4 s period
 *   (2 s down, 2 s up) is suppressed at its second cut (1758), so a flow
 *   rides it at most once more after the first cut.
 * - Reuse at 500: after two failures 4 s apart the edge must then work for
 *   10 s x log2(1758 / 500) = 18 s; each further failure while suppressed
 *   adds 1000 (five 4 s-period cuts: ~3100, 26 s of stability). Failures 30 s
 *   apart never suppress (1125).
 * - Cap: reuse x 2^(60 s / 10 s) = 32000, so at most 60 s after the last failure.
 * A flap is counted once, at its failure: RFC 2439 charges withdrawals,
 * and an edge that only comes back has done nothing to be distrusted for.
 */
export const FLAP_PENALTY = 1000
export const FLAP_SUPPRESS = 1500
export const FLAP_REUSE = 500
export const FLAP_HALF_LIFE_MS = 10_000
export const FLAP_MAX_SUPPRESS_MS = 60_000
/** The penalty at which decay to FLAP_REUSE takes FLAP_MAX_SUPPRESS_MS. */
export const FLAP_MAX_PENALTY = FLAP_REUSE * 2 ** (FLAP_MAX_SUPPRESS_MS / FLAP_HALF_LIFE_MS)

/**
 * Penalties of `n` edges (indexed like the relays: edge peer -> self).
 * Pure: time comes in as nowMs. The penalty is stored as of the last
 * failure; its value now is `penalty x 2^(-(now - at) / half-life)`.
 */
export class FlapDamping {
  private readonly penalty: Float64Array
  private readonly atMs: Float64Array
  private readonly suppressedFlag: Uint8Array
  /** No suppressed edge can be reused before this (see release). */
  private nextReuseMs = Infinity
  suppressions = 0

  constructor(n: number) {
    this.penalty = new Float64Array(n)
    this.atMs = new Float64Array(n)
    this.suppressedFlag = new Uint8Array(n)
  }

  /** Edge i's penalty at nowMs. */
  penaltyAt(i: number, nowMs: number): number {
    const p = this.penalty[i]
    return p === 0 ? 0 : p * 2 ** (-(nowMs - this.atMs[i]) / FLAP_HALF_LIFE_MS)
  }

  suppressed(i: number): boolean {
    return this.suppressedFlag[i] === 1
  }

  /** Edge i just stopped being usable. Returns true when this suppressed it. */
  onFailure(i: number, nowMs: number): boolean {
    const p = Math.min(FLAP_MAX_PENALTY, this.penaltyAt(i, nowMs) + FLAP_PENALTY)
    this.penalty[i] = p
    this.atMs[i] = nowMs
    if (this.suppressedFlag[i] === 1 || p < FLAP_SUPPRESS) {
      if (this.suppressedFlag[i] === 1) this.nextReuseMs = Math.min(this.nextReuseMs, this.reuseAtMs(i))
      return false
    }
    this.suppressedFlag[i] = 1
    this.suppressions++
    this.nextReuseMs = Math.min(this.nextReuseMs, this.reuseAtMs(i))
    return true
  }

  /** When edge i's penalty decays to FLAP_REUSE. */
  reuseAtMs(i: number): number {
    return this.atMs[i] + FLAP_HALF_LIFE_MS * Math.log2(this.penalty[i] / FLAP_REUSE)
  }

  /** The earliest moment release() can lift a suppression (Infinity: none suppressed). */
  get nextReleaseMs(): number {
    return this.nextReuseMs
  }

  /**
   * Lifts the suppression of every edge whose penalty has decayed under
   * FLAP_REUSE; returns how many. Cheap when none is due (one comparison).
   */
  release(nowMs: number): number {
    if (!(nowMs >= this.nextReuseMs)) return 0
    let released = 0
    let next = Infinity
    for (let i = 0; i < this.suppressedFlag.length; i++) {
      if (this.suppressedFlag[i] === 0) continue
      const at = this.reuseAtMs(i)
      if (nowMs >= at) {
        this.suppressedFlag[i] = 0
        released++
      } else if (at < next) next = at
    }
    this.nextReuseMs = next
    return released
  }
}
