/**
 * The exit's own data-plane evidence that an origin leg failed: datagrams
 * keep going to the origin, none come back. Only ever a reason to probe
 * now rather than at the next scheduled probe (up to an interval later,
 * the largest part of the failover budget, docs/routing.md); never a
 * verdict by itself, since many flows are one-way or answered slowly.
 * Sans-IO: fed the service's origin-side packet counters.
 *
 * The counters change with no event the caller could wait for, so the
 * watch says when it wants them read next (`nextDueMs`): a reply is seen
 * at most that late, and the early probe goes out at most that late.
 */

/** Replies missing for at least this long (and at least the miss deadline) while requests flow: probe now. */
export const REPLY_QUIET_MS = 60
/** Datagrams to the origin since its last reply before its silence means anything. */
const REQUESTS_SINCE_REPLY = 2
/**
 * While datagrams flow either way, or the watch is armed (requests out
 * since the last reply), the counters are read this often, as the probe
 * loop's fixed 10 ms wake did: the last reply before an origin goes
 * silent is then seen at most 10 ms late, and so is the early probe. It
 * cannot be computed as a deadline: when the origin stops answering is
 * the unknown.
 */
export const FLOWING_POLL_MS = 10
/** No datagram either way for this long: the service is idle at this exit. */
export const IDLE_AFTER_MS = 1000
/**
 * While idle, the counters are read this often: a flow starting is seen at
 * most this late. It only matters when the flow starts towards an origin
 * that already failed; the scheduled probes find that failure at most an
 * interval (275 ms at 250 ms) plus three miss deadlines after it anyway,
 * and the early probe can come at most 90 ms later than with 10 ms reads
 * (docs/routing.md, "the origin loop's wake-ups"). An idle exit then
 * reads its counters 10 times a second instead of 100.
 */
export const IDLE_POLL_MS = 100

export class ReplyWatch {
  private lastIn = -1
  private lastOut = -1
  private replyMs = -Infinity
  private outAtReply = 0
  /** Fired since the last reply: one early probe per silence. */
  private fired = false
  /** When the counters were last read, and last seen changing. */
  private observedMs = -Infinity
  private activityMs = -Infinity

  /**
   * The service's counters of datagrams to and from the origin. True when
   * the origin has been silent for `quietMs` while at least two datagrams
   * went to it: the caller probes now (ProbePacing.expedite).
   */
  observe(nowMs: number, packetsOut: number, packetsIn: number, quietMs: number): boolean {
    // The first read is where the counters stand, not traffic.
    if (this.observedMs !== -Infinity && (packetsOut !== this.lastOut || packetsIn !== this.lastIn)) this.activityMs = nowMs
    this.observedMs = nowMs
    this.lastOut = packetsOut
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

  /**
   * When the counters should next be read (observe): FLOWING_POLL_MS after
   * the last read while traffic flows or the watch is armed, else
   * IDLE_POLL_MS; never before the first read (no counters to watch).
   */
  nextDueMs(): number {
    if (this.observedMs === -Infinity) return Infinity
    const armed = !this.fired && this.lastOut - this.outAtReply >= REQUESTS_SINCE_REPLY
    const flowing = armed || this.observedMs - this.activityMs < IDLE_AFTER_MS
    return this.observedMs + (flowing ? FLOWING_POLL_MS : IDLE_POLL_MS)
  }
}
