/** The plain-text summary: one block per flow, direct next to overpass, paths, emulator error. */
import type { FlowResult, LabResult } from '../run/result.js'

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
    row('loss %', (r) => r.loss_pct),
    row('longest gap', (r) => r.max_gap_ms),
    `  scenario: direct ${f1(e.directForwardMs)} / ${f1(e.directReverseMs)}, best ${f1(e.bestForwardMs)} via ${pathText(e.bestForwardPath)} / ${f1(e.bestReverseMs)} via ${pathText(e.bestReversePath)}`,
  ]
  for (const p of o?.paths ?? []) lines.push(`  t=${(p.t_ms / 1000).toFixed(1).padStart(5)} s  forward ${pathText(p.forward)}  reply ${pathText(p.reply)}`)
  return lines
}

export function formatSummary(r: LabResult): string {
  const lines = [`scenario ${r.scenario} (run ${r.run})`, '']
  for (const name of [...new Set(r.flows.map((f) => f.name))]) {
    lines.push(...flowBlock(r.flows.find((f) => f.name === name && f.via === 'direct'), r.flows.find((f) => f.name === name && f.via === 'overpass')), '')
  }
  for (const e of r.events) lines.push(`event at ${(e.atMs / 1000).toFixed(2)} s (applied ${(e.applied_ms / 1000).toFixed(3)} s): ${e.action} ${e.from} -> ${e.to}`)
  const m = r.emulator
  if (m.backend === 'netem') lines.push('WAN: tc netem (kernel qdiscs; no user-space delay error to report)')
  else lines.push(`WAN emulator delay error (release time vs scheduled, ${m.samples} packets): p50 ${m.delay_error_p50_ms.toFixed(3)} ms, p99 ${m.delay_error_p99_ms.toFixed(3)} ms, max ${m.delay_error_max_ms.toFixed(3)} ms${m.realtime ? ' (SCHED_RR)' : ''}`)
  return lines.join('\n')
}
