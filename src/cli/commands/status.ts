import type { Command } from 'commander'
import { ConfigError, loadConfig } from '../../config/index.js'
import { controlRequest } from '../../daemon/index.js'
import type { EndpointView, RelayStats } from '../../dataplane/index.js'
import type { WorkerSummary } from '../../dataplane/worker-stats.js'
import type { AppliedConfigView, ControlPlaneView } from '../../daemon/relay-views.js'
import { DEFAULT_WATCH_INTERVAL_S, parseWatchInterval, renderOrWatch } from '../watch.js'

/** `overpass status`: per-peer and per-service counters from a running daemon. */
export function register(program: Command): void {
  program
    .command('status')
    .description("print a running relay's per-peer and per-service counters")
    .option('-c, --config <file>', 'relay config file (to find its control socket)')
    .option('-s, --socket <path>', 'control socket path (instead of -c)')
    .option('--json', 'print raw JSON')
    .option('-w, --watch [seconds]', `refresh in place every few seconds (default ${DEFAULT_WATCH_INTERVAL_S}) until Ctrl-C`, parseWatchInterval)
    .action(async (opts: { config?: string; socket?: string; json?: boolean; watch?: number | boolean }) => {
      const socketPath = resolveSocket(opts)
      if (socketPath === undefined) return
      await renderOrWatch('status', opts.watch, async () => {
        try {
          const stats = (await controlRequest(socketPath, { cmd: 'status' })) as RelayStats
          process.exitCode = 0
          return opts.json ? JSON.stringify(stats, null, 2) + '\n' : formatStatus(stats)
        } catch (err) {
          process.stderr.write(`${(err as Error).message}\n`)
          process.exitCode = 1
          return undefined
        }
      })
    })
}

export function resolveSocket(opts: { config?: string; socket?: string }): string | undefined {
  if (opts.socket) return opts.socket
  if (!opts.config) {
    process.stderr.write('give -c relay.yaml or -s /path/to/control.sock\n')
    process.exitCode = 2
    return undefined
  }
  try {
    return loadConfig(opts.config).relay.controlSocket
  } catch (err) {
    process.stderr.write(err instanceof ConfigError ? err.message + '\n' : String(err) + '\n')
    process.exitCode = 2
    return undefined
  }
}

/** The network version running and how the last live change ended. */
function configLine(c: AppliedConfigView): string {
  const parts = [c.network_version !== undefined ? `network version ${c.network_version}` : 'config']
  const last = c.last_change as { trigger: string; at: string; result: { status: string; version?: number } } | undefined
  if (last !== undefined) parts.push(`last change (${last.trigger}, ${last.at}): ${last.result.status}${last.result.version !== undefined ? ` v${last.result.version}` : ''}`)
  if (c.handing_over) parts.push('new router learning the map')
  return parts.join('  ')
}

/** One batched native socket's counters (io/native-udp.ts). */
function socketLine(o: Record<string, number>): string {
  const perBatch = (n: number, batches: number): string => (batches > 0 ? (n / batches).toFixed(1) : '0')
  return `rx ${o.rxPackets} pkts in ${o.rxBatches} batches (${perBatch(o.rxPackets, o.rxBatches)}/batch), truncated ${o.rxTruncated}, errors ${o.rxErrors}; tx ${o.txPackets} pkts in ${o.txBatches} sendmmsg batches, dropped ${o.txDropped}, errors ${o.txErrors}`
}

/** The network_version part of status (rollout/network-versions.ts VersionStatus). */
interface NetworkVersionView {
  running: number
  on_disk: number
  newest?: number
  held?: { version: number; reason: string; detail: string }
  waiting_for?: string[]
  fetching?: { version: number; from: string; chunks: number; of: number }
  last_rollback?: { from: number; to: number; afterMs: number }
}

function networkVersionLines(v: NetworkVersionView | undefined): string[] {
  if (v === undefined) return []
  const lines = [`network version ${v.running}${v.on_disk !== v.running ? ` (version ${v.on_disk} on disk, runs after a restart)` : ''}`]
  if (v.held !== undefined) lines.push(`  held aside: version ${v.held.version}, ${v.held.reason.replace('_', ' ')}: ${v.held.detail}${v.waiting_for?.length ? ` (waiting for ${v.waiting_for.join(', ')})` : ''}`)
  if (v.fetching !== undefined) lines.push(`  fetching version ${v.fetching.version} from ${v.fetching.from}: ${v.fetching.chunks}/${v.fetching.of} chunks`)
  if (v.last_rollback !== undefined) lines.push(`  rolled back from version ${v.last_rollback.from} to ${v.last_rollback.to}: every peer was lost ${(v.last_rollback.afterMs / 1000).toFixed(1)} s after applying it`)
  return lines
}

/** Degraded mode (docs/routing.md, "Degraded control plane"). */
export function controlPlaneLine(cp: ControlPlaneView): string {
  if (!cp.degraded) return 'control plane ok'
  return `control plane degraded since ${cp.degraded_since} (${cp.degraded_for_s} s): no map updates from ${cp.held.join(', ')}, still heard; forwarding on their last columns`
}

