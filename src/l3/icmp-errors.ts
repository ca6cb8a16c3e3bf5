/**
 * ICMP errors the overlay itself must originate, because it acts as one
 * router hop between the client and the origin:
 *   - IPv4 Destination Unreachable / Fragmentation Needed (type 3 code 4,
 *     RFC 1191) and ICMPv6 Packet Too Big (type 2, RFC 4443 3.2) for packets
 *     larger than the TUN MTU that may not be fragmented (mtu.ts);
 *   - IPv4 Time Exceeded (type 11 code 0) and ICMPv6 Time Exceeded (type 3
 *     code 0) for packets whose TTL/hop limit ran out (ttl.ts).
 *
 * The error is written into a caller buffer (which must not overlap the
 * offending packet), from the relay's own address to the offending packet's
 * source, quoting as much of the packet as the RFCs allow: an IPv4 error
 * stays within 576 bytes (RFC 1812 4.3.2.3), an IPv6 one within the minimum
 * MTU of 1280 (RFC 4443 2.4 c). Checksums are complete; ICMPv6's covers the
 * pseudo-header.
 *
 * Errors are refused (negative IcmpRefusal, counted by the caller) where
 * RFC 1122 3.2.2 / RFC 1812 4.3.2.7 / RFC 4443 2.4 e forbid them: about an
 * ICMP error, about a non-first fragment, to a source that is not one host
 * (unspecified, loopback, multicast, broadcast), and (except IPv6 Packet Too
 * Big) about a packet sent to multicast or broadcast. That keeps two relays
 * from answering each other's errors forever.
 */
import { copyBytes } from './bytes.js'
import { internetChecksum, sumWords, foldSum } from './checksum.js'
import type { IpPacket } from './ip-packet.js'
import { PROTO_ICMP, PROTO_ICMPV6 } from './ip-packet.js'

export const ICMPV4_MAX_ERROR_LEN = 576
export const ICMPV6_MAX_ERROR_LEN = 1280
const ICMP_HEADER_LEN = 8
const V4_HEADER_LEN = 20
const V6_HEADER_LEN = 40
/** TTL / hop limit of the errors we originate (the usual host default). */
export const ICMP_ERROR_TTL = 64
/** Precedence "internetwork control", which RFC 1812 4.3.2.5 asks for on ICMP errors. */
const TOS_INTERNETWORK_CONTROL = 0xc0

export const ICMPV4_DEST_UNREACH = 3
export const ICMPV4_CODE_FRAG_NEEDED = 4
export const ICMPV4_TIME_EXCEEDED = 11
export const ICMPV6_PACKET_TOO_BIG = 2
export const ICMPV6_TIME_EXCEEDED = 3

/** Why no error was generated. Negative so they never collide with a length. */
export const enum IcmpRefusal {
  AboutIcmpError = -1,
  NonFirstFragment = -2,
  SourceNotHost = -3,
  MulticastDestination = -4,
  BufferTooSmall = -5,
  FamilyMismatch = -6,
}

export const ICMP_REFUSAL_NAMES: Record<number, string> = {
  [-1]: 'about_icmp_error',
  [-2]: 'non_first_fragment',
  [-3]: 'source_not_host',
  [-4]: 'multicast_destination',
  [-5]: 'buffer_too_small',
  [-6]: 'family_mismatch',
}

/** ICMPv4 error types (RFC 792/1812); like Linux, unknown types count as errors so we never answer them. */
function isIcmpv4Error(type: number): boolean {
  return type < 0 || type === 3 || type === 4 || type === 5 || type === 11 || type === 12 || type > 18
}

/**
 * Whether an ICMP error about this packet is allowed: 0, or a negative
 * IcmpRefusal. `tooBig` selects the Packet Too Big exception for IPv6
 * multicast destinations (RFC 4443 2.4 e.3).
 */
