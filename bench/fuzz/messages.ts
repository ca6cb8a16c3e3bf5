/**
 * Generators of valid (or nearly valid) messages for every parser the fuzzer
 * feeds, drawn from a seeded Rng. Each builds what a correct sender would
 * send; the runner then mutates it (mutate.ts), so inputs reach past the
 * first length, version and checksum checks.
 */
import { Packr } from 'msgpackr'
import { encodeClientAddr } from '../../src/wire/client-addr.js'
import { FLAG_CLIENT_ADDR, FLAG_REDUNDANT, FLAG_REPLY, KIND_CONTROL, KIND_PROBE, MAX_PATH_RELAYS, encodeDataHeader } from '../../src/wire/data.js'
import { nameId } from '../../src/wire/ids.js'
import { encodeProbe, emptyProbeFields } from '../../src/probe/probe-codec.js'
import { MAP_MSG_TYPE, MAP_MSG_VERSION, RESYNC_MSG_TYPE, type MapUpdate } from '../../src/route/control-message.js'
import { canonicalColumn } from '../../src/route/column-signature.js'
import { foldSum, sumWords } from '../../src/l3/checksum.js'
import { internetChecksum } from '../../src/l3/checksum.js'
import { buildEchoRequest, ICMP_ECHO_REPLY } from '../../src/origin/icmp.js'
import { buildProxyV2Header } from '../../src/dataplane/proxy-protocol.js'
import type { Rng } from './rng.js'

export const RELAYS = ['lax', 'fuz', 'dal', 'sea'] as const
export const SERVICES = ['game', 'pp', 'red', 'dc', 'site'] as const

const SPECIAL_FLOATS = [0, -0, 1, -1, 0.5, 1e-300, 1e300, Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53)]
const SPECIAL_INTS = [0, 1, 2, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, 2 ** 53 - 1]

function anyFloat(rng: Rng): number {
  const r = rng.below(10)
  if (r < 3) return rng.pick(SPECIAL_FLOATS)
  if (r < 6) return rng.float() * 200
  return (rng.float() - 0.5) * 2 ** rng.int(0, 60)
}

function anyU32(rng: Rng): number {
  return rng.chance(0.3) ? rng.pick(SPECIAL_INTS) >>> 0 : rng.u32()
}

export function relayId(rng: Rng): number {
  return rng.chance(0.9) ? nameId(rng.pick(RELAYS)) : rng.u32()
}

// ---- IP packets -------------------------------------------------------------------

const V4_DST = [[10, 200, 0], [10, 101, 0], [10, 9, 9], [224, 0, 0], [255, 255, 255], [127, 0, 0], [0, 0, 0]]
/** The first 8 bytes (a /64) of IPv6 destinations: dc, site, multicast, unspecified, documentation. */
const V6_DST = ['fd00020000000000', 'fd00010100000000', 'ff02000000000000', '0000000000000000', '20010db800000000']
/** Site prefixes of lax (site) and fuz (dc): the L3 source checks accept only these, by sender. */
const V4_SRC = [[10, 101, 0], [10, 200, 0]]
const V6_SRC = ['fd00010100000000', 'fd00020000000000']

/** An IPv4 or IPv6 packet with a correct header (and IPv4 checksum), to one of the fuzz services' prefixes mostly. */
export function ipPacket(rng: Rng): Buffer {
  return rng.chance(0.6) ? ipv4Packet(rng) : ipv6Packet(rng)
}

const PROTOCOLS = [6, 17, 1, 58, 132, 33, 136, 47, 50, 59, 0]