export function formatStatus(s: RelayStats & { worker_count?: number; workers?: WorkerSummary[]; control_plane?: ControlPlaneView; config?: unknown }): string {
  const lines: string[] = []
  const several = s.workers !== undefined
  lines.push(`relay ${s.relay}  up ${s.uptime_s}s  crypto ${s.crypto_backend}${several ? `  workers ${s.worker_count}` : ''}`)
  lines.push(...networkVersionLines((s as { network_version?: NetworkVersionView }).network_version))
  const cp = s.control_plane
  if (cp !== undefined) lines.push(controlPlaneLine(cp))
  if (s.config !== undefined) lines.push(configLine(s.config as AppliedConfigView))
  if (s.overlay_socket !== undefined) lines.push(`overlay socket (batched${several ? ', worker 0' : ''}): ${socketLine(s.overlay_socket)}`)
  for (const [name, st] of Object.entries(s.service_sockets ?? {})) lines.push(`service socket ${name} (batched): ${socketLine(st)}`)
  const o = s.origin_sockets
  if (o !== undefined) lines.push(`origin sockets (all exit flows): rx ${o.rxPackets} pkts, truncated ${o.rxTruncated}, errors ${o.rxErrors}; tx ${o.txPackets} pkts, dropped ${o.txDropped}, errors ${o.txErrors}${o.txLastErrno ? ` (last errno ${o.txLastErrno})` : ''}`)
  lines.push('')
  lines.push('peers')
  lines.push(`  ${'peer'.padEnd(12)} ${'endpoint'.padEnd(22)} ${'session'.padEnd(8)} ${'pkts in'.padStart(10)} ${'bytes in'.padStart(12)} ${'pkts out'.padStart(10)} ${'bytes out'.padStart(12)}`)
  for (const [id, p] of Object.entries(s.peers)) {
    lines.push(
      `  ${id.padEnd(12)} ${String(p.endpoint).padEnd(22)} ${(p.session ? 'up' : 'down').padEnd(8)} ${num(p.packets_in, 10)} ${num(p.bytes_in, 12)} ${num(p.packets_out, 10)} ${num(p.bytes_out, 12)}`,
    )
    const endpoints = p.endpoints as EndpointView[] | undefined
    if (endpoints !== undefined) lines.push(`  ${''.padEnd(12)} endpoints: ${endpoints.map(endpointText).join(', ')}`)
  }
  lines.push('')
  lines.push('services')
  for (const [name, v] of Object.entries(s.services)) {
    // Sticky exits (dataplane/flow-exits.ts): live flows moved to another exit because theirs failed.
    const moves = v.flow_exit_moves !== undefined && v.roles.includes('ingress') ? `  exit moves ${v.flow_exit_moves}` : ''
    const draining = v.draining === true ? '  DRAINING (removed: no new flows; closes when the drain ends)' : ''
    lines.push(`  ${name} (${v.roles.join(', ') || 'no role here'})  flows: ingress ${v.ingress_flows}, exit ${v.exit_flows}${moves}${draining}`)
    lines.push(`    clients: in ${v.client.packets_in} pkts / ${v.client.bytes_in} B, out ${v.client.packets_out} pkts / ${v.client.bytes_out} B`)
    lines.push(`    origin:  out ${v.origin.packets_out} pkts / ${v.origin.bytes_out} B, in ${v.origin.packets_in} pkts / ${v.origin.bytes_in} B`)
    const d = v.direct
    if (d !== undefined) lines.push(`    direct:  ${d.flows} flow${d.flows === 1 ? '' : 's'} now straight to the origin (no overlay path); out ${d.packets_out} pkts / ${d.bytes_out} B, in ${d.packets_in} pkts / ${d.bytes_in} B`)
    const drops = Object.entries(v.drops)
    if (drops.length > 0) lines.push(`    drops:   ${drops.map(([k, n]) => `${k}=${n}`).join(' ')}`)
  }
  if (s.l3 !== undefined) {
    const l = s.l3
    lines.push('')
    lines.push(`l3  tun ${l.tun}  mtu ${l.mtu}  flows ${l.flows}`)
    lines.push(`    tun: in ${l.tun_packets_in ?? 0} pkts / ${l.tun_bytes_in ?? 0} B, out ${l.tun_packets_out ?? 0} pkts / ${l.tun_bytes_out ?? 0} B`)
    lines.push(`    icmp errors sent ${l.icmp_errors_sent ?? 0}, packets fragmented ${l.packets_fragmented ?? 0}, tcp mss clamped ${l.tcp_mss_clamped ?? 0}`)
  }
  if (several) {
    lines.push('')
    lines.push('workers (counters above are summed over all; sockets and crypto are per worker)')
    for (const w of s.workers!) {
      const flows = Object.entries(w.services).map(([name, v]) => `${name} ${v.ingress_flows}/${v.exit_flows}`).join(', ')
      const c = w.crypto
      lines.push(`  ${String(w.worker).padEnd(3)} flows (ingress/exit): ${flows || '-'}${c ? `  crypto rx ${c.rxPackets} tx ${c.txPackets}` : ''}`)
      if (w.overlay_socket !== undefined) lines.push(`      overlay socket: ${socketLine(w.overlay_socket)}`)
    }
  }
  lines.push('')
  const drops = Object.entries(s.drops)
  lines.push(`drops${drops.length === 0 ? ': none' : ''}`)
  for (const [k, n] of drops) lines.push(`  ${k.padEnd(28)} ${n}`)
  return lines.join('\n') + '\n'
}

function num(v: unknown, width: number): string {
  return String(v ?? 0).padStart(width)
}

/** One endpoint of a peer with several (dataplane/peer-endpoints.ts): in use or spare, and its health. */
function endpointText(e: EndpointView): string {
  return `${e.endpoint} (${e.active ? 'in use' : 'spare'}, ${e.health}${e.rtt_ms !== undefined ? ` ${e.rtt_ms} ms` : ''})`
}
