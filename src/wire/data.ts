/**
 * The inner header of a data packet: the first bytes of the plaintext inside
 * a transport packet (see outer.ts). Fixed layout, big-endian, read at named
 * offsets; docs/wire-format.md is the byte-by-byte reference.
 *
 *   0      1      2      3      4      5..7      8            12          16          20
 *   +------+------+------+------+------+---------+------------+-----------+-----------+----------+
 *   | kind | flags| hops | plen | pidx | stamp/0 | service id | flow id   | sequence  | path ... |
 *   +------+------+------+------+------+---------+------------+-----------+-----------+----------+
 *
 * path: `plen` relay ids (u32), first = the relay that wrote the packet
 * (ingress for forward packets, exit for replies), last = its destination.
 * `pidx` is the index in path of the relay the packet is being sent to; a
 * relay that receives a packet checks path[pidx] is itself, and forwards to
 * path[pidx + 1] with no route lookup. The index only moves forward, so
 * disagreeing routing state can never loop a packet.
 *
 * With FLAG_STAMPED, bytes 5..7 (otherwise reserved, zero) hold the writer's
 * send time: its monotonic clock in STAMP_UNIT_US units, modulo 2^24 (wraps
 * every ~168 s). Only differences against the receiver's clock, compared with
 * the map's summed pseudo delays, are ever used (docs/one-way-latency.md), so
 * the clocks need no sync and the wrap needs only modular arithmetic.
 *
 * With FLAG_CLIENT_ADDR, a client-address extension follows the path:
 *   family (4|6) | rsvd | client port u16 | service port u16 | client addr (4|16) | service addr (4|16)
 * The exit needs it only for PROXY protocol delivery.
 */

/** Plaintext kinds (byte 0 of every decrypted transport payload). */
export const KIND_DATA = 1
export const KIND_CONTROL = 2
export const KIND_PROBE = 3
/** A network-version message (rollout/messages.ts): announcements and chunks of the signed network file. */
export const KIND_NETWORK_VERSION = 4

export const FLAG_REPLY = 0x01
export const FLAG_CLIENT_ADDR = 0x02
export const FLAG_REDUNDANT = 0x04
/** Bytes 5..7 carry the writer's send stamp (path reports, docs/routing.md). */
export const FLAG_STAMPED = 0x08
const KNOWN_FLAGS = FLAG_REPLY | FLAG_CLIENT_ADDR | FLAG_REDUNDANT | FLAG_STAMPED

export const OFF_KIND = 0
export const OFF_FLAGS = 1
export const OFF_HOPS = 2
export const OFF_PATH_LEN = 3
export const OFF_PATH_INDEX = 4
/** The 24-bit send stamp (with FLAG_STAMPED). */
export const OFF_STAMP = 5
/** One stamp unit: 10 us, so 24 bits span ~168 s, far more than any path delay. */
export const STAMP_UNIT_US = 10
export const STAMP_MODULUS = 0x1000000
export const OFF_SERVICE = 8
export const OFF_FLOW = 12
export const OFF_SEQ = 16
export const OFF_PATH = 20

export const DATA_FIXED_LEN = 20
/** Longest relay path a packet may carry (ingress, up to 6 transits, exit). */
export const MAX_PATH_RELAYS = 8
export const MIN_PATH_RELAYS = 2
export const CLIENT_ADDR_V4_LEN = 14
export const CLIENT_ADDR_V6_LEN = 38

/** Why a data header was rejected. Negative so they never collide with a length. */
export const enum HeaderError {
  Truncated = -1,
  BadKind = -2,
  BadFlags = -3,
  BadPathLength = -4,
  BadPathIndex = -5,
  BadReserved = -6,
  BadClientAddr = -7,
}

export const HEADER_ERROR_NAMES: Record<number, string> = {
  [-1]: 'truncated',
  [-2]: 'bad_kind',
  [-3]: 'bad_flags',
  [-4]: 'bad_path_length',
  [-5]: 'bad_path_index',
  [-6]: 'bad_reserved',
  [-7]: 'bad_client_addr',
}

/**
 * A reusable view of a parsed header. `decodeDataHeader` fills it in place so
 * the data path allocates nothing per packet; `path` aliases an internal array.
 */
export class DataHeader {
  flags = 0
  hops = 0
  pathLen = 0
  pathIndex = 0
  service = 0
  flow = 0
  seq = 0
  /** The send stamp (FLAG_STAMPED), else 0. */
  stamp = 0
  readonly path = new Uint32Array(MAX_PATH_RELAYS)
  /** Offset of the client-address extension, or -1. */
  clientAddrOffset = -1
  /** Offset of the payload (= header length). */
  payloadOffset = 0
}

/**
 * Parses the data header in buf[0, length). Returns the payload offset, or a
 * negative HeaderError. Never throws, whatever the input.
 */
