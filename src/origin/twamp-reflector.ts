/**
 * The sans-IO core of a stateless TWAMP-Light Session-Reflector: one request
 * in, one reply of the same size out (or a counted drop). The caller stamps
 * the receive and send times from the reflector's own clock; nothing here
 * assumes that clock agrees with the sender's. `handle` first asks the
 * ReflectorGuard (reflector-guard.ts) whether the source may be answered.
 */
import { ReflectorGuard, type GuardDrop } from './reflector-guard.js'
import { encodeErrorEstimate, UNSYNCED_1MS } from './ntp.js'
import {
  R_HEADER_BYTES,
  R_OFF_ERROR_EST,
  R_OFF_RX_TIMESTAMP,
  R_OFF_SENDER_ERROR_EST,
  R_OFF_SENDER_SEQ,
  R_OFF_SENDER_TIMESTAMP,
  R_OFF_SENDER_TTL,
  R_OFF_SEQ,
  R_OFF_TIMESTAMP,
  S_MBZ_BYTES,
  S_OFF_ERROR_EST,
  S_OFF_MBZ,
  S_OFF_SEQ,
  S_OFF_TIMESTAMP,
} from './twamp-codec.js'
import { writeNtp } from './ntp.js'

/** Largest request answered: one unfragmented IPv4 UDP datagram on a 1500-byte MTU. */
export const MAX_TEST_PACKET_BYTES = 1472

/** TTL written when the socket API does not expose the request's TTL (node:dgram does not). */
export const UNKNOWN_TTL = 255

export interface ReflectorCounters {
  reflected: number
  /** Shorter than a reply header: answering would send more than we got. */
  too_short: number
  too_long: number
  /** Error estimate multiplier 0, which RFC 4656 forbids: not a TWAMP test packet. */
  bad_error_estimate: number
  /** Bytes 14..40 not zero: not a symmetric-size sender packet (a reflector's reply, for one). */
  mbz_nonzero: number
  /** Source outside every --allow prefix. */
  not_allowed: number
  /** Source port below 1024 or our own port: another server, which could answer back. */
  reflector_port: number
  /** Over the per-source rate. */
  rate_limited: number
}

export class TwampReflectorCore {
  readonly counters: ReflectorCounters = {
    reflected: 0, too_short: 0, too_long: 0, bad_error_estimate: 0, mbz_nonzero: 0, not_allowed: 0, reflector_port: 0, rate_limited: 0,
  }
  private readonly errorEstimate = encodeErrorEstimate(UNSYNCED_1MS)

  constructor(private readonly guard?: ReflectorGuard) {}

  /**
   * A datagram from `address`:`port` at monotonic `nowMs`: the guard's
   * checks, then `reflect`. Returns the reply length (the request's) or 0.
   */
  handle(address: string, port: number, nowMs: number, req: Uint8Array, length: number, rxNtpMs: number, txNtpMs: number, ttl: number, out: Uint8Array): number {
    const refused: GuardDrop | null = this.guard?.check(address, port, nowMs) ?? null
    if (refused !== null) return (this.counters[refused]++, 0)
    return this.reflect(req, length, rxNtpMs, txNtpMs, ttl, out)
  }

  /**
   * Writes the reply to req[0..length) into `out` and returns its length (equal
   * to the request's), or 0 when the request is dropped. Time stamps are ms on
   * this host's clock in the NTP era (see ntp.ts).
   */
  reflect(req: Uint8Array, length: number, rxNtpMs: number, txNtpMs: number, ttl: number, out: Uint8Array): number {
    if (length < R_HEADER_BYTES) return (this.counters.too_short++, 0)
    if (length > MAX_TEST_PACKET_BYTES || length > out.length || length > req.length) return (this.counters.too_long++, 0)
    const rq = new DataView(req.buffer, req.byteOffset, length)
    const senderErr = rq.getUint16(S_OFF_ERROR_EST)
    if ((senderErr & 0xff) === 0) return (this.counters.bad_error_estimate++, 0)
    // Symmetric size (RFC 6038): the sender's MBZ bytes are zero. A reflector's reply has time
    // stamps there, so one reflector's reply is never taken for a request by another.
    for (let i = S_OFF_MBZ; i < S_OFF_MBZ + S_MBZ_BYTES; i++) if (req[i] !== 0) return (this.counters.mbz_nonzero++, 0)
    const v = new DataView(out.buffer, out.byteOffset, length)
    out.fill(0, 0, length)
    const seq = rq.getUint32(S_OFF_SEQ)
    // Stateless mode (RFC 5357 §4.2.1): our sequence number copies the sender's.
    v.setUint32(R_OFF_SEQ, seq)
    writeNtp(v, R_OFF_TIMESTAMP, txNtpMs)
    v.setUint16(R_OFF_ERROR_EST, this.errorEstimate)
    writeNtp(v, R_OFF_RX_TIMESTAMP, rxNtpMs)
    v.setUint32(R_OFF_SENDER_SEQ, seq)
    // Copied byte for byte so the sender can match its own stamp exactly.
    out.set(req.subarray(S_OFF_TIMESTAMP, S_OFF_TIMESTAMP + 8), R_OFF_SENDER_TIMESTAMP)
    v.setUint16(R_OFF_SENDER_ERROR_EST, senderErr)
    v.setUint8(R_OFF_SENDER_TTL, ttl & 0xff)
    this.counters.reflected++
    return length
  }
}
