/**
 * l3/ owns the sans-IO packet core of L3 mode, where relays carry whole IPv4
 * and IPv6 packets read from a TUN device: header parsing (ip-packet.ts),
 * flow keys (flow-key.ts), prefix ownership by longest-prefix match (lpm.ts,
 * prefix.ts), TTL decrement (ttl.ts), the ICMP errors a router must send
 * (icmp-errors.ts, icmp-rate-limit.ts), MTU / fragmentation (mtu.ts) and
 * TCP MSS clamping (mss.ts).
 * Every per-packet function works on a caller's buffer and reusable view
 * objects, allocates nothing and returns negative codes instead of throwing.
 * docs/l3-mode.md explains the rules.
 *
 * Example (ingress, per packet read from the TUN):
 *   const n = parseIpPacket(buf, 0, len, pkt)        // < 0: drop, count IP_ERROR_NAMES[n]
 *   const owner = table.lookupDst(buf, pkt)           // relay id or NO_MATCH
 *   if (decrementTtl(buf, 0) === TTL_EXPIRED) buildTimeExceeded(out, 0, buf, pkt, relayAddr)
 *   flowKeyOf(buf, pkt, key)                          // pick/pin the flow's path
 */
export * from './checksum.js'
export * from './ip-packet.js'
export * from './flow-key.js'
export * from './prefix.js'
export * from './lpm.js'
export * from './ttl.js'
export * from './icmp-errors.js'
export * from './icmp-rate-limit.js'
export * from './mtu.js'
export * from './bytes.js'
export * from './mss.js'
