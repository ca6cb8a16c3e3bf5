/**
 * MTU of the L3 TUN device and what to do with packets that exceed it.
 *
 * An IP packet read from the TUN becomes the payload of one overlay data
 * packet, so the TUN MTU is the service-payload limit of wire/mtu.ts for the
 * longest path (8 relays), without the client-address extension (the inner
 * IP header already carries the client's address):
 *
 *   underlay MTU - outer IP (20 | 40) - UDP (8) - outer header (16) - tag (16)
 *     - data header (20 + 4 x 8)
 *   = 1388 for a 1500-byte IPv4 underlay, 1368 for IPv6.
 *
 * Computing it for the longest path means a flow never outgrows its MTU
 * when routing moves it to a longer path.
 *
 * Oversize packets (possible when the kernel hands the TUN a packet routed
 * from a larger-MTU interface, or at the exit) follow the router rules:
 * IPv6 and IPv4 with DF get an ICMP too-big error carrying this MTU (path
 * MTU discovery); IPv4 without DF is fragmented (RFC 791) or dropped, by
 * config.
 */
import { MAX_PATH_RELAYS, dataHeaderLen } from '../wire/data.js'
import { maxOverlayDatagram } from '../wire/mtu.js'
import { TRANSPORT_OVERHEAD } from '../wire/outer.js'
import { copyBytes } from './bytes.js'
import { internetChecksum } from './checksum.js'
import type { IpPacket } from './ip-packet.js'
import { IPV4_MIN_HEADER_LEN, V4_FLAG_MF, V4_OFF_CHECKSUM, V4_OFF_FLAGS_FRAG, V4_OFF_TOTAL_LEN } from './ip-packet.js'

/** Every IPv6 link must carry 1280-byte packets (RFC 8200 section 5). */
export const IPV6_MIN_MTU = 1280
/** Every IPv4 host must accept 576-byte datagrams (RFC 791); we refuse a TUN smaller than that. */
export const IPV4_MIN_USEFUL_MTU = 576

/** The TUN MTU for L3 mode over an underlay of `underlayMtu` bytes. */
export function l3TunMtu(underlayMtu: number, ipv6Underlay: boolean): number {
  return maxOverlayDatagram(underlayMtu, ipv6Underlay) - TRANSPORT_OVERHEAD - dataHeaderLen(MAX_PATH_RELAYS)
}

/** The underlay is too small for the traffic L3 mode must carry. Control path (config check). */
export class L3MtuError extends Error {
  override readonly name = 'L3MtuError'
  constructor(readonly underlayMtu: number, readonly tunMtu: number, readonly requiredTunMtu: number, readonly fix: string) {
    super(`underlay MTU ${underlayMtu} leaves a TUN MTU of ${tunMtu}, below the required ${requiredTunMtu} (fix: ${fix})`)
  }
}

/** l3TunMtu, checked: IPv6 traffic needs a TUN MTU of at least 1280, IPv4 at least 576. Throws L3MtuError. */
export function checkedL3TunMtu(underlayMtu: number, ipv6Underlay: boolean, carriesIpv6: boolean): number {
  const mtu = l3TunMtu(underlayMtu, ipv6Underlay)
  const required = carriesIpv6 ? IPV6_MIN_MTU : IPV4_MIN_USEFUL_MTU
  if (mtu < required) {
    const need = underlayMtu + (required - mtu)
    throw new L3MtuError(underlayMtu, mtu, required, `raise the underlay MTU to at least ${need}`)
  }
  return mtu
}

/** What to do with a packet given the TUN MTU. */
export const enum OversizeAction {
  Forward = 0,
  /** Answer with ICMP Fragmentation Needed / Packet Too Big carrying the MTU; drop the packet. */
  TooBig = 1,
  /** IPv4 without DF: split with fragmentIpv4. */
  Fragment = 2,
  /** IPv4 without DF when the config says drop. */
  Drop = 3,
}

/** Decides per packet. `fragmentWithoutDf` is the config choice for IPv4 packets without DF. */
export function oversizeAction(pkt: IpPacket, mtu: number, fragmentWithoutDf: boolean): OversizeAction {
  if (pkt.totalLen <= mtu) return OversizeAction.Forward
  if (pkt.version === 6 || pkt.dontFragment) return OversizeAction.TooBig
  return fragmentWithoutDf ? OversizeAction.Fragment : OversizeAction.Drop
}

/** Where fragmentIpv4 put each fragment; reusable. Fragments are contiguous in the output buffer. */
export class Fragments {
  count = 0
  readonly offsets: Int32Array
  readonly lengths: Int32Array
  constructor(readonly capacity = 64) {
    this.offsets = new Int32Array(capacity)
    this.lengths = new Int32Array(capacity)
  }
}

export const enum FragmentError {
  NotIpv4 = -1,
  DontFragment = -2,
  MtuTooSmall = -3,
  BufferTooSmall = -4,
  TooManyFragments = -5,
}

