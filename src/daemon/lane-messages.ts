/**
 * What worker 0 (the main thread, which runs the control plane) and the
 * extra data-plane workers of a multi-worker relay say to each other. Only
 * control-path events cross: keys when a session changes, paths when a
 * route changes, the peer table and the services when a live change sets them, where each
 * peer's packets go when that changes (failover, DNS, live change), stats
 * once a second, logs. No packet ever crosses threads.
 */
import type { DataPlaneConfig } from '../config/data-plane.js'
import type { PeerKeys } from '../crypto/types.js'
import type { PathSnapshot } from '../dataplane/paths.js'
import type { IndexedPeer, LiveService, PeerEndpointState, RelayStats } from '../dataplane/relay.js'
import type { LogLevel } from '../io/log.js'

/** What a worker starts with: the data plane's share of the config, never the static private key. */
export interface LaneWorkerData {
  plane: DataPlaneConfig
  /** This worker's index (1..count-1; worker 0 is the main thread) and lane. */
  index: number
  count: number
  cryptoBackend: 'auto' | 'sodium' | 'tweetnacl'
  statsIntervalMs: number
}

export type ToLaneWorker =
  | { t: 'keys'; peer: number; keys: PeerKeys }
  | { t: 'paths'; snap: PathSnapshot }
  /** A live config change set the peer table (node/live-apply.ts). */
  | { t: 'peers'; table: IndexedPeer[] }
  /** A live config change set the services (new ports opened, draining flags, removed ones closed); answered by `services-done`. */
  | { t: 'services'; id: number; services: LiveService[] }
  /** Worker 0's addresses and active endpoint of every peer (Relay.endpointState); sent after every change. */
  | { t: 'endpoints'; state: PeerEndpointState[] }
  | { t: 'stop' }

export type FromLaneWorker =
  | { t: 'ready' }
  | { t: 'failed'; error: string; name: string }
  | { t: 'confirm'; peer: number; localIndex: number }
  | { t: 'stats'; stats: RelayStats }
  /** `error`: the worker could not open a new service's port and changed nothing. */
  | { t: 'services-done'; id: number; error?: string }
  | { t: 'log'; level: LogLevel; msg: string; fields?: Record<string, unknown> }
