/**
 * IPv4 and IPv6 header parsing for L3 mode: the first thing the data plane
 * does with every packet read from a TUN device (and the last check at the
 * exit). It reads fixed offsets into a reusable `IpPacket` view and returns
 * a negative `IpError` for anything malformed, so the caller can drop and
 * count by reason (`IP_ERROR_NAMES`) without allocating or throwing.
 *
 * Addresses are not copied: the view holds their offsets in the buffer, so
 * the flow key and the prefix table read them in place.
 */
import { foldSum, sumWords } from './checksum.js'

export const IPV4_MIN_HEADER_LEN = 20
export const IPV6_HEADER_LEN = 40
/** Most bytes an IPv4 datagram (or a reassembled fragment series) may have. */
export const IPV4_MAX_PACKET = 65535

export const PROTO_ICMP = 1
export const PROTO_TCP = 6
export const PROTO_UDP = 17
export const PROTO_DCCP = 33
export const PROTO_ICMPV6 = 58
export const PROTO_SCTP = 132
export const PROTO_UDPLITE = 136

/** IPv4 header offsets (relative to the header start). */
export const V4_OFF_TOTAL_LEN = 2
export const V4_OFF_ID = 4
export const V4_OFF_FLAGS_FRAG = 6
export const V4_OFF_TTL = 8
export const V4_OFF_PROTOCOL = 9
export const V4_OFF_CHECKSUM = 10
export const V4_OFF_SRC = 12
export const V4_OFF_DST = 16
export const V4_FLAG_DF = 0x4000
export const V4_FLAG_MF = 0x2000
export const V4_FRAG_OFFSET_MASK = 0x1fff

/** IPv6 header offsets (relative to the header start). */
export const V6_OFF_PAYLOAD_LEN = 4
export const V6_OFF_NEXT_HEADER = 6
export const V6_OFF_HOP_LIMIT = 7
export const V6_OFF_SRC = 8
export const V6_OFF_DST = 24

/** IPv6 extension headers we walk through (RFC 8200 section 4, RFC 7045). */
const EXT_HOP_BY_HOP = 0
const EXT_ROUTING = 43
const EXT_FRAGMENT = 44
const EXT_AH = 51
const EXT_DEST_OPTS = 60
const EXT_MOBILITY = 135
const EXT_HIP = 139
const EXT_SHIM6 = 140
const V6_FRAGMENT_HEADER_LEN = 8
/** A longer chain is either an attack or a bug; no sane sender needs more. */
export const MAX_EXTENSION_HEADERS = 8

/** Why a packet was rejected. Negative so they never collide with a length. */
export const enum IpError {
  Truncated = -1,
  BadVersion = -2,
  BadIhl = -3,
  BadTotalLength = -4,
  BadChecksum = -5,
  BadFragment = -6,
  BadExtensionHeader = -7,
  TooManyExtensionHeaders = -8,
  TruncatedTransport = -9,
}

export const IP_ERROR_NAMES: Record<number, string> = {
  [-1]: 'truncated',
  [-2]: 'bad_version',
  [-3]: 'bad_ihl',
  [-4]: 'bad_total_length',
  [-5]: 'bad_checksum',
  [-6]: 'bad_fragment',
  [-7]: 'bad_extension_header',
  [-8]: 'too_many_extension_headers',
  [-9]: 'truncated_transport',
}

/** Protocols whose header starts with 16-bit source and destination ports. */
export function hasPorts(protocol: number): boolean {
  return (
    protocol === PROTO_TCP ||
    protocol === PROTO_UDP ||
    protocol === PROTO_SCTP ||
    protocol === PROTO_UDPLITE ||
    protocol === PROTO_DCCP
  )
}

/**
 * A reusable view of one parsed packet. `parseIpPacket` overwrites every
 * field, so one instance serves the whole data path. Offsets are absolute
 * (into the buffer that was parsed). Fields meaningless for a packet hold
 * their zero value: -1 for offsets/ports/types, 0 or false otherwise.
 */
