/** The plain-text summary: one block per flow, direct next to overpass, paths, emulator error. */
import { forPair, type FlowResult, type L3Result, type LabResult } from '../run/result.js'
import { formatPathChecks } from '../run/path-checks.js'

const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-')

function pathText(p: string[]): string {
  return p.length > 0 ? p.join('>') : '(none)'
}

function flowBlock(d: FlowResult | undefined, o: FlowResult | undefined): string[] {
  const any = (d ?? o)!
  const e = any.expected
  const row = (label: string, pick: (r: FlowResult) => number): string => `  ${label.padEnd(22)}${(d ? f1(pick(d)) : '-').padStart(9)}${(o ? f1(pick(o)) : '-').padStart(10)}`
  const lines = [
    `${any.name} (${any.client} -> ${any.origin})`,
    `  ${''.padEnd(22)}${'direct'.padStart(9)}${'overpass'.padStart(10)}   (ms)`,
    row('forward one-way p50', (r) => r.forward.p50_ms),
    row('forward one-way p99', (r) => r.forward.p99_ms),
    row('reverse one-way p50', (r) => r.reverse.p50_ms),
    row('reverse one-way p99', (r) => r.reverse.p99_ms),
    row('round trip p50', (r) => r.rtt.p50_ms),
    row('jitter (fwd, RFC 3550)', (r) => r.jitter_ms),
    row('loss % (round trip)', (r) => r.loss_pct),
    row('loss % forward', (r) => r.forward_loss_pct),
    row('loss % reverse', (r) => r.reverse_loss_pct),
    row('longest gap', (r) => r.max_gap_ms),
    `  scenario: direct ${f1(e.directForwardMs)} / ${f1(e.directReverseMs)}, best ${f1(e.bestForwardMs)} via ${pathText(e.bestForwardPath)} / ${f1(e.bestReverseMs)} via ${pathText(e.bestReversePath)}`,
  ]
  for (const p of o?.paths ?? []) lines.push(`  t=${(p.t_ms / 1000).toFixed(1).padStart(5)} s  forward ${pathText(p.forward)}  reply ${pathText(p.reply)}`)
  if (o?.path_changes) lines.push(`  path changes since traffic start: forward ${o.path_changes.forward}, reply ${o.path_changes.reply}`)
  for (const e of o?.around_events ?? []) {
    lines.push(`  after ${(e.at_ms / 1000).toFixed(2)} s (${e.what}), until ${(e.window_ms[1] / 1000).toFixed(2)} s: gap ${f1(e.gap_ms)} ms (fwd ${f1(e.forward_gap_ms)}), lost ${e.lost_forward} fwd / ${e.lost_reverse} rev, p50 ${f1(e.forward.p50_ms)} / ${f1(e.reverse.p50_ms)} ms, p99 ${f1(e.forward.p99_ms)} / ${f1(e.reverse.p99_ms)} ms`)
  }
  return lines
}

export function formatSummary(r: LabResult): string {
  const lines = [`scenario ${r.scenario} (run ${r.run})`, '']
  for (const name of [...new Set(r.flows.map((f) => f.name))]) {
    lines.push(...flowBlock(r.flows.find((f) => f.name === name && f.via === 'direct'), r.flows.find((f) => f.name === name && f.via === 'overpass')), '')
  }
  if (r.l3) lines.push(...l3Block(r.l3), '')
  for (const e of r.events) lines.push(`event at ${(e.atMs / 1000).toFixed(2)} s (applied ${(e.applied_ms / 1000).toFixed(3)} s): ${e.action}${e.delayFactor !== undefined ? ` x${e.delayFactor}` : ''} ${e.from} -> ${e.to}`)
  for (const e of r.relay_events ?? []) lines.push(relayEventLine(e))
  for (const line of formatPathChecks(r.path_checks)) lines.push(`path check at ${line}`)
  for (const e of r.origin_events ?? []) lines.push(`origin leg ${e.exit} -> ${e.origin} ${e.action} at ${(e.at_ms / 1000).toFixed(2)} s (applied ${(e.applied_ms / 1000).toFixed(3)} s)${e.error ? `: FAILED: ${e.error}` : ''}`)
  const m = r.emulator
  if (m.backend === 'netem') lines.push('WAN: tc netem (kernel qdiscs; no user-space delay error to report)')
  else lines.push(`WAN emulator delay error (release time vs scheduled, ${m.samples} packets): p50 ${m.delay_error_p50_ms.toFixed(3)} ms, p99 ${m.delay_error_p99_ms.toFixed(3)} ms, max ${m.delay_error_max_ms.toFixed(3)} ms${m.realtime ? ' (SCHED_RR)' : ''}; host steal ${m.host_steal_ms} ms in ${(m.window_ms / 1000).toFixed(1)} s`)
  return lines.join('\n')
}

