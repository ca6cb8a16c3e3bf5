/**
 * Flow classification for L3 mode: the ingress pins each flow to one overlay
 * path, so it needs a key per packet that is cheap to compute and exact to
 * compare. The key is filled into a reusable `FlowKey` (no allocation) and
 * carries a 32-bit hash (MurmurHash3's mixing) for bucketing.
 *
 * - TCP/UDP/SCTP/DCCP/UDP-Lite: the 5-tuple. Ports exist only in the first
 *   fragment, so non-first fragments fall back to (protocol, src, dst). The
 *   exit forwards fragments unchanged and the destination reassembles, so a
 *   datagram whose fragments took two paths still arrives whole.
 * - ICMP and everything else: (protocol, src, dst).
 *
 * Pass a per-process random `seed` when keys index a hash table reachable by
 * untrusted senders, so they cannot choose colliding flows.
 */
import type { IpPacket } from './ip-packet.js'
import { readU32 } from './ip-packet.js'

export class FlowKey {
  /** 32-bit hash of every other field. */
  hash = 0
  version = 0
  protocol = 0
  /** True when srcPort/dstPort are part of the key. */
  withPorts = false
  srcPort = 0
  dstPort = 0
  /** Addresses as big-endian 32-bit words; IPv4 uses word 0 only, the rest stay 0. */
  readonly src = new Uint32Array(4)
  readonly dst = new Uint32Array(4)
}

const C1 = 0xcc9e2d51
const C2 = 0x1b873593

function mix(h: number, k: number): number {
  k = Math.imul(k, C1)
  k = (k << 15) | (k >>> 17)
  k = Math.imul(k, C2)
  h ^= k
  h = (h << 13) | (h >>> 19)
  return (Math.imul(h, 5) + 0xe6546b64) | 0
}

function finish(h: number, lenWords: number): number {
  h ^= lenWords * 4
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** Fills `out` with the flow key of a parsed packet and returns its hash. */
export function flowKeyOf(buf: Uint8Array, pkt: IpPacket, out: FlowKey, seed = 0): number {
  const words = pkt.addrLen >>> 2
  const withPorts = pkt.srcPort >= 0
  out.version = pkt.version
  out.protocol = pkt.protocol
  out.withPorts = withPorts
  out.srcPort = withPorts ? pkt.srcPort : 0
  out.dstPort = withPorts ? pkt.dstPort : 0
  let h = mix(seed | 0, (pkt.version << 9) | (withPorts ? 0x100 : 0) | pkt.protocol)
  h = mix(h, (out.srcPort << 16) | out.dstPort)
  for (let i = 0; i < 4; i++) {
    const s = i < words ? readU32(buf, pkt.srcOffset + 4 * i) : 0
    const d = i < words ? readU32(buf, pkt.dstOffset + 4 * i) : 0
    out.src[i] = s
    out.dst[i] = d
    if (i < words) h = mix(mix(h, s), d)
  }
  out.hash = finish(h, 2 + 2 * words)
  return out.hash
}

/** Exact comparison (the hash only narrows the search). */
export function flowKeyEquals(a: FlowKey, b: FlowKey): boolean {
  if (a.hash !== b.hash || a.version !== b.version || a.protocol !== b.protocol) return false
  if (a.withPorts !== b.withPorts || a.srcPort !== b.srcPort || a.dstPort !== b.dstPort) return false
  for (let i = 0; i < 4; i++) if (a.src[i] !== b.src[i] || a.dst[i] !== b.dst[i]) return false
  return true
}

/** Copies `from` into `to`, e.g. to keep the key of a new flow (control path: once per flow). */
export function copyFlowKey(from: FlowKey, to: FlowKey): FlowKey {
  to.hash = from.hash
  to.version = from.version
  to.protocol = from.protocol
  to.withPorts = from.withPorts
  to.srcPort = from.srcPort
  to.dstPort = from.dstPort
  to.src.set(from.src)
  to.dst.set(from.dst)
  return to
}