export class IpPacket {
  /** 4 or 6. */
  version = 0
  /** Where the IP header starts in the buffer. */
  offset = 0
  /** Bytes of this IP packet (IPv4 total length, or 40 + IPv6 payload length). Buffer bytes after it are not part of it. */
  totalLen = 0
  /** IPv4: IHL x 4. IPv6: 40 + the extension headers walked, i.e. l4Offset - offset. */
  headerLen = 0
  /** Absolute offset of the upper-layer header; for non-first fragments, of the fragment's data. */
  l4Offset = 0
  /** Upper-layer protocol (IPv6: the last Next Header of the walked chain). */
  protocol = 0
  /** TTL or hop limit as received. */
  ttl = 0
  /** IPv4 Don't Fragment. Always false for IPv6 (which routers never fragment; see mtu.ts). */
  dontFragment = false
  /** True for any fragment (MF set or offset != 0). An IPv6 atomic fragment (offset 0, M 0) is not one. */
  isFragment = false
  moreFragments = false
  /** Fragment offset in bytes. */
  fragOffset = 0
  /** IPv4 identification (16 bits) or IPv6 fragment identification (32 bits). */
  fragId = 0
  /** IPv6: absolute offset of the Fragment header, else -1. */
  fragHeaderOffset = -1
  srcOffset = 0
  dstOffset = 0
  /** 4 or 16. */
  addrLen = 0
  /** IPv4 addresses as unsigned 32-bit numbers (0 for IPv6). */
  src4 = 0
  dst4 = 0
  /** Ports when the protocol has them and this is the first (or only) fragment, else -1. */
  srcPort = -1
  dstPort = -1
  /** ICMP / ICMPv6 message type when present in this packet, else -1. */
  icmpType = -1
}

/**
 * Parses the IP packet at buf[offset, offset + length). Returns its total
 * length (> 0), or a negative IpError. Never throws, whatever the input.
 */
export function parseIpPacket(buf: Uint8Array, offset: number, length: number, out: IpPacket): number {
  if (length < 1) return IpError.Truncated
  const version = buf[offset] >> 4
  if (version === 4) return parseV4(buf, offset, length, out)
  if (version === 6) return parseV6(buf, offset, length, out)
  return IpError.BadVersion
}

function parseV4(buf: Uint8Array, off: number, length: number, out: IpPacket): number {
  if (length < IPV4_MIN_HEADER_LEN) return IpError.Truncated
  const ihl = buf[off] & 0x0f
  if (ihl < 5) return IpError.BadIhl
  const hl = ihl * 4
  if (hl > length) return IpError.Truncated
  const total = (buf[off + V4_OFF_TOTAL_LEN] << 8) | buf[off + V4_OFF_TOTAL_LEN + 1]
  if (total < hl) return IpError.BadTotalLength
  if (total > length) return IpError.Truncated
  // A correct header sums to 0xffff, checksum field included.
  if (foldSum(sumWords(buf, off, off + hl, 0)) !== 0xffff) return IpError.BadChecksum
  const flagsFrag = (buf[off + V4_OFF_FLAGS_FRAG] << 8) | buf[off + V4_OFF_FLAGS_FRAG + 1]
  const mf = (flagsFrag & V4_FLAG_MF) !== 0
  const fragOffset = (flagsFrag & V4_FRAG_OFFSET_MASK) * 8
  const dataLen = total - hl
  // RFC 791: every fragment but the last carries a non-empty multiple of 8 bytes, and the series fits 64 KiB.
  if (mf && (dataLen === 0 || (dataLen & 7) !== 0)) return IpError.BadFragment
  if (fragOffset + dataLen > IPV4_MAX_PACKET) return IpError.BadFragment
  const protocol = buf[off + V4_OFF_PROTOCOL]
  // RFC 1858: a TCP fragment at offset 8 can only serve to overwrite the TCP flags past a filter.
  if (protocol === PROTO_TCP && fragOffset === 8) return IpError.BadFragment
  out.version = 4
  out.offset = off
  out.totalLen = total
  out.headerLen = hl
  out.l4Offset = off + hl
  out.protocol = protocol
  out.ttl = buf[off + V4_OFF_TTL]
  out.dontFragment = (flagsFrag & V4_FLAG_DF) !== 0
  out.moreFragments = mf
  out.fragOffset = fragOffset
  out.isFragment = mf || fragOffset !== 0
  out.fragId = (buf[off + V4_OFF_ID] << 8) | buf[off + V4_OFF_ID + 1]
  out.fragHeaderOffset = -1
  out.srcOffset = off + V4_OFF_SRC
  out.dstOffset = off + V4_OFF_DST
  out.addrLen = 4
  out.src4 = readU32(buf, off + V4_OFF_SRC)
  out.dst4 = readU32(buf, off + V4_OFF_DST)
  return readTransport(buf, off + hl, off + total, fragOffset === 0, out)
}