export function decodeDataHeader(buf: Buffer, length: number, out: DataHeader): number {
  if (length < DATA_FIXED_LEN) return HeaderError.Truncated
  if (buf[OFF_KIND] !== KIND_DATA) return HeaderError.BadKind
  const flags = buf[OFF_FLAGS]
  if ((flags & ~KNOWN_FLAGS) !== 0) return HeaderError.BadFlags
  const stamp = (buf[OFF_STAMP] << 16) | (buf[OFF_STAMP + 1] << 8) | buf[OFF_STAMP + 2]
  if ((flags & FLAG_STAMPED) === 0 && stamp !== 0) return HeaderError.BadReserved
  const pathLen = buf[OFF_PATH_LEN]
  if (pathLen < MIN_PATH_RELAYS || pathLen > MAX_PATH_RELAYS) return HeaderError.BadPathLength
  const pathIndex = buf[OFF_PATH_INDEX]
  if (pathIndex < 1 || pathIndex >= pathLen) return HeaderError.BadPathIndex
  let off = OFF_PATH + 4 * pathLen
  if (length < off) return HeaderError.Truncated
  for (let i = 0; i < pathLen; i++) out.path[i] = buf.readUInt32BE(OFF_PATH + 4 * i)
  out.clientAddrOffset = -1
  if ((flags & FLAG_CLIENT_ADDR) !== 0) {
    if (length < off + 1) return HeaderError.Truncated
    const family = buf[off]
    const extLen = family === 4 ? CLIENT_ADDR_V4_LEN : family === 6 ? CLIENT_ADDR_V6_LEN : 0
    if (extLen === 0) return HeaderError.BadClientAddr
    if (length < off + extLen) return HeaderError.Truncated
    out.clientAddrOffset = off
    off += extLen
  }
  out.flags = flags
  out.hops = buf[OFF_HOPS]
  out.pathLen = pathLen
  out.pathIndex = pathIndex
  out.service = buf.readUInt32BE(OFF_SERVICE)
  out.flow = buf.readUInt32BE(OFF_FLOW)
  out.seq = buf.readUInt32BE(OFF_SEQ)
  out.stamp = stamp
  out.payloadOffset = off
  return off
}

/**
 * Writes a data header at buf[0]. `path` holds pathLen relay ids; the packet
 * is addressed to path[1]. Returns the payload offset. `clientAddr` (already
 * encoded by encodeClientAddr) is copied after the path when given.
 */
export function encodeDataHeader(
  buf: Buffer,
  flags: number,
  hops: number,
  service: number,
  flow: number,
  seq: number,
  path: Uint32Array,
  pathLen: number,
  clientAddr?: Buffer,
): number {
  buf[OFF_KIND] = KIND_DATA
  buf[OFF_FLAGS] = (clientAddr ? flags | FLAG_CLIENT_ADDR : flags & ~FLAG_CLIENT_ADDR) & ~FLAG_STAMPED
  buf[OFF_HOPS] = hops
  buf[OFF_PATH_LEN] = pathLen
  buf[OFF_PATH_INDEX] = 1
  buf[5] = 0
  buf[6] = 0
  buf[7] = 0
  buf.writeUInt32BE(service >>> 0, OFF_SERVICE)
  buf.writeUInt32BE(flow >>> 0, OFF_FLOW)
  buf.writeUInt32BE(seq >>> 0, OFF_SEQ)
  let off = OFF_PATH
  for (let i = 0; i < pathLen; i++, off += 4) buf.writeUInt32BE(path[i], off)
  if (clientAddr) off += clientAddr.copy(buf, off)
  return off
}

/** Length of the data header for a path of `pathLen` relays and an optional extension. */
export function dataHeaderLen(pathLen: number, clientAddrLen = 0): number {
  return DATA_FIXED_LEN + 4 * pathLen + clientAddrLen
}

/** The send stamp of a clock reading (ms): STAMP_UNIT_US units modulo 2^24. */
export function sendStamp(nowMs: number): number {
  return Math.floor((nowMs * 1000) / STAMP_UNIT_US) & (STAMP_MODULUS - 1)
}

/** Sets FLAG_STAMPED and writes `stamp` (from sendStamp) into a header encodeDataHeader wrote. */
export function writeSendStamp(buf: Buffer, stamp: number): void {
  buf[OFF_FLAGS] |= FLAG_STAMPED
  buf[OFF_STAMP] = (stamp >>> 16) & 0xff
  buf[OFF_STAMP + 1] = (stamp >>> 8) & 0xff
  buf[OFF_STAMP + 2] = stamp & 0xff
}

/** a - b modulo 2^24 as a signed number of stamp units in [-2^23, 2^23). */
export function stampDiff(a: number, b: number): number {
  const d = (a - b) & (STAMP_MODULUS - 1)
  return d >= STAMP_MODULUS / 2 ? d - STAMP_MODULUS : d
}