export function ipv4Packet(rng: Rng): Buffer {
  const optionWords = rng.chance(0.8) ? 0 : rng.int(1, 10)
  const hl = 20 + 4 * optionWords
  const payloadLen = rng.chance(0.05) ? rng.int(1300, 3000) : rng.int(0, 120)
  const total = hl + payloadLen
  const b = Buffer.alloc(total)
  b[0] = 0x40 | (hl / 4)
  b[1] = rng.below(256)
  b.writeUInt16BE(total, 2)
  b.writeUInt16BE(rng.below(0x10000), 4)
  const fragBits = rng.chance(0.8) ? 0 : rng.below(0x2000)
  b.writeUInt16BE((rng.chance(0.5) ? 0x4000 : 0) | (rng.chance(0.1) ? 0x2000 : 0) | fragBits, 6)
  b[8] = rng.chance(0.2) ? rng.int(0, 2) : rng.below(256)
  b[9] = rng.pick(PROTOCOLS)
  const dst = rng.pick(rng.chance(0.6) ? V4_DST.slice(0, 2) : V4_DST)
  // Sources: mostly in lax's site (what its TUN may send) or fuz's (what may arrive from fuz), else anything.
  const src = rng.chance(0.8) ? rng.pick(V4_SRC) : [rng.below(256), rng.below(256), rng.below(256)]
  b.set([...src, rng.below(256)], 12)
  b.set([...dst, rng.below(256)], 16)
  rng.fill(b, 20, total)
  if (b[9] === 6 && payloadLen >= 20 && rng.chance(0.5)) tcpSynWithMss(b, hl, payloadLen)
  fixIpv4Checksum(b)
  return b
}

export function ipv6Packet(rng: Rng): Buffer {
  const extLen = rng.chance(0.7) ? 0 : 8 * rng.int(1, 4)
  const payloadLen = rng.chance(0.05) ? rng.int(1300, 3000) : rng.int(0, 120)
  const b = Buffer.alloc(40 + extLen + payloadLen)
  b[0] = 0x60
  b.writeUInt16BE(extLen + payloadLen, 4)
  const proto = rng.pick(PROTOCOLS)
  b[7] = rng.chance(0.2) ? rng.int(0, 2) : rng.below(256)
  rng.fill(b, 8, b.length)
  if (rng.chance(0.8)) b.write(rng.pick(V6_SRC), 8, 'hex')
  b.write(rng.pick(rng.chance(0.6) ? V6_DST.slice(0, 2) : V6_DST), 24, 'hex')
  if (extLen > 0) {
    // One extension header (hop-by-hop, routing, fragment or destination options) covering extLen bytes.
    const kind = rng.pick([0, 43, 44, 60])
    b[6] = kind
    b[40] = proto
    if (kind === 44) {
      b[41] = 0
      b.writeUInt16BE(rng.chance(0.7) ? 0 : rng.below(0x10000) & 0xfff9, 42)
      if (extLen > 8) b[40] = 60 // the rest is a destination-options header
      if (extLen > 8) b[48 + 1] = (extLen - 8) / 8 - 1
      if (extLen > 8) b[48] = proto
    } else b[41] = extLen / 8 - 1
  } else b[6] = proto
  return b
}

function tcpSynWithMss(b: Buffer, l4: number, len: number): void {
  b[l4 + 12] = 0x60 // data offset 6 words: one option word
  b[l4 + 13] = 0x02 // SYN
  if (len >= 24) {
    b[l4 + 20] = 2
    b[l4 + 21] = 4
    b.writeUInt16BE(1460 + (b[l4 + 22] & 0x0f), l4 + 22)
  }
}

/** Rewrites the IPv4 header checksum after a mutation, so the packet gets past the checksum check. */
export function fixIpv4Checksum(b: Buffer): void {
  if (b.length < 20 || b[0] >> 4 !== 4) return
  const hl = (b[0] & 0x0f) * 4
  if (hl < 20 || hl > b.length) return
  b[10] = 0
  b[11] = 0
  const c = ~foldSum(sumWords(b, 0, hl, 0)) & 0xffff
  b[10] = c >> 8
  b[11] = c & 0xff
}

// ---- overlay plaintexts ---------------------------------------------------------------

