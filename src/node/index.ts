/**
 * node/ owns assembling one relay: `createRelayNode` builds the data plane
 * (dataplane/Relay) and the control plane (route/ router, control/ bridge
 * and origin probes) from a config and injected I/O (clock, timers, socket
 * factories, TUN, logger, randomness), wired around one shared path table.
 * It is its own folder because it depends on both planes, which must not
 * depend on each other's assembly; daemon/ adds only process wiring (real
 * sockets, worker threads, control socket, TUN, signals) on top.
 *
 *   const node = createRelayNode({ config, clock, timers, sockets, log })
 *   await node.start(); ...; node.stop()
 *
 * Peer endpoints given as DNS names are resolved in endpoint-names.ts, before
 * the config reaches createRelayNode, and re-resolved on their TTL in
 * endpoint-name-refresher.ts, which also resolves the names a live change
 * brings before it applies (its liveControl wraps the node's).
 *
 * Live changes (live-apply.ts): `applyNetworkChange(node, nextConfig)`
 * applies a new validated config to a running node, whole or not at all,
 * and says what it did (`ApplyResult`); network-change.ts computes the diff
 * and names what needs a restart. Services added open their ports first
 * (a port that will not open refuses the change); removed or moved ones
 * drain for SERVICE_DRAIN_MS. SIGHUP, `overpass reload` and an adopted
 * signed network version all go through it.
 */
export { createRelayNode, routerFor, sameSockets, type DataPlaneNode, type DataPlaneNodeInit, type NodeSockets, type RelayNode, type RelayNodeInit } from './relay-node.js'
export { routerIngress, routerInit } from './router-init.js'
export { applyLoaded, applyNetworkChange, peerTables, REMOVED_PEER_LINGER_MS, routedConfig, SERVICE_DRAIN_MS, type ApplyResult, type LiveNodeControl } from './live-apply.js'
export { describeDiff, diffConfigs, isEmptyDiff, LIVE_SERVICE_FIELDS, routerServicesOf, type ConfigDiff, type RestartField } from './network-change.js'
