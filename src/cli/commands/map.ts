import type { Command } from 'commander'
import { controlRequest } from '../../daemon/index.js'
import type { ExitPathView } from '../../daemon/relay-views.js'
import type { EdgeView, PathChecksView, PathChoice } from '../../route/types.js'
import { resolveSocket } from './status.js'
import { DEFAULT_WATCH_INTERVAL_S, parseWatchInterval, renderOrWatch } from '../watch.js'

/** `overpass map` and `overpass routes`: the running relay's view of the network. */
export function register(program: Command): void {
  program
    .command('map')
    .description('print the one-way latency matrix (ms, jitter, loss) as a running relay knows it')
    .option('-c, --config <file>', 'relay config file (to find its control socket)')
    .option('-s, --socket <path>', 'control socket path (instead of -c)')
    .option('--json', 'print raw JSON')
    .option('-w, --watch [seconds]', `refresh in place every few seconds (default ${DEFAULT_WATCH_INTERVAL_S}) until Ctrl-C`, parseWatchInterval)
    .action(async (opts: WatchableOptions) => {
      const socketPath = resolveSocket(opts)
      if (socketPath === undefined) return
      await renderOrWatch('map', opts.watch, async () => {
        const m = (await ask(socketPath, 'map')) as { relay: string; edges: EdgeView[] } | undefined
        return m && (opts.json ? JSON.stringify(m, null, 2) + '\n' : formatMap(m.edges))
      })
    })
  program
    .command('routes')
    .description('print the current path per service and direction, next to the direct path')
    .option('-c, --config <file>', 'relay config file (to find its control socket)')
    .option('-s, --socket <path>', 'control socket path (instead of -c)')
    .option('--json', 'print raw JSON')
    .option('-w, --watch [seconds]', `refresh in place every few seconds (default ${DEFAULT_WATCH_INTERVAL_S}) until Ctrl-C`, parseWatchInterval)
    .action(async (opts: WatchableOptions) => {
      const socketPath = resolveSocket(opts)
      if (socketPath === undefined) return
      await renderOrWatch('routes', opts.watch, async () => {
        const r = (await ask(socketPath, 'routes')) as RoutesAnswer | undefined
        return r && (opts.json ? JSON.stringify(r, null, 2) + '\n' : formatRoutes(r))
      })
    })
}

interface WatchableOptions {
  config?: string
  socket?: string
  json?: boolean
  watch?: number | boolean
}

async function ask(socketPath: string, cmd: string): Promise<unknown> {
  try {
    const result = await controlRequest(socketPath, { cmd })
    process.exitCode = 0
    return result
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`)
    process.exitCode = 1
    return undefined
  }
}

/**
 * A from x to matrix: each cell is the one-way delay in ms (offset-corrected
 * estimate), then jitter and loss when they are not zero; `down` for a dead edge.
 */
export function formatMap(edges: EdgeView[]): string {
  const relays = [...new Set(edges.flatMap((e) => [e.from, e.to]))].sort()
  const cell = new Map(edges.map((e) => [`${e.from}>${e.to}`, e]))
  const text = (e: EdgeView | undefined): string => {
    if (!e) return '-'
    if (!e.up) return 'down'
    let s = e.delayMs.toFixed(1)
    if (e.jitterMs >= 0.05) s += ` ±${e.jitterMs.toFixed(1)}`
    if (e.lossPct > 0) s += ` ${e.lossPct.toFixed(0)}%`
    return s
  }
  const width = Math.max(8, ...edges.map((e) => text(e).length + 2), ...relays.map((r) => r.length + 2))
  const lines = ['one-way delay ms (±jitter, loss%), row = from, column = to', '']
  lines.push(`${'from\\to'.padEnd(width)}${relays.map((r) => r.padStart(width)).join('')}`)
  for (const from of relays) {
    lines.push(`${from.padEnd(width)}${relays.map((to) => (from === to ? '·' : text(cell.get(`${from}>${to}`)))).map((c) => c.padStart(width)).join('')}`)
  }
  return lines.join('\n') + '\n'
}

/** What `routes` answers (daemon/relay-views.ts); `path_checks` is absent on a relay without path reports. */
type RoutesAnswer = { relay: string; forward: PathChoice[]; reply: PathChoice[]; path_checks?: PathChecksView; by_exit?: Record<string, ExitPathView[]> }

export function formatRoutes(r: RoutesAnswer): string {
  const lines: string[] = [`routes at relay ${r.relay}`]
  const row = (dir: string, p: PathChoice): string => {
    const direct = p.directDelayMs
    const gain = direct !== undefined && direct > 0 ? ` (direct ${direct.toFixed(1)} ms, ${(((direct - p.delayMs) / direct) * 100).toFixed(1)}% faster)` : ''
    const backup = p.backup ? `  backup ${p.backup.join(' > ')}` : ''
    return `  ${p.service.padEnd(12)} ${dir.padEnd(8)} ${p.path.join(' > ').padEnd(30)} ${p.delayMs.toFixed(1).padStart(7)} ms${gain}${backup}`
  }
  if (r.forward.length + r.reply.length === 0) lines.push('  no routed services here (pinned services use their configured paths)')
  for (const p of r.forward) lines.push(row('forward', p))
  for (const p of r.reply) lines.push(row('reply', p))
  lines.push(...formatExitPaths(r.by_exit))
  lines.push(...formatPathChecks(r.path_checks))
  return lines.join('\n') + '\n'
}

/** Where sticky flows go: a flow keeps its exit, so one not on the best exit rides that exit's path (dataplane/flow-exits.ts). */
function formatExitPaths(byExit: Record<string, ExitPathView[]> | undefined): string[] {
  const services = Object.entries(byExit ?? {})
  if (services.length === 0) return []
  const lines = ['paths per exit (flows keep their exit; those not on the best one ride these)']
  for (const [service, paths] of services) {
    if (paths.length === 0) lines.push(`  ${service.padEnd(12)} no usable exit`)
    for (const p of paths) lines.push(`  ${service.padEnd(12)} exit ${p.exit.padEnd(8)} ${p.path.join(' > ')}${p.backup ? `  backup ${p.backup.join(' > ')}` : ''}`)
  }
  return lines
}

/** The demotions of paths whose data fared worse than the map predicted (docs/routing.md, "Path reports"). */
function formatPathChecks(c: PathChecksView | undefined): string[] {
  if (c === undefined) return []
  const unit = (reason: string): string => (reason === 'loss' ? '% loss' : ' ms over the map')
  const lines = [`path checks: ${c.demotions} demotion${c.demotions === 1 ? '' : 's'} (loss ${c.by_reason.loss}, delay ${c.by_reason.delay}), ${c.reports_received} reports in, ${c.reports_sent} out`]
  for (const e of c.demoted_edges) lines.push(`  demoted ${`${e.from} > ${e.to}`.padEnd(24)} for ${(e.remaining_ms / 1000).toFixed(0)} s more`)
  for (const d of c.recent.slice(-5)) {
    lines.push(`  ${(d.ago_ms / 1000).toFixed(0).padStart(5)} s ago  ${d.path.join(' > ').padEnd(30)} ${d.reason}: ${d.measured}${unit(d.reason)} (limit ${d.limit}), held ${(d.holdMs / 1000).toFixed(0)} s`)
  }
  return lines
}