export const FRAGMENT_ERROR_NAMES: Record<number, string> = {
  [-1]: 'not_ipv4',
  [-2]: 'dont_fragment',
  [-3]: 'mtu_too_small',
  [-4]: 'buffer_too_small',
  [-5]: 'too_many_fragments',
}

/**
 * Splits the parsed IPv4 packet into fragments of at most `mtu` bytes,
 * written back to back into out[outOff...] (which must not overlap the
 * packet). Every fragment but the last carries a multiple of 8 data bytes;
 * the first keeps all options, the others only those with the "copied" flag
 * (RFC 791). An already-fragmented packet is split further, keeping its
 * offset and MF. Returns the number of fragments (1 if it already fits, as
 * a plain copy) or a negative FragmentError.
 */
export function fragmentIpv4(buf: Uint8Array, pkt: IpPacket, mtu: number, out: Uint8Array, outOff: number, frags: Fragments): number {
  frags.count = 0
  if (pkt.version !== 4) return FragmentError.NotIpv4
  const start = pkt.offset
  if (pkt.totalLen <= mtu) {
    if (outOff + pkt.totalLen > out.length) return FragmentError.BufferTooSmall
    if (frags.capacity < 1) return FragmentError.TooManyFragments
    copyBytes(buf, start, start + pkt.totalLen, out, outOff)
    frags.offsets[0] = outOff
    frags.lengths[0] = pkt.totalLen
    frags.count = 1
    return 1
  }
  if (pkt.dontFragment) return FragmentError.DontFragment
  const firstHl = pkt.headerLen
  const copiedLen = copiedOptions(buf, start, firstHl, out, -1)
  const laterHl = IPV4_MIN_HEADER_LEN + ((copiedLen + 3) & ~3)
  const firstCap = ((mtu - firstHl) >> 3) << 3
  const laterCap = ((mtu - laterHl) >> 3) << 3
  if (firstCap < 8 || laterCap < 8) return FragmentError.MtuTooSmall
  const dataLen = pkt.totalLen - firstHl
  let rel = 0
  let o = outOff
  let n = 0
  while (rel < dataLen) {
    const hl = n === 0 ? firstHl : laterHl
    const size = Math.min(n === 0 ? firstCap : laterCap, dataLen - rel)
    if (n >= frags.capacity) return FragmentError.TooManyFragments
    if (o + hl + size > out.length) return FragmentError.BufferTooSmall
    if (n === 0) {
      copyBytes(buf, start, start + firstHl, out, o)
    } else {
      copyBytes(buf, start, start + IPV4_MIN_HEADER_LEN, out, o)
      const written = copiedOptions(buf, start, firstHl, out, o + IPV4_MIN_HEADER_LEN)
      out.fill(0, o + IPV4_MIN_HEADER_LEN + written, o + hl) // End of Option List padding
      out[o] = 0x40 | (hl >> 2)
    }
    const last = rel + size === dataLen
    const total = hl + size
    out[o + V4_OFF_TOTAL_LEN] = total >> 8
    out[o + V4_OFF_TOTAL_LEN + 1] = total & 0xff
    const keepFlags = buf[start + V4_OFF_FLAGS_FRAG] & 0x80 // the reserved bit travels unchanged
    const mf = !last || pkt.moreFragments ? V4_FLAG_MF : 0
    const word = (keepFlags << 8) | mf | ((pkt.fragOffset + rel) >> 3)
    out[o + V4_OFF_FLAGS_FRAG] = word >> 8
    out[o + V4_OFF_FLAGS_FRAG + 1] = word & 0xff
    out[o + V4_OFF_CHECKSUM] = 0
    out[o + V4_OFF_CHECKSUM + 1] = 0
    const c = internetChecksum(out, o, o + hl)
    out[o + V4_OFF_CHECKSUM] = c >> 8
    out[o + V4_OFF_CHECKSUM + 1] = c & 0xff
    copyBytes(buf, pkt.l4Offset + rel, pkt.l4Offset + rel + size, out, o + hl)
    frags.offsets[n] = o
    frags.lengths[n] = total
    n++
    o += total
    rel += size
  }
  frags.count = n
  return n
}

/**
 * Total length of the options with the "copied" bit (0x80 in the type),
 * also writing them at out[dst] when dst >= 0. Malformed options end the
 * scan: what came before is still copied.
 */
function copiedOptions(buf: Uint8Array, start: number, hl: number, out: Uint8Array, dst: number): number {
  let len = 0
  let i = start + IPV4_MIN_HEADER_LEN
  const end = start + hl
  while (i < end) {
    const type = buf[i]
    if (type === 0) break // End of Option List
    if (type === 1) {
      i++ // No Operation: never copied
      continue
    }
    if (i + 1 >= end) break
    const optLen = buf[i + 1]
    if (optLen < 2 || i + optLen > end) break
    if ((type & 0x80) !== 0) {
      if (dst >= 0) copyBytes(buf, i, i + optLen, out, dst + len)
      len += optLen
    }
    i += optLen
  }
  return len
}