/** Where a data packet arrives at lax from fuz: path[pidx] = lax, path[pidx - 1] = fuz (mostly). */
export function dataPlain(rng: Rng, service = serviceFor(rng), payload = rng.bytes(rng.int(0, 200))): Buffer {
  const pathLen = rng.int(2, MAX_PATH_RELAYS)
  const path = new Uint32Array(pathLen)
  for (let i = 0; i < pathLen; i++) path[i] = relayId(rng)
  const pidx = rng.int(1, pathLen - 1)
  if (rng.chance(0.9)) {
    path[pidx] = nameId('lax')
    path[pidx - 1] = nameId('fuz')
  }
  let flags = 0
  if (rng.chance(0.3)) flags |= FLAG_REPLY
  if (rng.chance(0.3)) flags |= FLAG_REDUNDANT
  const ext = rng.chance(0.4) ? clientAddr(rng) : undefined
  if (ext === undefined && rng.chance(0.05)) flags |= FLAG_CLIENT_ADDR
  const buf = Buffer.alloc(20 + 4 * MAX_PATH_RELAYS + 38 + payload.length)
  const sid = typeof service === 'number' ? service : nameId(service)
  let off = encodeDataHeader(buf, flags, rng.chance(0.1) ? 0 : rng.int(1, 8), sid, rng.chance(0.5) ? rng.int(0, 20) : rng.u32(), rng.u32(), path, pathLen, ext)
  buf[4] = pidx
  off += payload.copy(buf, off)
  return buf.subarray(0, off)
}

function serviceFor(rng: Rng): string | number {
  return rng.chance(0.95) ? rng.pick(SERVICES) : rng.u32()
}

const V4_ADDRS = ['10.0.0.1', '192.0.2.7', '0.0.0.0', '255.255.255.255', '127.0.0.1']
const V6_ADDRS = ['::1', '::', '2001:db8::5', '::ffff:10.0.0.1', 'fe80::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']

export function clientAddr(rng: Rng): Buffer {
  const v6 = rng.chance(0.4)
  const addrs = v6 ? V6_ADDRS : V4_ADDRS
  return encodeClientAddr({ family: v6 ? 6 : 4, clientAddress: rng.pick(addrs), clientPort: rng.below(0x10000), serviceAddress: rng.pick(addrs), servicePort: rng.below(0x10000) })!
}

export function probePlain(rng: Rng): Buffer {
  const f = emptyProbeFields()
  f.senderId = rng.chance(0.8) ? nameId('fuz') : anyU32(rng)
  f.bootId = rng.chance(0.8) ? 7 : anyU32(rng)
  f.seq = anyU32(rng)
  f.txMs = rng.chance(0.7) ? rng.float() * 1e6 : anyFloat(rng)
  f.hasEcho = rng.chance(0.6)
  f.echoSeq = anyU32(rng)
  f.echoBootId = anyU32(rng)
  f.echoTxMs = anyFloat(rng)
  f.echoRxMs = anyFloat(rng)
  const out = Buffer.alloc(49)
  out[0] = KIND_PROBE
  encodeProbe(out.subarray(1), f)
  return out
}

// ---- control (msgpack) ------------------------------------------------------------------

/** Signs a column's canonical bytes as its origin (crypto/column-signing.ts). */
export interface Signer {
  sign(bytes: Uint8Array): Uint8Array
}

/** Adds `sig` over the canonical column, when the object is shaped enough to have one. */
function signed(m: Record<string, unknown>, signer: Signer): void {
  try {
    m.sig = signer.sign(canonicalColumn(m as unknown as MapUpdate))
  } catch {
    // A hostile field the canonical encoding cannot hold: sent unsigned.
  }
}

/** Packs the way a peer could: any msgpack, ext types included (the decoder must not trust them). */
const anyPackr = new Packr({ structuredClone: true, moreTypes: true })
const plainPackr = new Packr({ useRecords: false, mapsAsObjects: true })

