/**
 * A sans-IO TWAMP-Light Session-Sender for one origin: `tick(nowMs)` says when
 * to send a test packet, `onReply(nowMs, bytes)` turns the reflected packet
 * into an OriginSample for the router.
 *
 * Clocks: the sender stamps its own clock, the reflector stamps its own, and
 * they are never assumed to agree. Only these are used:
 *   forward pseudo = reflector rx - sender tx   (includes the clock offset)
 *   reverse pseudo = sender rx - reflector tx   (includes minus the offset)
 *   rtt            = (sender rx - sender tx) - (reflector tx - reflector rx)
 * The offset cancels in forward + reverse and in any path sum that enters
 * and leaves the origin, which is how the router uses them.
 *
 * A packet whose reply is overdue (probe-pacing.ts) is reported missed and
 * a confirmation goes out at once; one with no reply after the loss
 * timeout is reported lost. A reply between the two still counts.
 */
import type { OriginSample } from '../probe/types.js'
import { encodeErrorEstimate, ntpDiffMs, UNSYNCED_1MS, writeNtp } from './ntp.js'
import { decodeReflectorPacket, DEFAULT_TEST_PACKET_BYTES, encodeSenderPacket, R_OFF_SENDER_TIMESTAMP } from './twamp-codec.js'
import { ProbePacing } from './probe-pacing.js'

export interface TwampSenderInit {
  service: string
  /** Mean interval between test packets (default 100 ms, jittered +-10%). */
  intervalMs?: number
  /** A packet with no reply after this long is reported lost (default 1000 ms). */
  lossTimeoutMs?: number
  /** Test packet size, >= 41 so the reply fits (default 64). */
  packetBytes?: number
  /** Added to nowMs to form the NTP timestamp (e.g. wall-clock epoch); default 0. */
  ntpOffsetMs?: number
  random?: () => number
}

export interface TwampTick {
  /** The test packet to send now (valid until the next tick), if any. */
  packet?: Uint8Array
  /** Samples for packets whose reply is overdue (`missed`) or that timed out (`lost`). */
  losses: OriginSample[]
}

export interface TwampSenderCounters {
  sent: number
  replies: number
  lost: number
  /** Packets whose reply was overdue (probe-pacing.ts), answered late or not at all. */
  missed: number
  /** Replies after their packet was reported lost, duplicates, or for unknown sequence numbers. */
  late_or_unknown: number
  malformed: number
}

const WINDOW = 1024
const NO_LOSSES: OriginSample[] = []

export class TwampSender {
  readonly counters: TwampSenderCounters = { sent: 0, replies: 0, lost: 0, missed: 0, late_or_unknown: 0, malformed: 0 }
  private readonly service: string
  private readonly lossTimeoutMs: number
  private readonly pacing: ProbePacing
  private readonly ntpOffsetMs: number
  private readonly random: () => number
  private readonly buf: Uint8Array
  private readonly length: number
  private readonly errorEstimate = encodeErrorEstimate(UNSYNCED_1MS)
  // Scratch for re-encoding a sent stamp to compare with the echoed one.
  private readonly stamp = new Uint8Array(8)
  private readonly stampView = new DataView(this.stamp.buffer)
  // Outstanding packets by seq % WINDOW: tx time (ms, own clock) and seq + 1 (0 = free).
  private readonly txMs = new Float64Array(WINDOW)
  private readonly pendingSeq = new Float64Array(WINDOW)
  private oldestSeq = 0
  /** Packets before this one were checked for a miss (answered, missed, or lost). */
  private missSeq = 0
  private nextSeq = 0

  constructor(init: TwampSenderInit) {
    this.service = init.service
    this.lossTimeoutMs = init.lossTimeoutMs ?? 1000
    this.ntpOffsetMs = init.ntpOffsetMs ?? 0
    this.random = init.random ?? Math.random
    this.pacing = new ProbePacing(init.intervalMs ?? 100, this.lossTimeoutMs, this.random)
    this.length = init.packetBytes ?? DEFAULT_TEST_PACKET_BYTES
    if (this.length < 41) throw new RangeError(`packetBytes ${this.length} < 41: the reflector would not answer`)
    this.buf = new Uint8Array(this.length)
  }

  /** When tick next has something to do (a packet due, a reply overdue or lost), for a caller that sleeps until then. */
  nextDueMs(): number {
    let due = this.pacing.nextDueMs()
    for (let seq = this.oldestSeq; seq < this.nextSeq; seq++) {
      const k = seq % WINDOW
      if (this.pendingSeq[k] !== seq + 1) continue
      due = Math.min(due, this.txMs[k] + this.lossTimeoutMs)
      break
    }
    for (let seq = this.missSeq; seq < this.nextSeq; seq++) {
      const k = seq % WINDOW
      if (this.pendingSeq[k] !== seq + 1) continue
      due = Math.min(due, this.txMs[k] + this.pacing.missDeadlineMs())
      break
    }
    return due
  }

