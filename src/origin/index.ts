/**
 * origin/ owns health checks across an exit's CNI link to a service's
 * origin: the TWAMP-Light codec (RFC 5357, unauthenticated), a sans-IO
 * Session-Sender that turns replies into OriginSamples for the router, the
 * stateless reflector core behind `overpass reflector` with the guard that
 * decides whom it answers (reflector-guard.ts), and an ICMP echo
 * codec for origins that only answer ping. No sockets here.
 *
 *   const s = new TwampSender({ service: 'game' })
 *   const { packet, losses } = s.tick(nowMs)   // send packet to origin:862
 *   const sample = s.onReply(nowMs, bytes)     // router.onOriginSample(nowMs, sample)
 */
export * from './ntp.js'
export * from './twamp-codec.js'
export { TwampSender, type TwampSenderInit, type TwampTick, type TwampSenderCounters } from './twamp-sender.js'
export { TwampReflectorCore, MAX_TEST_PACKET_BYTES, UNKNOWN_TTL, type ReflectorCounters } from './twamp-reflector.js'
export { ReflectorGuard, REFLECTOR_PACKETS_PER_SECOND, REFLECTOR_BURST, type ReflectorGuardInit, type GuardDrop } from './reflector-guard.js'
export * from './icmp.js'
