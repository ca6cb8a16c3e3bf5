/**
 * What the metrics endpoint and the status page read: the same three views
 * the control socket answers for `overpass status`, `map` and `routes`
 * (daemon/relay-views.ts builds them), so every number an operator scrapes or
 * sees in a browser is the number the CLI prints.
 */
import type { RelayStats } from '../dataplane/relay.js'
import type { WorkerSummary } from '../dataplane/worker-stats.js'
import { routeChangeKey, type ExitPathView, type RouteChange } from '../control/router-bridge.js'
import type { EdgeView, PathChecksView, PathChoice, RouterCounters } from '../route/types.js'

/** `overpass status --json`: the relay's counters summed over its workers, plus the router's. */
export type StatusView = RelayStats & { boot_id?: number; worker_count?: number; workers?: WorkerSummary[]; router?: RouterCounters; control_plane?: ControlPlaneView; config?: unknown }

/** Degraded mode in `status` (route/column-hold.ts): map columns kept stale because their relays are still heard. */
export interface ControlPlaneView {
  degraded: boolean
  /** Seconds since the spell began (one decimal); only while degraded. */
  degraded_for_s?: number
  /** When it began, wall clock (ISO 8601), for display. */
  degraded_since?: string
  /** Relays whose stale columns are kept. */
  held: string[]
}

/** `overpass map --json`. */
export interface MapView {
  relay: string
  edges: EdgeView[]
}

/** `overpass routes --json`; `changes` counts route changes since start by `service/direction`. */
export interface RoutesView {
  relay: string
  forward: PathChoice[]
  reply: PathChoice[]
  history: (RouteChange & { atMs: number })[]
  changes: Record<string, number>
  /** Paths demoted because the data fared worse than the map predicted (control/path-reports.ts). */
  path_checks?: PathChecksView
  /** Per service with several exits: the path to each usable exit, which sticky flows ride (dataplane/flow-exits.ts). */
  by_exit?: Record<string, ExitPathView[]>
}

export interface RelayViews {
  status(): StatusView
  map(): MapView
  routes(): RoutesView
}

/** One moment's views, taken once per scrape so every metric in it agrees. */
export interface ViewSnapshot {
  status: StatusView
  map: MapView
  routes: RoutesView
}

export function snapshotOf(views: RelayViews): ViewSnapshot {
  return { status: views.status(), map: views.map(), routes: views.routes() }
}

/** The key of RoutesView.changes. */
export { routeChangeKey }

/** Origin legs appear in the map as edges to `origin:<service>`. */
export const ORIGIN_PREFIX = 'origin:'