  /** The data plane saw the origin go quiet: probe at the next tick (ProbePacing.expedite). */
  expedite(nowMs: number): boolean {
    return this.pacing.expedite(nowMs)
  }

  /** How long a reply may take before its packet is missed (ProbePacing.missDeadlineMs). */
  missDeadlineMs(): number {
    return this.pacing.missDeadlineMs()
  }

  tick(nowMs: number): TwampTick {
    let losses = this.expire(nowMs)
    losses = this.checkMisses(nowMs, losses)
    if (!this.pacing.due(nowMs)) return { losses }
    const seq = this.nextSeq++
    if (seq - this.oldestSeq >= WINDOW) {
      if (losses === NO_LOSSES) losses = []
      this.markLost(this.oldestSeq++, losses)
    }
    this.txMs[seq % WINDOW] = nowMs
    this.pendingSeq[seq % WINDOW] = seq + 1
    encodeSenderPacket(this.buf, { seq: seq >>> 0, timestampMs: nowMs + this.ntpOffsetMs, errorEstimate: this.errorEstimate }, this.length)
    this.counters.sent++
    return { packet: this.buf, losses }
  }

  /** A reflected packet; returns the sample, or undefined (counted) when it is not a reply to us. */
  onReply(nowMs: number, bytes: Uint8Array): OriginSample | undefined {
    const r = decodeReflectorPacket(bytes)
    if (r === undefined) return (this.counters.malformed++, undefined)
    // Sequence numbers are 32-bit on the wire; map back near our counter.
    const seq = this.nextSeq - 1 - ((((this.nextSeq - 1) >>> 0) - r.senderSeq) >>> 0)
    const k = seq % WINDOW
    if (seq < this.oldestSeq || this.pendingSeq[k] !== seq + 1) return (this.counters.late_or_unknown++, undefined)
    // The echoed sender stamp must be ours byte for byte (rejects stale or forged replies).
    writeNtp(this.stampView, 0, this.txMs[k] + this.ntpOffsetMs)
    for (let i = 0; i < 8; i++) {
      if (bytes[R_OFF_SENDER_TIMESTAMP + i] !== this.stamp[i]) return (this.counters.late_or_unknown++, undefined)
    }
    this.pendingSeq[k] = 0
    const txMs = this.txMs[k]
    const senderTxNtp = txMs + this.ntpOffsetMs
    const forward = ntpDiffMs(r.rxTimestampMs, senderTxNtp)
    const reverse = ntpDiffMs(nowMs + this.ntpOffsetMs, r.timestampMs)
    const holdMs = ntpDiffMs(r.timestampMs, r.rxTimestampMs)
    this.counters.replies++
    const rttMs = nowMs - txMs - holdMs
    this.pacing.onReply(rttMs)
    return { service: this.service, method: 'twamp', forwardPseudoMs: forward, reversePseudoMs: reverse, rttMs }
  }

  /** Packets now past their miss deadline, oldest first: reported missed, each asking for a confirmation. */
  private checkMisses(nowMs: number, out: OriginSample[]): OriginSample[] {
    if (this.missSeq < this.oldestSeq) this.missSeq = this.oldestSeq
    const deadline = this.pacing.missDeadlineMs()
    while (this.missSeq < this.nextSeq) {
      const k = this.missSeq % WINDOW
      if (this.pendingSeq[k] === this.missSeq + 1) {
        if (nowMs - this.txMs[k] < deadline) break
        if (out === NO_LOSSES) out = []
        out.push({ service: this.service, method: 'twamp', missed: true })
        this.counters.missed++
        this.pacing.onMiss(nowMs)
      }
      this.missSeq++
    }
    return out
  }

  private expire(nowMs: number): OriginSample[] {
    let out = NO_LOSSES
    while (this.oldestSeq < this.nextSeq) {
      const k = this.oldestSeq % WINDOW
      if (this.pendingSeq[k] === this.oldestSeq + 1) {
        if (nowMs - this.txMs[k] < this.lossTimeoutMs) break
        if (out === NO_LOSSES) out = []
        this.markLost(this.oldestSeq, out)
      }
      this.oldestSeq++
    }
    return out
  }

  private markLost(seq: number, out: OriginSample[]): void {
    const k = seq % WINDOW
    if (this.pendingSeq[k] !== seq + 1) return
    this.pendingSeq[k] = 0
    this.counters.lost++
    out.push({ service: this.service, method: 'twamp', lost: true })
  }
}
