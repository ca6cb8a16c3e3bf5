/**
 * metrics/ owns what a relay tells monitoring from outside the control
 * socket: an optional HTTP listener (`metrics:` in the config) serving the
 * Prometheus text format at /metrics and, with `status_page: true`, a small
 * read-only status page at / that reads /status.json. Values are read from the
 * relay's own counters and the router's map at scrape time through the same
 * views the control socket serves (views.ts); nothing is counted here.
 *
 *   const server = await startMetricsServer(config.metrics, views, log)
 *   // curl http://127.0.0.1:9469/metrics
 *   await server.close()
 */
export { startMetricsServer, MetricsListenError, STATUS_PAGE_FILE, type MetricsServer } from './http-server.js'
export { createScrapeRegistry, type ScrapeRegistry, type FamilyDefiner } from './scrape-registry.js'
export { defineFamilies } from './metric-families.js'
export { snapshotOf, routeChangeKey, ORIGIN_PREFIX, type RelayViews, type ViewSnapshot, type StatusView, type MapView, type RoutesView } from './views.js'
