/**
 * RFC 4443 2.4 f (and RFC 1812 4.3.2.8 for IPv4) requires limiting the rate
 * of ICMP errors a node originates, so a flood of expired or oversize
 * packets cannot turn a relay into an ICMP cannon. A token bucket, sans-IO:
 * the caller passes the monotonic `nowMs` of each candidate error.
 */

export interface IcmpRateLimitInit {
  /** Sustained errors per second. */
  perSecond?: number
  /** Errors allowed in a burst. */
  burst?: number
}

export const DEFAULT_ICMP_ERRORS_PER_SECOND = 100
export const DEFAULT_ICMP_ERROR_BURST = 50

export class IcmpRateLimiter {
  private readonly perMs: number
  private readonly burst: number
  private tokens: number
  private lastMs = Number.NEGATIVE_INFINITY

  constructor(init: IcmpRateLimitInit = {}) {
    this.perMs = (init.perSecond ?? DEFAULT_ICMP_ERRORS_PER_SECOND) / 1000
    this.burst = init.burst ?? DEFAULT_ICMP_ERROR_BURST
    this.tokens = this.burst
  }

  /** True if an error may be sent at `nowMs` (and spends a token). */
  allow(nowMs: number): boolean {
    if (nowMs > this.lastMs) {
      // The first call only starts the clock; time never runs backwards here (monotonic input).
      if (this.lastMs !== Number.NEGATIVE_INFINITY) {
        this.tokens = Math.min(this.burst, this.tokens + (nowMs - this.lastMs) * this.perMs)
      }
      this.lastMs = nowMs
    }
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}