function relayEventLine(e: LabResult['relay_events'][number]): string {
  const head = `relay ${e.action} ${e.pop} at ${(e.at_ms / 1000).toFixed(2)} s (applied ${(e.applied_ms / 1000).toFixed(3)} s)`
  if (e.error) return `${head}: FAILED: ${e.error}`
  if (e.action === 'kill') return head
  if (e.steps !== undefined) return `${head}: ${networkSteps(e)}`
  const accepted = Object.entries(e.map_accepted_ms ?? {}).map(([p, t]) => `${p} ${t === null ? 'never' : `${(t / 1000).toFixed(2)} s`}`).join(', ')
  return `${head}: ready ${((e.ready_ms ?? NaN) / 1000).toFixed(2)} s, boot ${e.previous_boot_id ?? '?'} -> ${e.boot_id ?? '?'}, sessions with every peer ${e.sessions_ms == null ? 'never' : `${(e.sessions_ms / 1000).toFixed(2)} s`}, map took it at ${accepted || '-'}; replay drops ${e.replay_drops ?? 0}; state file ${e.state_file ? 'present' : 'absent'}`
}

/** A network change (run/network-changes.ts): its steps with their times and versions. */
function networkSteps(e: LabResult['relay_events'][number]): string {
  const steps = e.steps!.map((s) => `${s.step}${s.version !== undefined ? ` (v${s.version})` : ''} ${(s.at_ms / 1000).toFixed(2)} s`)
  if (e.sessions_ms !== undefined) steps.push(`sessions with every peer ${e.sessions_ms === null ? 'never' : `${(e.sessions_ms / 1000).toFixed(2)} s`}`)
  if (e.held_elsewhere) steps.push(`the others: ${Object.entries(e.held_elsewhere).map(([p, h]) => `${p} ${h}`).join('; ')}`)
  return steps.join('; ')
}

/** L3 sites: ping and iperf3 per branch, and what the data centre's capture saw. */
function l3Block(l3: L3Result): string[] {
  const lines = ['L3 mode (branch host -> data-centre host, across the overlay)']
  for (const p of l3.pairs) {
    const ping = forPair(l3.ping, p)
    const tcp = forPair(l3.tcp, p)
    const pingText = !ping || ping.skipped ? `ping skipped (${ping?.skipped ?? 'not run'})` : `ping ${ping.received}/${ping.sent}${ping.rtt_avg_ms !== undefined ? `, rtt avg ${f1(ping.rtt_avg_ms)} ms` : ''}`
    const tcpText = !tcp || tcp.skipped ? `tcp skipped (${tcp?.skipped ?? 'not run'})` : tcp.error ? `tcp FAILED: ${tcp.error}` : `tcp ${(tcp.bytes / 1048576).toFixed(1)} MiB received in ${tcp.seconds} s = ${tcp.mbps} Mbit/s, ${tcp.retransmits} retransmits`
    lines.push(`  ${p.site} ${p.host} -> ${p.dc} ${p.target} (replies via ${p.return_exit}): ${pingText}; ${tcpText}`)
  }
  if (l3.capture_skipped) lines.push(`  source-address capture skipped: ${l3.capture_skipped}`)
  for (const c of l3.capture) {
    const srcs = c.sources.map((s) => `${s.addr} ${Object.entries(s.protos).map(([k, v]) => `${k} ${v}`).join(' ')}`).join('; ')
    lines.push(`  capture in ${c.dc} on ${c.interfaces.join(', ')} (${c.filter}): ${c.packets} packets; branch sources: ${srcs || 'none'}`)
    lines.push(c.foreign.length === 0 ? '  every captured packet carries a branch host address' : `  OTHER SOURCES (rewritten?): ${c.foreign.map((s) => `${s.addr} x${s.packets}`).join(', ')}`)
    if (c.error) lines.push(`  capture error: ${c.error}`)
  }
  return lines
}
