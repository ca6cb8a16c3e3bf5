/**
 * Applying a changed config to a running relay without a restart: the one
 * entry point for `SIGHUP`, `overpass reload` and a newly adopted signed
 * network version.
 *
 *   const result = await applyNetworkChange(node, nextConfig)
 *   // result.status: 'applied' | 'unchanged' | 'needs-restart' | 'invalid' | 'failed'
 *
 * The new config must be a validated RelayConfig (config/loadConfig, the
 * same validation as `overpass check`); `applyLoaded` takes a loader and
 * turns its ConfigError into an `invalid` result. A config is applied whole
 * or not at all: anything the relay only reads at start refuses it
 * (`needs-restart`, naming the fields, network-change.ts), and the crypto
 * endpoint checks the new peer table before anything changes.
 *
 * Order, so flows that do not touch the change lose nothing:
 *   0. services: every port of a new service is opened first, on every
 *      worker; one that cannot bind refuses the whole change (`failed`,
 *      naming the service, the address and the reason) with nothing
 *      changed. Then new services take clients, kept ones take their new
 *      settings, and removed ones drain: they refuse new flows at once, and
 *      their flows carry on (the router keeps their routes, the exit its
 *      origin probe) for SERVICE_DRAIN_MS; then their ports close and their
 *      flows are forgotten, and a router without them takes over. A kept
 *      service whose ports or origin moved is a removal and an addition
 *      under one name: its new ports open first, its old ones (and exit
 *      flows to the old origin) drain the same way;
 *   1. peers added, moved or re-keyed take effect at once (their sessions,
 *      on every worker, keep their keys); removed peers stay for now;
 *   2. when relays, routing settings or keys changed, a new router is built
 *      from the new config and handed over to (control/router-bridge.ts):
 *      it learns the map in the shadow while the old one routes;
 *   3. once it routes (its paths avoid removed relays), removed peers stay
 *      REMOVED_PEER_LINGER_MS longer: relays that have not applied the
 *      change yet may still route through them to us. Then they go: their
 *      sessions are closed and their keys wiped. A flow that ran through a
 *      removed relay moves off it as it would for a cut, but without the
 *      loss: the old route works until the new router takes over.
 */
import { ConfigError, type ConfigIssue } from '../config/errors.js'
import type { RelayConfig, ServiceConfig } from '../config/types.js'
import type { IndexedPeer } from '../dataplane/relay.js'
import type { Logger } from '../io/index.js'
import { describeDiff, diffConfigs, isEmptyDiff, routerServicesOf, sameJson, type ConfigDiff, type RestartField } from './network-change.js'

/**
 * How long a removed relay's session outlives our last route through it:
 * other relays apply a new version at their own time (a canary first, the
 * rest minutes later), and until they do they may route through the removed
 * relay to us.
 */
export const REMOVED_PEER_LINGER_MS = 30_000

/**
 * How long a removed service's flows carry on before its ports close. Long
 * enough for a round of a game or a short call to end, and for clients to
 * have been pointed elsewhere (the operator removed the service for a
 * reason); short enough that the port is free again within the minute, and
 * beyond the 30 s a flow idles out by default (config DEFAULT_FLOW_IDLE_TIMEOUT_MS),
 * so a client that stopped sending is gone before it ends.
 */
export const SERVICE_DRAIN_MS = 60_000

/** What applying a config did. Never partial: `applied` is all of it, anything else none of it. */
export type ApplyResult =
  | { status: 'applied'; version?: number; changes: string[]; diff: ConfigDiff; handOver: boolean }
  | { status: 'unchanged'; version?: number }
  | { status: 'needs-restart'; version?: number; fields: RestartField[] }
  | { status: 'invalid'; version?: number; reasons: ConfigIssue[] }
  /** Valid, but the relay could not do it (a new service's port would not open): nothing applied. */
  | { status: 'failed'; version?: number; reasons: ConfigIssue[] }

