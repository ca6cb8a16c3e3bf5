/**
 * A sans-IO ICMP echo codec (RFC 792) for the origin prober: build an echo
 * request with its checksum into a caller's buffer, and parse what a raw
 * IPv4 ICMP socket returns (the IPv4 header is included on Linux and is
 * skipped here). Malformed input gives undefined, never an exception.
 *
 *   0 type (8 request, 0 reply)  1 code (0)  2 checksum (u16)
 *   4 identifier (u16)  6 sequence (u16)  8 payload
 */

import { internetChecksum } from '../l3/checksum.js'

export const ICMP_ECHO_REQUEST = 8
export const ICMP_ECHO_REPLY = 0
export const ICMP_OFF_TYPE = 0
export const ICMP_OFF_CODE = 1
export const ICMP_OFF_CHECKSUM = 2
export const ICMP_OFF_ID = 4
export const ICMP_OFF_SEQ = 6
export const ICMP_HEADER_BYTES = 8
const IPV4_MIN_HEADER_BYTES = 20

/**
 * Writes the echo header (ICMP and ICMPv6 share it) with a zero checksum at
 * the start of `buf`, once sure the whole `len`-byte message fits.
 */
function writeEchoHeader(buf: Uint8Array, len: number, type: number, id: number, seq: number): void {
  if (len > buf.length) throw new RangeError(`echo request of ${len} bytes does not fit a ${buf.length}-byte buffer`)
  buf[ICMP_OFF_TYPE] = type
  buf[ICMP_OFF_CODE] = 0
  buf[ICMP_OFF_CHECKSUM] = 0
  buf[ICMP_OFF_CHECKSUM + 1] = 0
  buf[ICMP_OFF_ID] = (id >>> 8) & 0xff
  buf[ICMP_OFF_ID + 1] = id & 0xff
  buf[ICMP_OFF_SEQ] = (seq >>> 8) & 0xff
  buf[ICMP_OFF_SEQ + 1] = seq & 0xff
}

/** Writes an echo request into `buf` and returns its length (8 + payload length). */
export function buildEchoRequest(buf: Uint8Array, id: number, seq: number, payload?: Uint8Array): number {
  const len = ICMP_HEADER_BYTES + (payload?.length ?? 0)
  writeEchoHeader(buf, len, ICMP_ECHO_REQUEST, id, seq)
  if (payload) buf.set(payload, ICMP_HEADER_BYTES)
  const c = internetChecksum(buf, 0, len)
  buf[ICMP_OFF_CHECKSUM] = c >>> 8
  buf[ICMP_OFF_CHECKSUM + 1] = c & 0xff
  return len
}

export interface EchoMessage {
  type: number
  code: number
  id: number
  seq: number
  /** Offset of the ICMP payload in the bytes given. */
  payloadOffset: number
  payloadLength: number
}

/**
 * Parses an ICMP echo message (request or reply), with or without a leading
 * IPv4 header. Undefined when truncated, not an echo, or the checksum fails.
 */
export function parseEcho(bytes: Uint8Array, length = bytes.length): EchoMessage | undefined {
  if (length > bytes.length) return undefined
  let off = 0
  if (length >= IPV4_MIN_HEADER_BYTES && bytes[0] >> 4 === 4) {
    off = (bytes[0] & 0x0f) * 4
    if (off < IPV4_MIN_HEADER_BYTES) return undefined
  }
  if (length - off < ICMP_HEADER_BYTES) return undefined
  const type = bytes[off + ICMP_OFF_TYPE]
  if (type !== ICMP_ECHO_REPLY && type !== ICMP_ECHO_REQUEST) return undefined
  if (internetChecksum(bytes, off, length) !== 0) return undefined
  return {
    type,
    code: bytes[off + ICMP_OFF_CODE],
    id: (bytes[off + ICMP_OFF_ID] << 8) | bytes[off + ICMP_OFF_ID + 1],
    seq: (bytes[off + ICMP_OFF_SEQ] << 8) | bytes[off + ICMP_OFF_SEQ + 1],
    payloadOffset: off + ICMP_HEADER_BYTES,
    payloadLength: length - off - ICMP_HEADER_BYTES,
  }
}

/** True when `bytes` is a valid echo reply to our request (id, seq). */
export function isEchoReplyTo(bytes: Uint8Array, id: number, seq: number, length = bytes.length): boolean {
  const m = parseEcho(bytes, length)
  return m !== undefined && m.type === ICMP_ECHO_REPLY && m.code === 0 && m.id === (id & 0xffff) && m.seq === (seq & 0xffff)
}

/** ICMPv6 echo types (RFC 4443, section 4): same layout as ICMP's echo, checksum by the kernel. */
export const ICMP6_ECHO_REQUEST = 128
export const ICMP6_ECHO_REPLY = 129

/**
 * Writes an ICMPv6 echo request into `buf` and returns its length. The
 * checksum is left 0: on a raw ICMPv6 socket the kernel fills it in.
 */
export function buildEcho6Request(buf: Uint8Array, id: number, seq: number): number {
  writeEchoHeader(buf, ICMP_HEADER_BYTES, ICMP6_ECHO_REQUEST, id, seq)
  return ICMP_HEADER_BYTES
}

/**
 * Parses an ICMPv6 echo reply as a raw ICMPv6 socket returns it (no IPv6
 * header; the kernel has checked the checksum). Undefined when truncated or
 * anything else (a raw ICMPv6 socket also sees neighbour discovery, errors
 * and other hosts' echoes).
 */
export function parseEcho6Reply(bytes: Uint8Array, length = bytes.length): EchoMessage | undefined {
  if (length > bytes.length || length < ICMP_HEADER_BYTES) return undefined
  if (bytes[ICMP_OFF_TYPE] !== ICMP6_ECHO_REPLY || bytes[ICMP_OFF_CODE] !== 0) return undefined
  return {
    type: ICMP6_ECHO_REPLY,
    code: 0,
    id: (bytes[ICMP_OFF_ID] << 8) | bytes[ICMP_OFF_ID + 1],
    seq: (bytes[ICMP_OFF_SEQ] << 8) | bytes[ICMP_OFF_SEQ + 1],
    payloadOffset: ICMP_HEADER_BYTES,
    payloadLength: length - ICMP_HEADER_BYTES,
  }
}
