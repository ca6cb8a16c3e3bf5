/**
 * TWAMP-Light test packets, unauthenticated mode (RFC 5357 §4.1.2 and §4.2.1;
 * TWAMP Light is RFC 5357 Appendix I). All fields big-endian.
 *
 * Session-Sender test packet (14 bytes + padding):
 *   0  sequence number (u32)
 *   4  timestamp (NTP, 8)          sender tx time, sender's clock
 *   12 error estimate (u16)
 *   14 packet padding; with symmetric size (RFC 6038 §4.2) the first 27
 *      bytes of it are MBZ, so the request is as long as the reply header
 *
 * Session-Reflector test packet (41 bytes + padding):
 *   0  sequence number (u32)       stateless reflector: copy of the sender's
 *   4  timestamp (NTP, 8)          reflector tx time, reflector's clock
 *   12 error estimate (u16)
 *   14 MBZ (2)
 *   16 receive timestamp (NTP, 8)  reflector rx time, reflector's clock
 *   24 sender sequence number (u32)
 *   28 sender timestamp (NTP, 8)
 *   36 sender error estimate (u16)
 *   38 MBZ (2)
 *   40 sender TTL (u8)
 *   41 packet padding
 */
import { readNtp, writeNtp } from './ntp.js'

// Specification constants: RFC 5357 §4.1.2 (sender packet).
export const S_OFF_SEQ = 0
export const S_OFF_TIMESTAMP = 4
export const S_OFF_ERROR_EST = 12
export const S_HEADER_BYTES = 14
/** RFC 6038 §4.2 symmetric size, unauthenticated mode: 27 MBZ bytes after the error estimate. */
export const S_OFF_MBZ = 14
export const S_MBZ_BYTES = 27

// Specification constants: RFC 5357 §4.2.1 (reflector packet).
export const R_OFF_SEQ = 0
export const R_OFF_TIMESTAMP = 4
export const R_OFF_ERROR_EST = 12
export const R_OFF_MBZ1 = 14
export const R_OFF_RX_TIMESTAMP = 16
export const R_OFF_SENDER_SEQ = 24
export const R_OFF_SENDER_TIMESTAMP = 28
export const R_OFF_SENDER_ERROR_EST = 36
export const R_OFF_MBZ2 = 38
export const R_OFF_SENDER_TTL = 40
export const R_HEADER_BYTES = 41

/** Default UDP port of TWAMP test sessions in TWAMP Light deployments (RFC 8545). */
export const TWAMP_LIGHT_PORT = 862

// Implementation constant: senders pad to this size so the reply (41 bytes
// header) is never larger than the request (RFC 6038 symmetric size).
export const DEFAULT_TEST_PACKET_BYTES = 64

export interface SenderPacket {
  seq: number
  /** Sender tx time, ms on the sender's clock (NTP era). */
  timestampMs: number
  errorEstimate: number
  length: number
}

export interface ReflectorPacket {
  seq: number
  /** Reflector tx time, ms on the reflector's clock. */
  timestampMs: number
  errorEstimate: number
  /** Reflector rx time, ms on the reflector's clock. */
  rxTimestampMs: number
  senderSeq: number
  senderTimestampMs: number
  senderErrorEstimate: number
  senderTtl: number
  length: number
}

/** Writes a sender test packet of `length` bytes (zero padding) into `buf`; returns the length. */
export function encodeSenderPacket(buf: Uint8Array, p: Omit<SenderPacket, 'length'>, length = DEFAULT_TEST_PACKET_BYTES): number {
  if (length < S_HEADER_BYTES || length > buf.length) throw new RangeError(`test packet length ${length} outside [${S_HEADER_BYTES}, ${buf.length}]`)
  const v = new DataView(buf.buffer, buf.byteOffset, length)
  v.setUint32(S_OFF_SEQ, p.seq >>> 0)
  writeNtp(v, S_OFF_TIMESTAMP, p.timestampMs)
  v.setUint16(S_OFF_ERROR_EST, p.errorEstimate & 0xffff)
  buf.fill(0, S_HEADER_BYTES, length)
  return length
}

/** Parses a sender test packet; undefined when too short. */
export function decodeSenderPacket(bytes: Uint8Array, length = bytes.length): SenderPacket | undefined {
  if (length < S_HEADER_BYTES || length > bytes.length) return undefined
  const v = new DataView(bytes.buffer, bytes.byteOffset, length)
  return { seq: v.getUint32(S_OFF_SEQ), timestampMs: readNtp(v, S_OFF_TIMESTAMP), errorEstimate: v.getUint16(S_OFF_ERROR_EST), length }
}

/** Writes a reflector packet of `length` bytes (zero padding) into `buf`; returns the length. */
export function encodeReflectorPacket(buf: Uint8Array, p: Omit<ReflectorPacket, 'length'>, length = R_HEADER_BYTES): number {
  if (length < R_HEADER_BYTES || length > buf.length) throw new RangeError(`reflector packet length ${length} outside [${R_HEADER_BYTES}, ${buf.length}]`)
  const v = new DataView(buf.buffer, buf.byteOffset, length)
  v.setUint32(R_OFF_SEQ, p.seq >>> 0)
  writeNtp(v, R_OFF_TIMESTAMP, p.timestampMs)
  v.setUint16(R_OFF_ERROR_EST, p.errorEstimate & 0xffff)
  v.setUint16(R_OFF_MBZ1, 0)
  writeNtp(v, R_OFF_RX_TIMESTAMP, p.rxTimestampMs)
  v.setUint32(R_OFF_SENDER_SEQ, p.senderSeq >>> 0)
  writeNtp(v, R_OFF_SENDER_TIMESTAMP, p.senderTimestampMs)
  v.setUint16(R_OFF_SENDER_ERROR_EST, p.senderErrorEstimate & 0xffff)
  v.setUint16(R_OFF_MBZ2, 0)
  v.setUint8(R_OFF_SENDER_TTL, p.senderTtl & 0xff)
  buf.fill(0, R_HEADER_BYTES, length)
  return length
}

/** Parses a reflector packet; undefined when too short. */
export function decodeReflectorPacket(bytes: Uint8Array, length = bytes.length): ReflectorPacket | undefined {
  if (length < R_HEADER_BYTES || length > bytes.length) return undefined
  const v = new DataView(bytes.buffer, bytes.byteOffset, length)
  return {
    seq: v.getUint32(R_OFF_SEQ),
    timestampMs: readNtp(v, R_OFF_TIMESTAMP),
    errorEstimate: v.getUint16(R_OFF_ERROR_EST),
    rxTimestampMs: readNtp(v, R_OFF_RX_TIMESTAMP),
    senderSeq: v.getUint32(R_OFF_SENDER_SEQ),
    senderTimestampMs: readNtp(v, R_OFF_SENDER_TIMESTAMP),
    senderErrorEstimate: v.getUint16(R_OFF_SENDER_ERROR_EST),
    senderTtl: v.getUint8(R_OFF_SENDER_TTL),
    length,
  }
}