export function icmpErrorAllowed(buf: Uint8Array, pkt: IpPacket, tooBig: boolean): number {
  if (pkt.fragOffset !== 0) return IcmpRefusal.NonFirstFragment
  if (pkt.version === 4) {
    if (pkt.protocol === PROTO_ICMP && isIcmpv4Error(pkt.icmpType)) return IcmpRefusal.AboutIcmpError
    const s = pkt.src4 >>> 24
    // 0/8 "this network", 127/8 loopback, 224/4 multicast, 240/4 reserved and 255.255.255.255.
    if (s === 0 || s === 127 || s >= 224) return IcmpRefusal.SourceNotHost
    if (pkt.dst4 >>> 28 >= 14) return IcmpRefusal.MulticastDestination
    return 0
  }
  // ICMPv6 types below 128 are errors (RFC 4443 2.1); a missing type is treated as one.
  if (pkt.protocol === PROTO_ICMPV6 && pkt.icmpType < 128) return IcmpRefusal.AboutIcmpError
  const s = pkt.srcOffset
  if (buf[s] === 0xff) return IcmpRefusal.SourceNotHost
  let zeroPrefix = true
  for (let i = 0; i < 15; i++) if (buf[s + i] !== 0) zeroPrefix = false
  if (zeroPrefix && buf[s + 15] <= 1) return IcmpRefusal.SourceNotHost // :: and ::1
  if (!tooBig && buf[pkt.dstOffset] === 0xff) return IcmpRefusal.MulticastDestination
  return 0
}

/** IPv4 Fragmentation Needed (3/4) with the next-hop MTU. Returns the error's length or a negative IcmpRefusal. */
export function icmpv4FragNeeded(out: Uint8Array, outOff: number, buf: Uint8Array, pkt: IpPacket, relayAddr: Uint8Array, mtu: number): number {
  return buildV4(out, outOff, buf, pkt, relayAddr, ICMPV4_DEST_UNREACH, ICMPV4_CODE_FRAG_NEEDED, mtu & 0xffff)
}

/** IPv4 Time Exceeded in transit (11/0). */
export function icmpv4TimeExceeded(out: Uint8Array, outOff: number, buf: Uint8Array, pkt: IpPacket, relayAddr: Uint8Array): number {
  return buildV4(out, outOff, buf, pkt, relayAddr, ICMPV4_TIME_EXCEEDED, 0, 0)
}

/** ICMPv6 Packet Too Big (2/0) with the MTU. */
export function icmpv6PacketTooBig(out: Uint8Array, outOff: number, buf: Uint8Array, pkt: IpPacket, relayAddr: Uint8Array, mtu: number): number {
  return buildV6(out, outOff, buf, pkt, relayAddr, ICMPV6_PACKET_TOO_BIG, 0, mtu >>> 0)
}

/** ICMPv6 Time Exceeded, hop limit exceeded in transit (3/0). */
export function icmpv6TimeExceeded(out: Uint8Array, outOff: number, buf: Uint8Array, pkt: IpPacket, relayAddr: Uint8Array): number {
  return buildV6(out, outOff, buf, pkt, relayAddr, ICMPV6_TIME_EXCEEDED, 0, 0)
}

/** Too-big error for either family (Fragmentation Needed or Packet Too Big). `relayAddr` must match the packet's family. */
export function buildTooBig(out: Uint8Array, outOff: number, buf: Uint8Array, pkt: IpPacket, relayAddr: Uint8Array, mtu: number): number {
  return pkt.version === 4
    ? icmpv4FragNeeded(out, outOff, buf, pkt, relayAddr, mtu)
    : icmpv6PacketTooBig(out, outOff, buf, pkt, relayAddr, mtu)
}

/** Time Exceeded for either family. */
export function buildTimeExceeded(out: Uint8Array, outOff: number, buf: Uint8Array, pkt: IpPacket, relayAddr: Uint8Array): number {
  return pkt.version === 4
    ? icmpv4TimeExceeded(out, outOff, buf, pkt, relayAddr)
    : icmpv6TimeExceeded(out, outOff, buf, pkt, relayAddr)
}

/** How many bytes of the packet to quote: as many as fit in `limit`, at least its headers + 8 (or all of it). */
function quoteLength(out: Uint8Array, outOff: number, pkt: IpPacket, headers: number, limit: number): number {
  const quote = Math.min(pkt.totalLen, limit - headers, out.length - outOff - headers)
  const minimum = Math.min(pkt.totalLen, pkt.l4Offset - pkt.offset + 8)
  return quote < minimum ? IcmpRefusal.BufferTooSmall : quote
}

