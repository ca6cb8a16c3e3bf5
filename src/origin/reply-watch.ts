/**
 * The exit's own data-plane evidence that an origin leg failed: datagrams
 * keep going to the origin, none come back. Only ever a reason to probe
 * now rather than at the next scheduled probe (up to an interval later,
 * the largest part of the failover budget, docs/routing.md); never a
 * verdict by itself, since many flows are one-way or answered slowly.
 * Sans-IO: fed the service's origin-side packet counters.
 */

/** Replies missing for at least this long (and at least the miss deadline) while requests flow: probe now. */
export const REPLY_QUIET_MS = 60
/** Datagrams to the origin since its last reply before its silence means anything. */
const REQUESTS_SINCE_REPLY = 2

export class ReplyWatch {
  private lastIn = -1
  private replyMs = -Infinity
  private outAtReply = 0
  /** Fired since the last reply: one early probe per silence. */
  private fired = false

  /**
   * The service's counters of datagrams to and from the origin. True when
   * the origin has been silent for `quietMs` while at least two datagrams
   * went to it: the caller probes now (ProbePacing.expedite).
   */
  observe(nowMs: number, packetsOut: number, packetsIn: number, quietMs: number): boolean {
    if (packetsIn !== this.lastIn) {
      this.lastIn = packetsIn
      this.replyMs = nowMs
      this.outAtReply = packetsOut
      this.fired = false
      return false
    }
    if (this.fired || packetsOut - this.outAtReply < REQUESTS_SINCE_REPLY || nowMs - this.replyMs < quietMs) return false
    this.fired = true
    return true
  }
}
