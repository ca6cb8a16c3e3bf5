/**
 * Applying a changed config to a running relay without a restart: the one
 * entry point for `SIGHUP`, `overpass reload` and a newly adopted signed
 * network version.
 *
 *   const result = await applyNetworkChange(node, nextConfig)
 *   // result.status: 'applied' | 'unchanged' | 'needs-restart' | 'invalid'
 *
 * The new config must be a validated RelayConfig (config/loadConfig, the
 * same validation as `overpass check`); `applyLoaded` takes a loader and
 * turns its ConfigError into an `invalid` result. A config is applied whole
 * or not at all: anything the relay only reads at start refuses it
 * (`needs-restart`, naming the fields, network-change.ts), and the crypto
 * endpoint checks the new peer table before anything changes.
 *
 * Order, so flows that do not touch the change lose nothing:
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
import type { RelayConfig } from '../config/types.js'
import type { IndexedPeer } from '../dataplane/relay.js'
import { describeDiff, diffConfigs, isEmptyDiff, type ConfigDiff, type RestartField } from './network-change.js'

/**
 * How long a removed relay's session outlives our last route through it:
 * other relays apply a new version at their own time (a canary first, the
 * rest minutes later), and until they do they may route through the removed
 * relay to us.
 */
export const REMOVED_PEER_LINGER_MS = 30_000

/** What applying a config did. Never partial: `applied` is all of it, anything else none of it. */
export type ApplyResult =
  | { status: 'applied'; version?: number; changes: string[]; diff: ConfigDiff; handOver: boolean }
  | { status: 'unchanged'; version?: number }
  | { status: 'needs-restart'; version?: number; fields: RestartField[] }
  | { status: 'invalid'; version?: number; reasons: ConfigIssue[] }

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
}

/** Applies `next` to a running node (see the module comment). */
export async function applyNetworkChange(node: { live: LiveNodeControl }, next: RelayConfig): Promise<ApplyResult> {
  const live = node.live
  const version = next.network?.version
  const diff = diffConfigs(live.config, next)
  if (diff.restart.length > 0) return { status: 'needs-restart', version, fields: diff.restart }
  if (diff.servicesAdded.length > 0 || diff.servicesRemoved.length > 0) {
    const names = [...diff.servicesAdded, ...diff.servicesRemoved]
    return { status: 'needs-restart', version, fields: names.map((n) => ({ field: `services.${n}`, message: `services.${n}: adding or removing a service needs a restart in this version (docs/operating.md, Live changes)` })) }
  }
  if (isEmptyDiff(diff)) {
    live.commit(next)
    return { status: 'unchanged', version }
  }
  const { during } = peerTables(live.peerTable(), next, live.peerIndexLimit())
  try {
    live.setPeers(during)
  } catch (err) {
    if (!(err instanceof Error) || err.name !== 'EndpointConfigError') throw err
    return { status: 'invalid', version, reasons: [{ path: 'peers', message: err.message, fix: 'correct the relays\' keys in the network file' }] }
  }
  if (diff.ownKeyChanged) live.setPrivateKey(next.relay.privateKey)
  // The router signs our map columns and checks the peers' with their keys: a key change builds a new one too.
  const handOver = diff.peersAdded.length > 0 || diff.peersRemoved.length > 0 || diff.keysChanged.length > 0 || diff.ownKeyChanged || diff.routingChanged
  // `during` is `after` plus removed peers, which only a hand-over's take-over (and a linger) drops.
  if (handOver) live.handOver(next, () => live.later(REMOVED_PEER_LINGER_MS, () => dropRemovedPeers(live)))
  live.commit(next)
  return { status: 'applied', version, changes: describeDiff(diff), diff, handOver }
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