function buildV4(out: Uint8Array, o: number, buf: Uint8Array, pkt: IpPacket, relayAddr: Uint8Array, type: number, code: number, word: number): number {
  if (pkt.version !== 4 || relayAddr.length !== 4) return IcmpRefusal.FamilyMismatch
  const allowed = icmpErrorAllowed(buf, pkt, type === ICMPV4_DEST_UNREACH)
  if (allowed < 0) return allowed
  const headers = V4_HEADER_LEN + ICMP_HEADER_LEN
  const quote = quoteLength(out, o, pkt, headers, ICMPV4_MAX_ERROR_LEN)
  if (quote < 0) return quote
  const total = headers + quote
  out[o] = 0x45
  out[o + 1] = TOS_INTERNETWORK_CONTROL
  out[o + 2] = total >> 8
  out[o + 3] = total & 0xff
  out.fill(0, o + 4, o + 8) // identification, flags, fragment offset
  out[o + 8] = ICMP_ERROR_TTL
  out[o + 9] = PROTO_ICMP
  out[o + 10] = 0
  out[o + 11] = 0
  out.set(relayAddr, o + 12)
  copyBytes(buf, pkt.srcOffset, pkt.srcOffset + 4, out, o + 16)
  const ip = internetChecksum(out, o, o + V4_HEADER_LEN)
  out[o + 10] = ip >> 8
  out[o + 11] = ip & 0xff
  const m = o + V4_HEADER_LEN
  writeIcmpHeader(out, m, type, code, word)
  copyBytes(buf, pkt.offset, pkt.offset + quote, out, m + ICMP_HEADER_LEN)
  const c = internetChecksum(out, m, o + total)
  out[m + 2] = c >> 8
  out[m + 3] = c & 0xff
  return total
}

function buildV6(out: Uint8Array, o: number, buf: Uint8Array, pkt: IpPacket, relayAddr: Uint8Array, type: number, code: number, word: number): number {
  if (pkt.version !== 6 || relayAddr.length !== 16) return IcmpRefusal.FamilyMismatch
  const allowed = icmpErrorAllowed(buf, pkt, type === ICMPV6_PACKET_TOO_BIG)
  if (allowed < 0) return allowed
  const headers = V6_HEADER_LEN + ICMP_HEADER_LEN
  const quote = quoteLength(out, o, pkt, headers, ICMPV6_MAX_ERROR_LEN)
  if (quote < 0) return quote
  const icmpLen = ICMP_HEADER_LEN + quote
  out[o] = 0x60
  out.fill(0, o + 1, o + 4) // traffic class, flow label
  out[o + 4] = icmpLen >> 8
  out[o + 5] = icmpLen & 0xff
  out[o + 6] = PROTO_ICMPV6
  out[o + 7] = ICMP_ERROR_TTL
  out.set(relayAddr, o + 8)
  copyBytes(buf, pkt.srcOffset, pkt.srcOffset + 16, out, o + 24)
  const m = o + V6_HEADER_LEN
  writeIcmpHeader(out, m, type, code, word)
  copyBytes(buf, pkt.offset, pkt.offset + quote, out, m + ICMP_HEADER_LEN)
  // Pseudo-header (RFC 8200 8.1): source, destination, upper-layer length (32 bits), zeros, next header.
  const pseudo = sumWords(out, o + 8, o + 40, 0) + (icmpLen >>> 16) + (icmpLen & 0xffff) + PROTO_ICMPV6
  const c = ~foldSum(sumWords(out, m, m + icmpLen, pseudo)) & 0xffff
  out[m + 2] = c >> 8
  out[m + 3] = c & 0xff
  return V6_HEADER_LEN + icmpLen
}

/** Type, code, zero checksum, then the 32-bit word (MTU, or unused = 0). */
function writeIcmpHeader(out: Uint8Array, m: number, type: number, code: number, word: number): void {
  out[m] = type
  out[m + 1] = code
  out[m + 2] = 0
  out[m + 3] = 0
  out[m + 4] = (word >>> 24) & 0xff
  out[m + 5] = (word >>> 16) & 0xff
  out[m + 6] = (word >>> 8) & 0xff
  out[m + 7] = word & 0xff
}
