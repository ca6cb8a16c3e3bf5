import type { OriginSample } from './types.js'
import { DelayFilter } from './delay-filter.js'
import { OriginLoss } from './origin-loss.js'
import { OffsetFilter } from './offset-filter.js'
import { UP_AFTER_PROBES } from './inbound-edge.js'
import { DOWN_SLACK_MS, PROBE_JITTER } from './prober.js'

/**
 * Origin probes missed in a row that take an origin leg down. A probe is
 * missed when its reply is a few round trips late (origin/probe-pacing.ts),
 * and each miss sends a confirmation probe at once, so three misses take
 * three short deadlines (3 x 30 ms on a CNI link), not three intervals.
 * Three, not two: at 1% independent probe loss a false failover then needs
 * three losses in a row, about once in 10^6 probes (70 h at 250 ms),
 * where two would move flows every ~40 min; the third deadline costs 30 ms.
 */
export const ORIGIN_DOWN_AFTER_MISSED = 3
/** Intervals without any good sample that take an origin leg down (the backstop of the miss rule). */
export const SILENT_AFTER_INTERVALS = 2
/** Weight of a new gap in the interval estimate (see OriginEdge.learnInterval). */
const INTERVAL_GAIN = 0.25

/**
 * The CNI link between this relay (an exit) and one service's origin, from
 * the origin health samples the daemon feeds in.
 *
 * - twamp: one-way pseudo delays both ways. `fwd` filters exit->origin pseudo
 *   delays (offset_origin - offset_exit included, exact in path sums exactly
 *   like relay edges); `offset` holds the min-RTT estimate of
 *   offset_origin - offset_exit = (fwd - rev) / 2.
 * - icmp: round trip only. We assume the link is symmetric and `fwd` filters
 *   rtt/2 as an estimated *true* one-way delay (no offset in it). See
 *   docs/one-way-latency.md for what the exit choice then assumes.
 *
 * Loss is over the samples in order (origin-loss.ts), over more of them
 * than a relay edge's: a lossy verdict moves every flow on the exit.
 */
export class OriginEdge {
  readonly fwd = new DelayFilter()
  readonly rev = new DelayFilter()
  readonly loss: OriginLoss
  readonly offset = new OffsetFilter()
  method: 'twamp' | 'icmp' = 'icmp'
  up = false
  lastGoodMs = NaN
  /** Learned mean interval between good samples (the origin probe interval); NaN before two. */
  intervalMs = NaN
  /** The interval the prober says it keeps (OriginSample.intervalMs); NaN when it never said. */
  nominalIntervalMs = NaN
  /**
   * The owner's count of time it was not running (Prober.unobservedMs,
   * stall-watch.ts) at the last good sample: the router subtracts what it
   * adds since from the silence, so a stall of the exit's own is not the
   * origin's silence (the reply waits in the socket while the timers run first).
   */
  unobservedAtGoodMs = 0
  private consecutiveGood = 0
  private consecutiveLost = 0
  private consecutiveMissed = 0

  /** @param heavyLossPct see OriginLoss (the router passes twice its loss limit). */
  constructor(private readonly lossDownAfter: number, heavyLossPct = Infinity) {
    this.loss = new OriginLoss(heavyLossPct)
  }

  /** Returns true when `up` changed. Returns false (ignoring it) for a sample with nothing usable. */
  onSample(nowMs: number, s: OriginSample): { changed: boolean; valid: boolean } {
    const wasUp = this.up
    if (isFiniteNum(s.intervalMs) && s.intervalMs > 0) this.nominalIntervalMs = s.intervalMs
    if (s.missed === true) {
      // Not loss (the reply may still come): only the run of misses counts.
      this.consecutiveGood = 0
      if (++this.consecutiveMissed >= ORIGIN_DOWN_AFTER_MISSED) this.up = false
      return { changed: wasUp !== this.up, valid: true }
    }
    if (s.lost === true) {
      this.loss.lost()
      this.consecutiveGood = 0
      if (++this.consecutiveLost >= this.lossDownAfter) this.up = false
      return { changed: wasUp !== this.up, valid: true }
    }
    if (!this.take(s)) return { changed: false, valid: false }
    this.loss.received()
    this.consecutiveLost = 0
    this.consecutiveMissed = 0
    // Only gaps between good samples in a row (not across an outage or a reported loss).
    if (this.consecutiveGood > 0) this.learnInterval(nowMs)
    this.lastGoodMs = nowMs
    if (++this.consecutiveGood >= UP_AFTER_PROBES && !this.up) {
      // Loss counts only while up (see InboundEdge): forget the outage.
      this.up = true
      this.loss.restart()
    }
    return { changed: wasUp !== this.up, valid: true }
  }

