/**
 * How much service payload fits in one overlay datagram. The limit is
 * computed for the longest path a packet may carry (MAX_PATH_RELAYS) so it
 * does not change when routing moves a flow to a longer path: a datagram
 * that fits once always fits.
 *
 *   underlay MTU
 *   - IP header (20 for IPv4, 40 for IPv6) - UDP header (8)
 *   - outer header (16) - Poly1305 tag (16)
 *   - data header (20 + 4 x 8 path relays)
 *   - client-address extension (PROXY protocol delivery only: 14 IPv4, 38 IPv6)
 *
 * With a 1500-byte IPv4 underlay: 1500 - 28 - 32 - 52 = 1388 bytes.
 */
import { MAX_PATH_RELAYS, dataHeaderLen, CLIENT_ADDR_V4_LEN, CLIENT_ADDR_V6_LEN } from './data.js'
import { TRANSPORT_OVERHEAD } from './outer.js'

export const UDP_HEADER_LEN = 8
export const IPV4_HEADER_LEN = 20
export const IPV6_HEADER_LEN = 40

export function maxOverlayDatagram(mtu: number, ipv6Underlay: boolean): number {
  return mtu - (ipv6Underlay ? IPV6_HEADER_LEN : IPV4_HEADER_LEN) - UDP_HEADER_LEN
}

export function maxServicePayload(mtu: number, ipv6Underlay: boolean, clientAddrFamily: 0 | 4 | 6 = 0): number {
  const ext = clientAddrFamily === 4 ? CLIENT_ADDR_V4_LEN : clientAddrFamily === 6 ? CLIENT_ADDR_V6_LEN : 0
  return maxOverlayDatagram(mtu, ipv6Underlay) - TRANSPORT_OVERHEAD - dataHeaderLen(MAX_PATH_RELAYS, ext)
}
