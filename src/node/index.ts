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
 * Peer endpoints given as DNS names are resolved (and re-resolved on their
 * TTL) in endpoint-names.ts, before the config reaches createRelayNode.
 *
 * The seam for live reload (not built yet): everything a node derives from
 * its config is derived here, once (dataPlaneConfig, routerInit), so a
 * reload is "derive again, then swap the node's peers and services" in the
 * Relay's peer/service tables, the router's relay list and the bridge's
 * roles, with the node's sockets, clock and TUN kept.
 */
export { createRelayNode, routerFor, sameSockets, type DataPlaneNode, type DataPlaneNodeInit, type NodeSockets, type RelayNode, type RelayNodeInit } from './relay-node.js'
export { routerIngress, routerInit } from './router-init.js'
