/**
 * Token bucket for inbound handshake initiations. One per peer, spent only
 * once an initiation authenticated (its response costs three X25519
 * operations), so a peer cannot make us spend more than this; handshake-load.ts
 * uses the same bucket for the limits that apply before authentication.
 */

export const INITIATIONS_PER_SECOND = 20
export const INITIATION_BURST = 5

export class TokenBucket {
  private tokens: number
  private lastMs = Number.NEGATIVE_INFINITY

  constructor(
    private readonly ratePerSecond = INITIATIONS_PER_SECOND,
    private readonly burst = INITIATION_BURST,
  ) {
    this.tokens = burst
  }

  /** Takes one token if available at `nowMs`. */
  take(nowMs: number): boolean {
    if (this.lastMs !== Number.NEGATIVE_INFINITY) {
      const refill = ((nowMs - this.lastMs) * this.ratePerSecond) / 1000
      if (refill > 0) this.tokens = Math.min(this.burst, this.tokens + refill)
    }
    this.lastMs = Math.max(this.lastMs, nowMs)
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}
