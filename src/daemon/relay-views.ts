/**
 * The three read-only views of a running relay, built in one place so the
 * control socket (`overpass status|map|routes`; `reload` applies a changed
 * config, daemon/reload.ts), the Prometheus endpoint and
 * the status page (src/metrics/) all read the same numbers.
 */
import type { RelayConfig } from '../config/types.js'
import type { Relay } from '../dataplane/relay.js'
import type { ControlPlaneView, RelayViews, StatusView } from '../metrics/views.js'

export type { ControlPlaneView }
import type { Router } from '../route/types.js'
import type { RouterBridge } from '../control/router-bridge.js'
import { statsWithWorkers } from '../dataplane/worker-stats.js'
import type { LaneWorkers } from './workers.js'

/** Route changes `overpass routes` lists (the bridge keeps up to 1000). */
const ROUTES_HISTORY_SHOWN = 50

/** `bootId` is shown in status: the lab checks that a restarted relay comes back with a new one (docs/lab.md). */
export function relayViews(config: RelayConfig, relay: Relay, bridge: RouterBridge, lanes: LaneWorkers | undefined, bootId: number, applied?: () => AppliedConfigView): RelayViews {
  const workers = config.relay.workers
  // The router is read through the bridge each time: a live config change hands over to a new one.
  const router = (): Router => bridge.router
  return {
    status: (): StatusView => ({
      boot_id: bootId,
      ...statsWithWorkers(relay.stats(), lanes?.latestStats() ?? new Map(), workers),
      router: router().counters?.(),
      control_plane: controlPlaneView(router()),
      ...(applied !== undefined ? { config: applied() } : {}),
    }),
    map: () => ({ relay: config.relay.id, edges: router().edges() }),
    routes: () => ({ relay: config.relay.id, ...router().routes(), history: bridge.history.slice(-ROUTES_HISTORY_SHOWN), changes: Object.fromEntries(bridge.changeCounts), path_checks: bridge.pathChecks(), by_exit: bridge.forwardByExit() }),
  }
}

/**
 * Degraded mode for `status` (route/column-hold.ts): the wall-clock start is
 * for people reading it; the duration comes from the router's monotonic clock.
 */
export function controlPlaneView(router: Router, wallNowMs = Date.now()): ControlPlaneView | undefined {
  const h = router.controlPlane?.()
  if (h === undefined) return undefined
  if (!h.degraded) return { degraded: false, held: [] }
  const forMs = h.forMs ?? 0
  return { degraded: true, degraded_for_s: Math.round(forMs / 100) / 10, degraded_since: new Date(wallNowMs - forMs).toISOString(), held: h.held }
}

/** `status.config`: the network version running and the outcome of the last live change (daemon/reload.ts). */
export interface AppliedConfigView {
  /** The signed network version applied, when the config came from a local file. */
  network_version?: number
  /** The last reload or adopted version: when, what, and how it ended. */
  last_change?: unknown
  /** A new router is learning the map before it takes over (a change is being applied). */
  handing_over: boolean
}

/** The control socket's commands; `reload` re-reads the config file and applies it (daemon/reload.ts). */
export function answerControl(views: RelayViews, req: { cmd: string }, reload?: () => Promise<unknown>): unknown {
  if (req.cmd === 'reload' && reload !== undefined) return reload()
  if (req.cmd === 'status') return views.status()
  if (req.cmd === 'map') return views.map()
  if (req.cmd === 'routes') return views.routes()
  throw new Error(`unknown command ${JSON.stringify(req.cmd)}`)
}

/** The per-exit paths in `overpass routes` (`by_exit`), for the CLI, which reads views through daemon/. */
export type { ExitPathView } from '../control/router-bridge.js'