/** What a relay node exposes to live changes (node/relay-node.ts builds it). */
export interface LiveNodeControl {
  /** The config applied now. */
  readonly config: RelayConfig
  /** Peers as the data plane holds them, with crypto indexes. */
  peerTable(): IndexedPeer[]
  /** Above every crypto index ever used on this node (removed peers' included). */
  peerIndexLimit(): number
  /** True while a new router waits to take over (its take-over drops removed peers). */
  readonly handingOver: boolean
  /** Sets the peer table on this worker and every other one. Throws (changing nothing) when the crypto endpoint refuses it. */
  setPeers(table: IndexedPeer[]): void
  /** This relay's own static key changed (a rotation): new handshakes use it, sessions stay. */
  setPrivateKey(privateKey: Uint8Array): void
  /** A new router for `config`, handed over to; `onTakeOver` runs once it routes. */
  handOver(config: RelayConfig, onTakeOver: () => void): void
  /** Records `config` as applied. */
  commit(config: RelayConfig): void
  /** Runs `fn` after `ms` on the node's timers (cancelled when the node stops). */
  later(ms: number, fn: () => void): void
  /** Services removed live, or whose ports or origin moved, still draining, by name, with the config that drains (live-apply.ts keeps it). */
  readonly draining: Map<string, ServiceConfig>
  /** SERVICE_DRAIN_MS unless the node was built with another. */
  readonly serviceDrainMs: number
  readonly log: Logger
  /**
   * Serves the services of `routed` (routedConfig) on every worker, with
   * their origin probes and pinned paths. `draining`: the entries of
   * `live.draining` to keep draining (a removed service, or the old ports
   * and origin of a moved one). Rejects with ServicePortError, nothing
   * changed, when a new port cannot open.
   */
  setServices(routed: RelayConfig, draining: ReadonlyMap<string, ServiceConfig>): Promise<void>
  /** Readies what `next` needs before any of it is applied (DNS names: endpoint-name-refresher.ts); issues make it invalid. */
  prepare?(next: RelayConfig): Promise<ConfigIssue[]>
}

/**
 * One change at a time per node: an apply and a drain's end both await the
 * workers, and each must see the other's result (the services and the
 * draining set), never its middle.
 */
const queues = new WeakMap<LiveNodeControl, Promise<unknown>>()

function serialized<T>(live: LiveNodeControl, fn: () => Promise<T>): Promise<T> {
  const run = (queues.get(live) ?? Promise.resolve()).then(fn)
  queues.set(live, run.catch(() => undefined))
  return run
}

/** Applies `next` to a running node (see the module comment). */
export function applyNetworkChange(node: { live: LiveNodeControl }, next: RelayConfig): Promise<ApplyResult> {
  return serialized(node.live, () => applyNow(node.live, next))
}

async function applyNow(live: LiveNodeControl, next: RelayConfig): Promise<ApplyResult> {
  const version = next.network?.version
  const diff = diffConfigs(live.config, next)
  if (diff.restart.length > 0) return { status: 'needs-restart', version, fields: diff.restart }
  const conflicts = drainConflicts(live, next, diff)
  if (conflicts.length > 0) return { status: 'failed', version, reasons: conflicts }
  if (isEmptyDiff(diff)) {
    live.commit(next)
    return { status: 'unchanged', version }
  }
  const unready = (await live.prepare?.(next)) ?? []
  if (unready.length > 0) return { status: 'invalid', version, reasons: unready }
  const draining = new Map(live.draining)
  for (const name of diff.servicesAdded) draining.delete(name) // re-added as it was: its drain ends here
  for (const name of [...diff.servicesRemoved, ...diff.servicesMoved]) draining.set(name, live.config.services.find((s) => s.name === name)!)
  // What the router plans for and the data plane serves after the change: `next` plus what still drains.
  const after = routedConfig(next, draining)
  const servicesChange = diff.servicesAdded.length + diff.servicesRemoved.length + diff.servicesChanged.length > 0
  if (servicesChange) {
    try {
      await live.setServices(after, draining)
    } catch (err) {
      if (!(err instanceof Error)) throw err
      const e = err as Error & { service?: string }
      // A port another data-plane worker could not open comes back as a plain error with its reason.
      const where = err.name === 'ServicePortError' ? `services.${e.service}.ingress` : 'services'
      return { status: 'failed', version, reasons: [{ path: where, message: err.message, fix: 'free that port (or allow the relay to bind it), or give the service another one' }] }
    }
  }
  const { during } = peerTables(live.peerTable(), next, live.peerIndexLimit())
  try {
    live.setPeers(during)
  } catch (err) {
    if (!(err instanceof Error) || err.name !== 'EndpointConfigError') throw err
    if (servicesChange) await live.setServices(routedConfig(live.config, live.draining), live.draining)
    return { status: 'invalid', version, reasons: [{ path: 'peers', message: err.message, fix: 'correct the relays\' keys in the network file' }] }
  }
  if (diff.ownKeyChanged) live.setPrivateKey(next.relay.privateKey)
  const before = routedConfig(live.config, live.draining)
  // The router signs our map columns and checks the peers' with their keys: a key change builds a new one too.
  // It plans routes for a fixed set of services: one added (or gone after its drain) or re-profiled builds one as well.
  const handOver =
    diff.peersAdded.length > 0 || diff.peersRemoved.length > 0 || diff.keysChanged.length > 0 || diff.ownKeyChanged || diff.routingChanged || routerServicesOf(before) !== routerServicesOf(after)
  // `during` is `after` plus removed peers, which only a hand-over's take-over (and a linger) drops.
  if (handOver) live.handOver(after, () => live.later(REMOVED_PEER_LINGER_MS, () => dropRemovedPeers(live)))
  live.draining.clear()
  for (const [name, cfg] of draining) live.draining.set(name, cfg)
  for (const name of [...diff.servicesRemoved, ...diff.servicesMoved]) {
    const what = diff.servicesMoved.includes(name) ? 'service moved: its old ports and origin drain (new flows take the new ones)' : 'service draining: new flows refused, existing flows carry on'
    live.log.info(what, { service: name, drain_s: live.serviceDrainMs / 1000 })
    const cfg = draining.get(name)!
    live.later(live.serviceDrainMs, () => void serialized(live, () => endDrain(live, name, cfg)))
  }
  live.commit(next)
  return { status: 'applied', version, changes: describeDiff(diff), diff, handOver }
}

