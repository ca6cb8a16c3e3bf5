/**
 * The relay's optional HTTP listener (`metrics: { listen }` in the config):
 *
 *   GET /metrics       Prometheus text format (metric-families.ts)
 *   GET /              the status page (status-page.html), with status_page: true
 *   GET /status.json   what the page reads: the status, map and routes views
 *
 * Read-only: nothing here changes the relay. Every request takes one snapshot
 * of the views, the same ones the control socket serves.
 */
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { MetricsConfig } from '../config/types.js'
import type { Logger } from '../io/log.js'
import { packageVersion } from './build-info.js'
import { defineFamilies } from './metric-families.js'
import { createScrapeRegistry } from './scrape-registry.js'
import { snapshotOf, type RelayViews } from './views.js'

export class MetricsListenError extends Error {
  override readonly name = 'MetricsListenError'
  constructor(readonly address: string, readonly reason: string) {
    super(`cannot listen on metrics.listen ${address}: ${reason} (fix: pick a free port, or another address in metrics.listen)`)
  }
}

export interface MetricsServer {
  /** The bound address (port 0 in the config picks a free one). */
  address(): { host: string; port: number }
  close(): Promise<void>
}

const HERE = path.dirname(fileURLToPath(import.meta.url))
/** status-page.html is not compiled: from dist/src/metrics it is read from the shipped src/metrics. */
export const STATUS_PAGE_FILE = [path.join(HERE, 'status-page.html'), path.resolve(HERE, '../../../src/metrics/status-page.html')].find((f) => fs.existsSync(f)) ?? path.join(HERE, 'status-page.html')

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  // The page's script is inline and only fetches /status.json from this listener.
  'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
}
const COMMON_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }

export async function startMetricsServer(cfg: MetricsConfig, views: RelayViews, log: Logger): Promise<MetricsServer> {
  const scrape = createScrapeRegistry((d) => defineFamilies(d, { version: packageVersion() }))
  const page = cfg.statusPage ? fs.readFileSync(STATUS_PAGE_FILE) : undefined
  const server = http.createServer((req, res) => {
    const send = (status: number, headers: Record<string, string>, body: string | Buffer): void => {
      res.writeHead(status, { ...COMMON_HEADERS, ...headers })
      res.end(req.method === 'HEAD' ? undefined : body)
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }, 'read-only: GET only\n')
    const url = (req.url ?? '/').split('?')[0]
    if (url === '/metrics') {
      scrape.render(snapshotOf(views)).then(
        (text) => send(200, { 'content-type': scrape.registry.contentType }, text),
        (err: Error) => send(500, { 'content-type': 'text/plain' }, `${err.message}\n`),
      )
      return
    }
    if (page !== undefined && (url === '/' || url === '/index.html')) return send(200, PAGE_HEADERS, page)
    if (page !== undefined && url === '/status.json') {
      const snap = snapshotOf(views)
      return send(200, { 'content-type': 'application/json' }, JSON.stringify({ relay: snap.status.relay, ...snap }))
    }
    send(404, { 'content-type': 'text/plain' }, `not found; try /metrics${page ? ' or /' : ''}\n`)
  })
  server.headersTimeout = 5000
  server.requestTimeout = 10_000
  const shown = cfg.listen.host.includes(':') ? `[${cfg.listen.host}]:${cfg.listen.port}` : `${cfg.listen.host}:${cfg.listen.port}`
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new MetricsListenError(shown, err.code ?? err.message)))
    server.listen(cfg.listen.port, cfg.listen.host, () => resolve())
  })
  server.on('error', (err) => log.warn('metrics listener error', { error: err.message }))
  const bound = server.address() as { address: string; port: number }
  log.info('metrics listening', { address: bound.address, port: bound.port, status_page: cfg.statusPage })
  return {
    address: () => ({ host: bound.address, port: bound.port }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
