/**
 * Counters the data path increments and `overpass status` prints. The data
 * path never throws on bad input: it drops the packet and counts it here by
 * reason, so every drop is visible to the operator.
 */
import { CRYPTO_DROP_NAMES } from '../crypto/types.js'
import { HEADER_ERROR_NAMES } from '../wire/data.js'

/** Data-plane drop reasons (crypto and header errors are counted by their own names). */
export const DROP = {
  unknown_source: 'overlay datagram from an address that is not a configured peer',
  not_for_me: 'the path says the packet is for another relay',
  unknown_next_hop: 'the next relay on the path is not a configured peer',
  hop_limit: 'hop limit reached zero',
  unknown_service: 'service id not in this relay\'s config',
  not_exit: 'forward packet ended at a relay that is not an exit of the service',
  not_ingress: 'reply packet ended at a relay that is not an ingress of the service',
  not_from_ingress: 'forward packet whose first relay (path[0]) is not an ingress of the service',
  not_from_exit: 'reply whose first relay (path[0]) is not an exit of the service',
  proxy_no_client_addr: 'proxy-protocol packet without the client-address extension (never sent raw: the payload could forge a PROXY header)',
  unknown_flow: 'reply for a flow this ingress does not have (expired or never existed)',
  oversize: 'client datagram larger than the service payload limit',
  no_route: 'no path to an exit is known',
  flow_limit: 'service reached max_flows, and every flow has seen a reply',
  prefix_flow_limit: 'the client\'s /24 (IPv6: /56) holds its share of max_flows, and each of them has seen a reply',
  flow_evicted: 'a flow that never saw a reply, given up to make room for a new one (not a packet drop)',
  exit_socket_budget: 'new flow refused: the exit has as many origin sockets open as its file-descriptor budget',
  send_failed: 'socket send queue full or socket closed',
  session_queue_full: 'no session yet and the per-peer queue is full',
  origin_unexpected_source: 'datagram on a flow socket not from the origin',
  bad_inner_kind: 'decrypted payload of an unknown kind',
  control_malformed: 'control message that does not decode',
  test_fault_dropped: 'transit data dropped on purpose: the lab told this relay to play one that drops data (OVERPASS_TEST_FAULTS)',
  path_report_malformed: 'path report that does not parse (also counted as path_report_malformed_<reason>)',
  path_report_wrong_sender: 'path report whose reporter id is not the peer that sent it',
  path_report_unexpected: 'path report from a relay that is not the far end (exit or ingress) of one of the service paths of this relay',
  endpoint_probe_malformed: 'endpoint probe that does not parse (also counted as endpoint_probe_malformed_<reason>)',
  endpoint_probe_unexpected: 'endpoint probe reply for no probe of a spare endpoint in flight (late, or not asked for)',
  duplicate: 'redundant copy already delivered',
  // L3 mode (l3-ingress.ts, l3-exit.ts). IP parse failures count as l3_<IP_ERROR_NAMES>, e.g. l3_bad_checksum.
  l3_no_route: 'TUN packet whose destination is in no l3 service prefix',
  l3_local_destination: 'TUN packet whose best exit is this relay (a routing loop back into the overlay)',
  l3_ttl_expired: 'TUN packet with TTL / hop limit 0 or 1 (answered with ICMP Time Exceeded)',
  l3_too_big: 'TUN packet over the TUN MTU that may not be fragmented (answered with ICMP too big)',
  l3_oversize: 'IPv4 packet over the TUN MTU without DF, with oversize_without_df: drop',
  l3_fragment_failed: 'IPv4 packet that could not be fragmented (more than 64 fragments)',
  l3_icmp_rate_limited: 'ICMP error not sent: over the rate limit',
  l3_icmp_refused: 'ICMP error not sent: forbidden by RFC 1122/4443 (about an ICMP error, a non-first fragment, a multicast source...)',
  l3_dst_not_owned: 'packet at the exit whose destination is not in the service prefixes (the exit is no open injector)',
  l3_src_not_local: "TUN packet whose source is in no site prefix of this relay (a host spoofing another site's address)",
  l3_src_not_ingress: 'packet at the exit whose source is in no site prefix of its ingress relay, path[0]',
  l3_no_tun: 'L3 packet at a relay that has no TUN device',
  l3_tun_write_failed: 'TUN write refused (kernel queue full or device down)',
  l3_reply_flag: 'L3 packet marked as a reply (L3 replies are new TUN packets, never replies)',
} as const

export type DropReason = keyof typeof DROP

export class DropCounts {
  private readonly counts = new Map<string, number>()

  add(reason: string, n = 1): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + n)
  }

  get(reason: string): number {
    return this.counts.get(reason) ?? 0
  }

  total(): number {
    let t = 0
    for (const v of this.counts.values()) t += v
    return t
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort())
  }
}

/** TUN packets and ICMP errors of a relay's L3 side, for `overpass status`. */
export class L3Counters {
  /** Packets read from the TUN. */
  readonly tunIn = new Traffic()
  /** Packets written into the TUN (delivered at the exit, and ICMP errors). */
  readonly tunOut = new Traffic()
  icmpSent = 0
  fragmented = 0
  mssClamped = 0

  toJSON(): Record<string, number> {
    return {
      tun_packets_in: this.tunIn.packetsIn,
      tun_bytes_in: this.tunIn.bytesIn,
      tun_packets_out: this.tunOut.packetsOut,
      tun_bytes_out: this.tunOut.bytesOut,
      icmp_errors_sent: this.icmpSent,
      packets_fragmented: this.fragmented,
      tcp_mss_clamped: this.mssClamped,
    }
  }
}

export function cryptoDropName(code: number): string {
  return CRYPTO_DROP_NAMES[code] ?? `crypto_${-code}`
}

export function headerDropName(code: number): string {
  return `header_${HEADER_ERROR_NAMES[code] ?? -code}`
}

/** Traffic counters kept per peer (overlay side) and per service (client/origin side). */
export class Traffic {
  packetsIn = 0
  bytesIn = 0
  packetsOut = 0
  bytesOut = 0

  rx(bytes: number): void {
    this.packetsIn++
    this.bytesIn += bytes
  }

  tx(bytes: number): void {
    this.packetsOut++
    this.bytesOut += bytes
  }

  toJSON(): Record<string, number> {
    return { packets_in: this.packetsIn, bytes_in: this.bytesIn, packets_out: this.packetsOut, bytes_out: this.bytesOut }
  }
}
