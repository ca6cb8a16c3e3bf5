/**
 * TTL / hop-limit handling. The overlay counts as one router hop: the
 * ingress decrements once before encapsulating, so a routing loop through
 * TUN devices still dies and traceroute shows the ingress relay. An expired
 * packet is not forwarded; the caller answers with ICMP Time Exceeded
 * (icmp-errors.ts).
 *
 * The IPv4 checksum is patched incrementally (RFC 1624, checksum.ts)
 * instead of re-summing the header: TTL shares one 16-bit word with the
 * protocol byte, so only that word changes.
 */
import { patchChecksum } from './checksum.js'
import { V4_OFF_CHECKSUM, V4_OFF_TTL, V6_OFF_HOP_LIMIT } from './ip-packet.js'

/** Returned when TTL/hop limit was 0 or 1: the packet must not be forwarded (left unchanged). */
export const TTL_EXPIRED = -1

/**
 * Decrements the TTL (IPv4, fixing the header checksum) or hop limit (IPv6)
 * of the packet whose header starts at buf[offset]. Returns the new value
 * (>= 1), or TTL_EXPIRED without touching the packet. The header must have
 * been parsed (version and length checked) first.
 */
export function decrementTtl(buf: Uint8Array, offset: number): number {
  if (buf[offset] >> 4 === 6) {
    const hop = buf[offset + V6_OFF_HOP_LIMIT]
    if (hop <= 1) return TTL_EXPIRED
    buf[offset + V6_OFF_HOP_LIMIT] = hop - 1
    return hop - 1
  }
  const t = offset + V4_OFF_TTL
  const ttl = buf[t]
  if (ttl <= 1) return TTL_EXPIRED
  const oldWord = (ttl << 8) | buf[t + 1]
  const newWord = oldWord - 0x100
  buf[t] = ttl - 1
  patchChecksum(buf, offset + V4_OFF_CHECKSUM, oldWord, newWord)
  return ttl - 1
}