/** A map update or resync request, valid or with some fields replaced by hostile values. */
export function controlObject(rng: Rng): Record<string, unknown> {
  if (rng.chance(0.1)) return { type: RESYNC_MSG_TYPE, v: MAP_MSG_VERSION, origin: rng.chance(0.8) ? 'fuz' : rng.pick(RELAYS) }
  const origin = rng.chance(0.6) ? 'fuz' : rng.pick(RELAYS)
  const edges = Array.from({ length: rng.int(0, 3) }, () => [
    rng.pick(RELAYS), anyFloat(rng), anyFloat(rng), rng.chance(0.3) ? null : anyFloat(rng), rng.chance(0.3) ? null : Math.abs(anyFloat(rng)),
    Math.abs(anyFloat(rng)), rng.float() * 100, rng.chance(0.8),
  ])
  // fuz is an exit of game and dc: their origin tuples from fuz are valid.
  const origins = Array.from({ length: rng.chance(0.5) ? 0 : rng.int(1, 2) }, () => [
    rng.chance(0.9) ? rng.pick(['game', 'dc']) : rng.pick(SERVICES), rng.pick(['twamp', 'icmp']), anyFloat(rng), anyFloat(rng), null, rng.float() * 50, rng.float(), rng.float() * 100, rng.chance(0.8),
  ])
  const m: Record<string, unknown> = {
    type: MAP_MSG_TYPE, v: MAP_MSG_VERSION, origin, boot: rng.chance(0.7) ? 5 : anyU32(rng), seq: rng.chance(0.5) ? rng.int(0, 50) : anyU32(rng),
    edges, origins,
  }
  if (rng.chance(0.5)) m.full = rng.chance(0.5)
  const n = rng.chance(0.5) ? 0 : rng.int(1, 3)
  for (let i = 0; i < n; i++) hostileField(rng, m)
  return m
}

/** Replaces or adds one field (top level, or inside an edge) with a value a strict decoder must reject or ignore. */
function hostileField(rng: Rng, m: Record<string, unknown>): void {
  const value = hostileValue(rng, 0)
  const edges = m.edges
  if (Array.isArray(edges) && edges.length > 0 && rng.chance(0.4)) {
    const e: unknown = rng.pick(edges)
    if (Array.isArray(e)) {
      e[rng.below(e.length + 1)] = value
      return
    }
  }
  const keys = ['type', 'v', 'origin', 'boot', 'seq', 'full', 'edges', 'origins', '__proto__', 'constructor', 'extra']
  m[rng.pick(keys)] = value
}

function hostileValue(rng: Rng, depth: number): unknown {
  switch (rng.below(depth > 3 ? 8 : 11)) {
    case 0: return null
    case 1: return anyFloat(rng)
    case 2: return 'x'.repeat(rng.int(0, 40))
    case 3: return rng.chance(0.5)
    case 4: return rng.bytes(rng.int(0, 16))
    case 5: return BigInt(rng.u32()) * 4294967296n
    case 6: return undefined
    case 7: return new Date(rng.u32())
    case 8: return Array.from({ length: rng.int(0, 4) }, () => hostileValue(rng, depth + 1))
    case 9: return Object.fromEntries(Array.from({ length: rng.int(0, 3) }, (_, i) => [`k${i}`, hostileValue(rng, depth + 1)]))
    default: return new Map([[hostileValue(rng, depth + 1), 1]])
  }
}

/** The kind-2 plaintext: msgpack of a control object (sometimes with ext types), byte-mutated by the caller. */
export function controlPlain(rng: Rng, nextSeq?: () => number, sign?: Signer): Buffer {
  let body: Buffer
  try {
    const obj = controlObject(rng)
    // In sequence now and then, and signed with fuz's key as fuz would, so updates are applied
    // (and flooded on) rather than refused as stale or forged.
    if (nextSeq !== undefined && obj.type === MAP_MSG_TYPE && obj.origin === 'fuz' && rng.chance(0.5)) {
      obj.boot = 5
      obj.seq = nextSeq()
      delete obj.full
    }
    if (sign !== undefined && obj.type === MAP_MSG_TYPE && obj.origin === 'fuz' && rng.chance(0.9)) signed(obj, sign)
    body = rng.chance(0.02) ? cyclic(obj) : (rng.chance(0.8) ? plainPackr : anyPackr).pack(obj)
  } catch {
    // Some hostile objects (a Map as __proto__) cannot even be packed: send the bare type instead.
    body = plainPackr.pack({ type: MAP_MSG_TYPE })
  }
  if (rng.chance(0.03)) body = Buffer.concat([body, msgpackExt(rng)])
  const out = Buffer.alloc(1 + body.length)
  out[0] = KIND_CONTROL
  body.copy(out, 1)
  return out
}

/**
 * A map update that refers to itself, packed with structured-clone
 * extensions as a hostile peer can: a decoder that honours the extensions
 * rebuilds the cycle, and re-packing it (to flood it on) recurses forever.
 */
