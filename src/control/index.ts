/**
 * control/ owns a relay's control plane at run time, between the sans-IO
 * router (route/) and the data plane (dataplane/):
 *
 * - router-bridge.ts ticks the router (at the earliest deadline it and the
 *   bridge's own schedules report, not on a fixed period), frames what it asks to send (probes
 *   and control messages, framing.ts) into sealed overlay plaintexts,
 *   hands inbound probes and control messages back to it, and publishes the
 *   immutable path snapshot the data plane reads, with the route history.
 * - origin-probes.ts measures the exit-to-origin link (TWAMP, ICMP or an
 *   assumed RTT) around the sans-IO probers of origin/ and feeds samples to
 *   the router.
 * - framing.ts is the control framing: the kind byte in front of a probe or
 *   of a control message.
 * - path-reports.ts sends an exit's path reports to its ingresses and, at
 *   an ingress, checks them against the map (path-check.ts, sans-IO) and
 *   demotes paths whose data fares clearly worse (docs/routing.md).
 * - control-codec.ts is the strict msgpack codec of control messages (a
 *   peer's bytes are hostile input), used by the bridge and the test fakes.
 *
 * Sockets, clocks and timers are injected (io/ interfaces); process wiring
 * stays in daemon/, assembly of a whole relay in node/.
 */
export { RouterBridge, type RouteChange } from './router-bridge.js'
export { OriginProbes } from './origin-probes.js'
export { PathReports, REPORT_INTERVAL_MS, type PathChecksView } from './path-reports.js'
export { PathCheck } from './path-check.js'
export { frameControl, frameProbe } from './framing.js'
export { controlLimits, decodeControl, encodeControl, MAX_CONTROL_BYTES, type ControlLimits } from './control-codec.js'
