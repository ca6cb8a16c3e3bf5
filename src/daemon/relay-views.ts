/**
 * The three read-only views of a running relay, built in one place so the
 * control socket (`overpass status|map|routes`), the Prometheus endpoint and
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
export function relayViews(config: RelayConfig, relay: Relay, router: Router, bridge: RouterBridge, lanes: LaneWorkers | undefined, bootId: number): RelayViews {
  const workers = config.relay.workers
  return {
    status: (): StatusView => ({
      boot_id: bootId,
      ...statsWithWorkers(relay.stats(), lanes?.latestStats() ?? new Map(), workers),
      router: router.counters?.(),
      control_plane: controlPlaneView(router),
    }),
    map: () => ({ relay: config.relay.id, edges: router.edges() }),
    routes: () => ({ relay: config.relay.id, ...router.routes(), history: bridge.history.slice(-ROUTES_HISTORY_SHOWN), changes: Object.fromEntries(bridge.changeCounts), path_checks: bridge.pathChecks() }),
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

/** The control socket's commands. */
export function answerControl(views: RelayViews, req: { cmd: string }): unknown {
  if (req.cmd === 'status') return views.status()
  if (req.cmd === 'map') return views.map()
  if (req.cmd === 'routes') return views.routes()
  throw new Error(`unknown command ${JSON.stringify(req.cmd)}`)
}
