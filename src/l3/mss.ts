/**
 * TCP MSS clamping on SYN and SYN-ACK segments that cross the overlay.
 *
 * A host on a 1500-byte LAN offers MSS 1460, but the TUN carries at most
 * its MTU (1388 by default), so its first full segments would bounce with
 * ICMP "fragmentation needed" / "packet too big" and be sent again smaller;
 * where a firewall drops that ICMP, the connection hangs (a PMTU black
 * hole). Lowering the MSS option in the handshake makes both ends send
 * segments that fit from the start, as tunnels and SD-WAN edges usually do.
 *
 * Only the option value changes; the TCP checksum is patched incrementally.
 * Anything unexpected (truncated options, a non-first fragment, no MSS
 * option) leaves the packet untouched: clamping is an optimisation, and
 * PMTU discovery still covers what it skips.
 */
import { patchChecksum } from './checksum.js'
import type { IpPacket } from './ip-packet.js'

const PROTO_TCP = 6
const TCP_FLAG_SYN = 0x02
const TCP_OPT_END = 0
const TCP_OPT_NOP = 1
const TCP_OPT_MSS = 2
/** IP header without options plus TCP header without options, per family. */
const MSS_OVERHEAD_V4 = 20 + 20
const MSS_OVERHEAD_V6 = 40 + 20

/** The largest MSS whose segments fit an `mtu`-byte IP packet of family `version`. */
export function maxMssFor(mtu: number, version: 4 | 6): number {
  return mtu - (version === 6 ? MSS_OVERHEAD_V6 : MSS_OVERHEAD_V4)
}

/**
 * Lowers the MSS option of a TCP SYN (or SYN-ACK) in a parsed packet to at
 * most `maxMss`. Returns true when it changed the packet.
 */
export function clampTcpMss(buf: Uint8Array, pkt: IpPacket, maxMss: number): boolean {
  if (pkt.protocol !== PROTO_TCP || (pkt.isFragment && pkt.fragOffset !== 0)) return false
  const tcp = pkt.l4Offset
  const end = pkt.offset + pkt.totalLen
  if (tcp + 20 > end || (buf[tcp + 13] & TCP_FLAG_SYN) === 0) return false
  const optEnd = tcp + (buf[tcp + 12] >> 4) * 4
  if (optEnd > end) return false
  let i = tcp + 20
  while (i < optEnd) {
    const kind = buf[i]
    if (kind === TCP_OPT_END) return false
    if (kind === TCP_OPT_NOP) {
      i++
      continue
    }
    if (i + 1 >= optEnd) return false
    const len = buf[i + 1]
    if (len < 2 || i + len > optEnd) return false
    if (kind === TCP_OPT_MSS) {
      if (len !== 4) return false
      const mss = (buf[i + 2] << 8) | buf[i + 3]
      if (mss <= maxMss) return false
      buf[i + 2] = maxMss >> 8
      buf[i + 3] = maxMss & 0xff
      patchAligned(buf, tcp + 16, tcp, i + 2, mss, maxMss)
      return true
    }
    i += len
  }
  return false
}

/**
 * Patches the TCP checksum for the 16-bit value at `at`. An option can sit
 * at an odd offset; its bytes then land in two of the aligned words the
 * checksum sums, high byte as a low byte and low byte as a high byte, which
 * adds up to the byte-swapped value (RFC 1071, byte-order independence).
 */
function patchAligned(buf: Uint8Array, csum: number, tcp: number, at: number, oldValue: number, newValue: number): void {
  if ((at - tcp) % 2 === 0) patchChecksum(buf, csum, oldValue, newValue)
  else patchChecksum(buf, csum, swap16(oldValue), swap16(newValue))
}

const swap16 = (v: number): number => ((v & 0xff) << 8) | (v >> 8)
