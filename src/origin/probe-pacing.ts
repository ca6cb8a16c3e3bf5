/**
 * When an origin prober sends, and when a probe's reply is overdue: the
 * part of fast origin failover (issue 15, item 4) that the TWAMP and the
 * ICMP probers share. Sans-IO: fed (nowMs, event), never reads a clock.
 *
 * Two deadlines per probe:
 * - missed: no reply within `missDeadlineMs()` of sending, a few typical
 *   round trips (3 x the median of the last RTTs, at least MISS_FLOOR_MS).
 *   A miss is reported at once (an OriginSample with `missed`) and a
 *   confirmation probe goes out at once, so that
 *   ORIGIN_DOWN_AFTER_MISSED misses in a row take ORIGIN_DOWN_AFTER_MISSED
 *   deadlines, not as many probe intervals. Misses count towards "down",
 *   never towards the loss rate: a tight deadline must not make a slow
 *   origin look lossy.
 * - lost: no reply within the loss timeout (1 s); only that is loss.
 * A late reply (after its miss, before its loss) still proves the leg
 * alive and ends the run of misses.
 *
 * Worst case from the leg failing to the leg down (R = RTT, I = interval):
 * the first probe that cannot come back is sent at most I x 1.1 - R after
 * the failure, then ORIGIN_DOWN_AFTER_MISSED deadlines: at 250 ms and a
 * short CNI link (R < 10 ms), 275 + 3 x 30 = 365 ms (docs/routing.md has
 * the whole budget to the ingress). The exit's data plane can start the
 * probes sooner (`expedite`, reply-watch.ts).
 */
import { ORIGIN_DOWN_AFTER_MISSED } from '../probe/origin-edge.js'
import { PROBE_JITTER } from '../probe/prober.js'

/**
 * Least miss deadline, ms. Replies on a CNI link take a few ms; 30 ms
 * leaves room for a busy event loop (a stall delays the reply's handling,
 * and the timer phase runs before the poll phase, so a stall can make one
 * probe look missed, but its late reply then ends the run). Three of these
 * is the confirmation time of a failure (ORIGIN_DOWN_AFTER_MISSED).
 */
export const MISS_FLOOR_MS = 30
/** A reply later than this many typical round trips is missed. */
export const MISS_RTT_FACTOR = 3
/**
 * The typical RTT is the median of this many last replies. Not a mean: an
 * exit's measured RTT includes its own event loop, and a few stalled
 * replies (tens of ms on a busy host) would stretch a mean's deadline past
 * the failover budget; they are what late-reply resets are for. A median
 * follows a real change of the leg's RTT within half of them (1 s at 250 ms).
 */
const RTT_SAMPLES = 8

export class ProbePacing {
  /** Median of the last RTT_SAMPLES replies, ms; NaN before the first reply. */
  typicalRttMs = NaN
  private readonly rtts = new Float64Array(RTT_SAMPLES)
  private readonly sorted = new Float64Array(RTT_SAMPLES)
  private rttCount = 0
  private nextSendMs = -Infinity
  private lastSendMs = -Infinity
  private lastExpediteMs = -Infinity
  /** Probes missed in a row since the last reply (on time or late). */
  private missesInRow = 0

  constructor(
    private readonly intervalMs: number,
    private readonly lossTimeoutMs: number,
    private readonly random: () => number,
  ) {}

  /** True when a probe is due now; it is then taken as sent. */
  due(nowMs: number): boolean {
    if (nowMs < this.nextSendMs) return false
    this.lastSendMs = nowMs
    this.nextSendMs = nowMs + this.intervalMs * (1 - PROBE_JITTER + 2 * PROBE_JITTER * this.random())
    return true
  }

  /** When the next probe is due (for a caller that sleeps until then). */
  nextDueMs(): number {
    return this.nextSendMs
  }

  /**
   * How long a reply may take before its probe is missed. Before the first
   * reply: the interval (no faster than probing at the interval).
   */
  missDeadlineMs(): number {
    const cap = Math.min(this.intervalMs, this.lossTimeoutMs)
    if (Number.isNaN(this.typicalRttMs)) return cap
    return Math.min(Math.max(MISS_RTT_FACTOR * this.typicalRttMs, MISS_FLOOR_MS), cap)
  }

  /** A reply, on time or late: the leg is alive. */
  onReply(rttMs: number): void {
    this.missesInRow = 0
    if (!(rttMs >= 0)) return
    this.rtts[this.rttCount++ % RTT_SAMPLES] = rttMs
    const n = Math.min(this.rttCount, RTT_SAMPLES)
    const s = this.sorted.subarray(0, n)
    s.set(this.rtts.subarray(0, n))
    s.sort()
    this.typicalRttMs = n % 2 === 1 ? s[n >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2
  }

  /**
   * The data plane saw the origin go quiet (reply-watch.ts): the next probe
   * is due now, unless one is still within its miss deadline (it will tell)
   * or the last early probe was less than an interval ago (so a one-way or
   * slow flow costs at most twice the probe rate). True when it was brought forward.
   */
  expedite(nowMs: number): boolean {
    if (nowMs - this.lastSendMs < this.missDeadlineMs() || nowMs - this.lastExpediteMs < this.intervalMs) return false
    this.lastExpediteMs = nowMs
    this.nextSendMs = nowMs
    return true
  }

  /**
   * A probe's reply is overdue. Until ORIGIN_DOWN_AFTER_MISSED misses in a
   * row, the next probe is due at once (a confirmation); after that the
   * prober goes back to its interval, so a dead origin is not probed every
   * few ms.
   */
  onMiss(nowMs: number): void {
    if (++this.missesInRow < ORIGIN_DOWN_AFTER_MISSED) this.nextSendMs = nowMs
  }
}