function parseV6(buf: Uint8Array, off: number, length: number, out: IpPacket): number {
  if (length < IPV6_HEADER_LEN) return IpError.Truncated
  const total = IPV6_HEADER_LEN + ((buf[off + V6_OFF_PAYLOAD_LEN] << 8) | buf[off + V6_OFF_PAYLOAD_LEN + 1])
  if (total > length) return IpError.Truncated
  const end = off + total
  let nh = buf[off + V6_OFF_NEXT_HEADER]
  let p = off + IPV6_HEADER_LEN
  let count = 0
  let fragHeader = -1
  let fragOffset = 0
  let mf = false
  let fragId = 0
  for (;;) {
    let len: number
    if (nh === EXT_FRAGMENT) {
      // A second Fragment header is never valid (RFC 8200 section 4.1).
      if (fragHeader >= 0) return IpError.BadExtensionHeader
      if (p + V6_FRAGMENT_HEADER_LEN > end) return IpError.Truncated
      fragHeader = p
      const word = (buf[p + 2] << 8) | buf[p + 3]
      fragOffset = word & 0xfff8
      mf = (word & 1) !== 0
      fragId = readU32(buf, p + 4)
      len = V6_FRAGMENT_HEADER_LEN
    } else if (
      nh === EXT_HOP_BY_HOP ||
      nh === EXT_ROUTING ||
      nh === EXT_DEST_OPTS ||
      nh === EXT_MOBILITY ||
      nh === EXT_HIP ||
      nh === EXT_SHIM6
    ) {
      // Hop-by-Hop Options may only follow the IPv6 header itself.
      if (nh === EXT_HOP_BY_HOP && count !== 0) return IpError.BadExtensionHeader
      if (p + 2 > end) return IpError.Truncated
      len = (buf[p + 1] + 1) * 8
    } else if (nh === EXT_AH) {
      if (p + 2 > end) return IpError.Truncated
      len = (buf[p + 1] + 2) * 4
    } else {
      break // upper layer, No Next Header (59), ESP (50) or unknown: its bytes are payload
    }
    if (p + len > end) return IpError.Truncated
    if (++count > MAX_EXTENSION_HEADERS) return IpError.TooManyExtensionHeaders
    nh = buf[p]
    p += len
    // After the Fragment header of a non-first fragment comes fragment data, not headers.
    if (fragHeader >= 0 && fragOffset !== 0) break
  }
  if (fragHeader >= 0) {
    const dataLen = end - (fragHeader + V6_FRAGMENT_HEADER_LEN)
    if (mf && (dataLen === 0 || (dataLen & 7) !== 0)) return IpError.BadFragment
    if (fragOffset + dataLen > IPV4_MAX_PACKET) return IpError.BadFragment
  }
  out.version = 6
  out.offset = off
  out.totalLen = total
  out.headerLen = p - off
  out.l4Offset = p
  out.protocol = nh
  out.ttl = buf[off + V6_OFF_HOP_LIMIT]
  out.dontFragment = false
  out.moreFragments = mf
  out.fragOffset = fragOffset
  out.isFragment = mf || fragOffset !== 0
  out.fragId = fragId
  out.fragHeaderOffset = fragHeader
  out.srcOffset = off + V6_OFF_SRC
  out.dstOffset = off + V6_OFF_DST
  out.addrLen = 16
  out.src4 = 0
  out.dst4 = 0
  return readTransport(buf, p, end, fragOffset === 0, out)
}

/** Reads ports or the ICMP type from the upper-layer header when this packet carries it. */
function readTransport(buf: Uint8Array, l4: number, end: number, first: boolean, out: IpPacket): number {
  out.srcPort = -1
  out.dstPort = -1
  out.icmpType = -1
  if (first) {
    const protocol = out.protocol
    if (hasPorts(protocol)) {
      // RFC 1858 / RFC 7112: a first fragment too short to name its ports cannot be classified or filtered.
      if (l4 + 4 > end) return IpError.TruncatedTransport
      out.srcPort = (buf[l4] << 8) | buf[l4 + 1]
      out.dstPort = (buf[l4 + 2] << 8) | buf[l4 + 3]
    } else if ((protocol === PROTO_ICMP && out.version === 4) || (protocol === PROTO_ICMPV6 && out.version === 6)) {
      if (l4 < end) out.icmpType = buf[l4]
    }
  }
  return out.totalLen
}

export function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0
}