function cyclic(m: Record<string, unknown>): Buffer {
  m.extra = [m, m]
  return anyPackr.pack(m)
}

/**
 * What makes lax relay fuz's map updates on (route/router.ts, relayAround),
 * so the fuzzed ones reach the relaying code: in-order probes from fuz bring
 * the edge fuz -> lax up, and dal's column (signed with dal's key, as dal
 * would flood it) says lax -> dal is up while fuz -> dal is not.
 */
export class RelayBait {
  private probeSeq = 0
  private dalSeq = 0

  /** `signDal` signs as dal: the bait is what an honest dal would flood, not a forgery. */
  constructor(private readonly signDal: Signer) {}

  probe(nowMs: number): Buffer {
    const f = emptyProbeFields()
    f.senderId = nameId('fuz')
    f.bootId = 7
    f.seq = this.probeSeq++
    f.txMs = nowMs
    const out = Buffer.alloc(49)
    out[0] = KIND_PROBE
    encodeProbe(out.subarray(1), f)
    return out
  }

  dalColumn(): Buffer {
    const m: Record<string, unknown> = { type: MAP_MSG_TYPE, v: MAP_MSG_VERSION, origin: 'dal', boot: 9, seq: this.dalSeq++, full: true, edges: [['lax', 1, 1, 0, 2, 0.1, 0, true]], origins: [] }
    signed(m, this.signDal)
    return Buffer.concat([Buffer.from([KIND_CONTROL]), plainPackr.pack(m)])
  }
}

/** A msgpack ext value of a random type (fixext 1..16 or ext 8), which a strict decoder refuses. */
function msgpackExt(rng: Rng): Buffer {
  const type = rng.chance(0.5) ? rng.pick([0x69, 0x70, 0x72, 0x73, 0x74, 0x78, 0x62, 0xff, 0x00, 0x65]) : rng.below(256)
  const size = rng.pick([1, 2, 4, 8, 16])
  const lead = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 }[size]!
  return Buffer.concat([Buffer.from([lead, type]), rng.bytes(size)])
}

// ---- origin probes ----------------------------------------------------------------------------

/** An ICMP echo reply, with a leading IPv4 header (as a raw socket returns it) or without. */
export function icmpEcho(rng: Rng): Buffer {
  const payload = rng.bytes(rng.int(0, 56))
  const icmp = Buffer.alloc(8 + payload.length)
  buildEchoRequest(icmp, rng.below(0x10000), rng.below(0x10000), payload)
  if (rng.chance(0.8)) {
    icmp[0] = ICMP_ECHO_REPLY
    icmp[2] = 0
    icmp[3] = 0
    const c = internetChecksum(icmp, 0, icmp.length)
    icmp[2] = c >> 8
    icmp[3] = c & 0xff
  }
  if (rng.chance(0.3)) return icmp
  const ip = Buffer.alloc(20 + icmp.length)
  ip[0] = 0x45
  ip.writeUInt16BE(ip.length, 2)
  ip[8] = 64
  ip[9] = 1
  icmp.copy(ip, 20)
  fixIpv4Checksum(ip)
  return ip
}

/** Recomputes the ICMP checksum of an echo (after the IPv4 header, if any) so mutations reach the fields behind it. */
export function fixEchoChecksum(b: Buffer): void {
  const off = b.length >= 20 && b[0] >> 4 === 4 ? (b[0] & 0x0f) * 4 : 0
  if (off + 8 > b.length) return
  b[off + 2] = 0
  b[off + 3] = 0
  const c = internetChecksum(b, off, b.length)
  b[off + 2] = c >> 8
  b[off + 3] = c & 0xff
}

export function proxyHeader(rng: Rng): Buffer {
  const v6 = rng.chance(0.4)
  const addrs = v6 ? V6_ADDRS : V4_ADDRS
  const h = buildProxyV2Header({ family: v6 ? 6 : 4, clientAddress: rng.pick(addrs), clientPort: rng.below(0x10000), serviceAddress: rng.pick(addrs), servicePort: rng.below(0x10000) })
  return Buffer.concat([h, rng.bytes(rng.int(0, 32))])
}