  private take(s: OriginSample): boolean {
    const f = s.forwardPseudoMs
    const r = s.reversePseudoMs
    if (s.method === 'twamp' && isFiniteNum(f) && isFiniteNum(r)) {
      if (this.method !== 'twamp') this.switchMethod('twamp')
      const rtt = isFiniteNum(s.rttMs) && s.rttMs >= 0 ? s.rttMs : f + r
      if (!(rtt >= 0)) return false
      this.fwd.add(f)
      this.rev.add(r)
      this.offset.addSample((f - r) / 2, rtt)
      return true
    }
    if (isFiniteNum(s.rttMs) && s.rttMs >= 0) {
      if (this.method !== 'icmp') this.switchMethod('icmp')
      this.fwd.add(s.rttMs / 2)
      this.rev.add(s.rttMs / 2)
      this.offset.addSample(NaN, s.rttMs)
      return true
    }
    return false
  }

  /** Samples of the two methods live in different spaces (pseudo vs true): never mix them. */
  private switchMethod(m: 'twamp' | 'icmp'): void {
    this.method = m
    this.fwd.reset()
    this.rev.reset()
    this.offset.reset()
  }

  /**
   * The probe interval, from the gaps between good samples. A gap is clamped
   * to [half, double] the estimate before it is averaged in, so a lost probe
   * (a double gap) or two replies close together move it by at most a
   * quarter, and a bad first gap is outgrown in a few samples.
   */
  private learnInterval(nowMs: number): void {
    const gap = nowMs - this.lastGoodMs
    if (!(gap > 0)) return
    const est = this.intervalMs
    if (Number.isNaN(est)) {
      this.intervalMs = gap
      return
    }
    this.intervalMs = est + INTERVAL_GAIN * (Math.min(2 * est, Math.max(est / 2, gap)) - est)
  }

  /**
   * How long without a good sample takes the leg down, for probers that
   * report no misses (or stop reporting anything): SILENT_AFTER_INTERVALS
   * intervals, at most `staleMs`. Probers that report misses take it down sooner.
   * The interval is the prober's own when its samples carry it. Learned, a
   * run of early probes (each gap clamped to half the estimate) took a 250 ms
   * interval to 112 ms in six replies, so the next regular gap read as
   * silence: an exit took its origin leg down for ~250 ms and the ingress
   * dropped the flow's packets as no_route (test/integration/live-changes).
   */
  silentAfterMs(staleMs: number): number {
    const i = Number.isNaN(this.nominalIntervalMs) ? this.intervalMs : this.nominalIntervalMs
    if (Number.isNaN(i)) return staleMs
    return Math.min(staleMs, SILENT_AFTER_INTERVALS * i * (1 + PROBE_JITTER) + DOWN_SLACK_MS)
  }

  /** When checkSilence can next take the leg down (Infinity while down): a check at or before it does nothing. */
  silenceDueMs(staleMs: number): number {
    return this.up ? this.lastGoodMs + this.silentAfterMs(staleMs) : Infinity
  }

  checkSilence(nowMs: number, staleMs: number): boolean {
    if (!this.up || nowMs - this.lastGoodMs <= this.silentAfterMs(staleMs)) return false
    this.up = false
    this.consecutiveGood = 0
    return true
  }
}

function isFiniteNum(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x)
}