/** `config` with the services still draining: what the router plans for and the data plane serves. */
export function routedConfig(config: RelayConfig, draining: ReadonlyMap<string, ServiceConfig>): RelayConfig {
  if (draining.size === 0) return config
  return { ...config, services: [...config.services, ...[...draining.values()].filter((d) => !config.services.some((s) => s.name === d.name))] }
}

/**
 * A service added under the name of one still draining is the same
 * service back (its drain ends) only when nothing else about it changed;
 * otherwise its flows and the new one's would share one service id.
 */
function drainConflicts(live: LiveNodeControl, next: RelayConfig, diff: ConfigDiff): ConfigIssue[] {
  const moving = diff.servicesMoved.filter((name) => live.draining.has(name))
  const again = moving.map((name) => ({ path: `services.${name}`, message: `service ${name} moved its ports or origin less than ${live.serviceDrainMs / 1000} s ago and the old ones still drain`, fix: 'apply this again once the drain is over' }))
  return [...again, ...diff.servicesAdded.flatMap((name) => {
    const old = live.draining.get(name)
    const now = next.services.find((s) => s.name === name)!
    if (old === undefined || sameJson(old, now)) return []
    return [{ path: `services.${name}`, message: `service ${name} was removed and is still draining (up to ${live.serviceDrainMs / 1000} s); it can come back only as it was`, fix: 'apply this again once the drain is over, or give the new service another name' }]
  })]
}

/**
 * The end of a removed service's drain: its ports close and its flows go on
 * every worker, and a router without it takes over. Nothing, when it came
 * back meanwhile (or was removed again: a later drain ends it).
 */
async function endDrain(live: LiveNodeControl, name: string, cfg: ServiceConfig): Promise<void> {
  if (live.draining.get(name) !== cfg) return
  const before = routedConfig(live.config, live.draining)
  live.draining.delete(name)
  const routed = routedConfig(live.config, live.draining)
  try {
    await live.setServices(routed, live.draining)
  } catch (err) {
    // Closing opens nothing, so this is not a port: say so and carry on.
    live.log.error('service drain end failed', { service: name, error: err instanceof Error ? err.message : String(err) })
    return
  }
  live.log.info('service drain over: its old ports closed, their flows dropped', { service: name })
  // A removed service leaves the router; a moved one (same relays) routes as before.
  if (routerServicesOf(before) !== routerServicesOf(routed)) live.handOver(routed, () => live.later(REMOVED_PEER_LINGER_MS, () => dropRemovedPeers(live)))
}

/**
 * Removed peers go, unless a newer change is being handed over (its own
 * take-over comes back here later). The latest applied config decides.
 */
function dropRemovedPeers(live: LiveNodeControl): void {
  if (live.handingOver) return
  live.setPeers(peerTables(live.peerTable(), live.config, live.peerIndexLimit()).after)
}

/** Loads a config (`load` throws ConfigError when it is invalid) and applies it. */
export async function applyLoaded(node: { live: LiveNodeControl }, load: () => RelayConfig): Promise<ApplyResult> {
  let next: RelayConfig
  try {
    next = load()
  } catch (err) {
    if (err instanceof ConfigError && err.name === 'ConfigError') return { status: 'invalid', reasons: err.issues }
    throw err
  }
  return applyNetworkChange(node, next)
}

/**
 * The peer tables of a change: `during` the hand-over (new and kept peers
 * with their new endpoints and keys, removed ones still there) and `after`
 * it. A kept peer keeps its index; a new one gets one above every index
 * used so far, so a message about a removed peer can never reach another.
 */
export function peerTables(current: IndexedPeer[], next: RelayConfig, indexLimit: number): { during: IndexedPeer[]; after: IndexedPeer[] } {
  const byId = new Map(current.map((t) => [t.peer.id, t.index]))
  let free = current.reduce((m, t) => Math.max(m, t.index + 1), indexLimit)
  const after = next.peers.map((peer) => ({ index: byId.get(peer.id) ?? free++, peer }))
  const listed = new Set(next.peers.map((p) => p.id))
  const during = [...after, ...current.filter((t) => !listed.has(t.peer.id))].sort((a, b) => a.index - b.index)
  return { during, after }
}
