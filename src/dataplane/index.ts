/**
 * dataplane/ owns the packet path of a relay: the overlay socket pipeline
 * (relay.ts), the client-facing ingress half (ingress.ts), the origin-facing
 * exit half (exit.ts), the L3 halves that read IP packets from the relay's
 * TUN (l3-ingress.ts) and write them into the exit's TUN (l3-exit.ts),
 * PROXY protocol headers, the exit each flow keeps (flow-exits.ts), dedup
 * of redundant copies, a peer's several endpoints and the probes of its
 * spares (peer-endpoints.ts), the direct fallback to the origin when no overlay
 * path exists (direct-fallback.ts), the drop counters and the per-path
 * counters behind path reports (path-meter.ts), and what the native transit
 * table does for it: forwarding (transit-offload.ts) and the exit's
 * delivery of established flows (exit-offload.ts).
 * It is written against io/ interfaces and a PathProvider, so the same code
 * runs on real sockets and on fakes.
 */
export { Relay, type RelayDeps, type RelayStats, type OverlayPeer, type RelayEndpointOptions, type ControlPlaneSink, type PeerEndpointState } from './relay.js'
export type { EndpointView, EndpointHealth } from './peer-endpoints.js'
export { StaticPaths, pathRef, type PathProvider, type PathRef } from './paths.js'
export { DROP, DropCounts, L3Counters, Traffic } from './counters.js'
export { PathMeter } from './path-meter.js'
export { MissingTunError } from './l3-ingress.js'
export { buildProxyV2Header, parseProxyV2Header } from './proxy-protocol.js'
