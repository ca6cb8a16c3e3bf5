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
 */
import type { OriginSample } from '../probe/types.js'
import { encodeErrorEstimate, ntpDiffMs, UNSYNCED_1MS, writeNtp } from './ntp.js'
import { decodeReflectorPacket, DEFAULT_TEST_PACKET_BYTES, encodeSenderPacket, R_OFF_SENDER_TIMESTAMP } from './twamp-codec.js'

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
  /** Samples for packets that timed out. */
  losses: OriginSample[]
}

export interface TwampSenderCounters {
  sent: number
  replies: number
  lost: number
  /** Replies after their packet was reported lost, duplicates, or for unknown sequence numbers. */
  late_or_unknown: number
  malformed: number
}

const WINDOW = 1024
const NO_LOSSES: OriginSample[] = []

export class TwampSender {
  readonly counters: TwampSenderCounters = { sent: 0, replies: 0, lost: 0, late_or_unknown: 0, malformed: 0 }
  private readonly service: string
  private readonly intervalMs: number
  private readonly lossTimeoutMs: number
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
  private nextSeq = 0
  private nextSendMs = -Infinity

  constructor(init: TwampSenderInit) {
    this.service = init.service
    this.intervalMs = init.intervalMs ?? 100
    this.lossTimeoutMs = init.lossTimeoutMs ?? 1000
    this.ntpOffsetMs = init.ntpOffsetMs ?? 0
    this.random = init.random ?? Math.random
    this.length = init.packetBytes ?? DEFAULT_TEST_PACKET_BYTES
    if (this.length < 41) throw new RangeError(`packetBytes ${this.length} < 41: the reflector would not answer`)
    this.buf = new Uint8Array(this.length)
  }

  tick(nowMs: number): TwampTick {
    let losses = this.expire(nowMs)
    if (nowMs < this.nextSendMs) return { losses }
    this.nextSendMs = nowMs + this.intervalMs * (0.9 + 0.2 * this.random())
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
    return { service: this.service, method: 'twamp', forwardPseudoMs: forward, reversePseudoMs: reverse, rttMs: nowMs - txMs - holdMs }
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
