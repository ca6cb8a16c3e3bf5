/**
 * The self-contained HTML report: per flow, one-way latency over time
 * (direct vs overpass, both directions, event markers) and latency CDFs;
 * the paths Overpass chose over time; the scenario's one-way latency map
 * as a heatmap next to the map the relays measured; for L3 sites, ping,
 * TCP and the data centre's source-address capture (l3-html.ts).
 */
import type { EdgeView } from '../../src/route/types.js'
import type { FlowResult, FlowSamples, LabResult } from '../run/result.js'
import { cdf, chart, esc } from './svg.js'
import { formatSummary } from './text.js'
import { l3Html } from './l3-html.js'

const DIRECT = '#d9822b'
const OVERPASS = '#2b6cd9'

function flowSection(r: LabResult, name: string, samples: FlowSamples): string {
  const d = samples.get(`${name}/direct`) ?? []
  const o = samples.get(`${name}/overpass`) ?? []
  const markers = eventMarkers(r)
  const over = (col: 2 | 3, dir: string): string => chart({
    title: `${name}: ${dir} one-way delay over time`, xLabel: 'time since traffic start (s)', yLabel: 'ms',
    series: [{ label: 'direct', color: DIRECT, points: d.map((s) => [s[1] / 1000, s[col]]) }, { label: 'overpass', color: OVERPASS, points: o.map((s) => [s[1] / 1000, s[col]]) }],
    markers,
  })
  const dist = (col: 2 | 3, dir: string): string => chart({
    title: `${name}: ${dir} one-way delay CDF`, xLabel: 'ms', yLabel: 'fraction of packets', width: 356,
    series: [{ label: 'direct', color: DIRECT, points: cdf(d.map((s) => s[col])), line: true }, { label: 'overpass', color: OVERPASS, points: cdf(o.map((s) => s[col])), line: true }],
  })
  const op = r.flows.find((f) => f.name === name && f.via === 'overpass')
  const paths = (op?.paths ?? []).map((p) => `<tr><td>${(p.t_ms / 1000).toFixed(1)} s</td><td>${esc(p.forward.join(' → '))}</td><td>${esc(p.reply.join(' → '))}</td></tr>`).join('')
  return `<h2>${esc(name)}</h2>${statsTable(r.flows.filter((f) => f.name === name))}
<div>${over(2, 'forward')}</div><div>${over(3, 'reverse')}</div>
<div class="row">${dist(2, 'forward')}${dist(3, 'reverse')}</div>
<h3>Overpass paths over time</h3><table><tr><th>since</th><th>forward</th><th>reply</th></tr>${paths}</table>`
}

/** One marker per moment and action; a pair cut both ways reads "cut lax<>dal". */
function eventMarkers(r: LabResult): { x: number; label: string }[] {
  const groups = new Map<string, { x: number; action: string; pairs: Set<string> }>()
  for (const e of r.events) {
    const key = `${Math.round(e.applied_ms / 50)}:${e.action}`
    const g = groups.get(key) ?? { x: e.applied_ms / 1000, action: e.action, pairs: new Set<string>() }
    const back = `${e.to}>${e.from}`
    if (g.pairs.has(back)) {
      g.pairs.delete(back)
      g.pairs.add(`${e.to}<>${e.from}`)
    } else g.pairs.add(`${e.from}>${e.to}`)
    groups.set(key, g)
  }
  const runner = [
    ...(r.relay_events ?? []).map((e) => ({ x: e.applied_ms / 1000, label: `${e.action} relay ${e.pop}` })),
    ...(r.origin_events ?? []).map((e) => ({ x: e.applied_ms / 1000, label: `${e.action} ${e.exit}>${e.origin}` })),
  ].filter((m) => Number.isFinite(m.x))
  return [...[...groups.values()].map((g) => ({ x: g.x, label: `${g.action} ${[...g.pairs].join(', ')}` })), ...runner]
}

function statsTable(flows: FlowResult[]): string {
  const cell = (x: number): string => `<td>${Number.isFinite(x) ? x.toFixed(1) : '-'}</td>`
  const rows = flows.map((f) => `<tr><th>${f.via}</th>${cell(f.forward.p50_ms)}${cell(f.forward.p99_ms)}${cell(f.reverse.p50_ms)}${cell(f.reverse.p99_ms)}${cell(f.rtt.p50_ms)}${cell(f.jitter_ms)}${cell(f.loss_pct)}${cell(f.max_gap_ms)}</tr>`).join('')
  return `<table><tr><th></th><th>fwd p50</th><th>fwd p99</th><th>rev p50</th><th>rev p99</th><th>rtt p50</th><th>jitter</th><th>loss %</th><th>max gap</th></tr>${rows}</table>`
}

/** Row = from, column = to; colour from green (fast) to red (slow). */
function heatmap(title: string, pops: string[], value: (from: string, to: string) => number | undefined): string {
  const vals = pops.flatMap((a) => pops.map((b) => (a === b ? undefined : value(a, b)))).filter((v): v is number => v !== undefined)
  const max = Math.max(...vals, 1)
  const td = (v: number | undefined): string => {
    if (v === undefined) return '<td class="self">·</td>'
    const hue = 120 - 120 * Math.min(1, v / max)
    return `<td style="background:hsl(${hue.toFixed(0)},70%,80%)">${v.toFixed(1)}</td>`
  }
  const head = pops.map((p) => `<th>${esc(p)}</th>`).join('')
  const rows = pops.map((a) => `<tr><th>${esc(a)}</th>${pops.map((b) => td(a === b ? undefined : value(a, b))).join('')}</tr>`).join('')
  return `<div class="map"><h3>${esc(title)}</h3><table><tr><th>from \\ to</th>${head}</tr>${rows}</table></div>`
}

export function renderHtml(r: LabResult, samples: FlowSamples): string {
  const names = [...new Set(r.flows.map((f) => f.name))]
  const scen = (a: string, b: string): number => r.wan.delayMs[r.wan.pops.indexOf(a)][r.wan.pops.indexOf(b)]
  const measured = new Map(r.map.map((e: EdgeView) => [`${e.from}>${e.to}`, e]))
  const meas = (a: string, b: string): number | undefined => measured.get(`${a}>${b}`)?.delayMs
  return `<!doctype html><html><head><meta charset="utf-8"><title>Overpass lab: ${esc(r.scenario)}</title>
<style>body{font-family:sans-serif;margin:24px;max-width:1000px}table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
.row{display:flex;gap:8px}.maps{display:flex;gap:24px;flex-wrap:wrap}.self{background:#eee;text-align:center}.good{color:#1a7f37;text-align:left}.bad{color:#c00;font-weight:bold;text-align:left}pre{background:#f6f6f6;padding:8px;overflow:auto}</style></head><body>
<h1>Overpass lab: ${esc(r.scenario)} <small>(run ${esc(r.run)})</small></h1>
<p>One-way delays are exact: every namespace shares CLOCK_MONOTONIC. <span style="color:${DIRECT}">Direct</span> is the client's own WAN path to the origin;
<span style="color:${OVERPASS}">Overpass</span> enters at the client's PoP relay. Red dashed lines are WAN events. ${r.emulator.backend === 'netem' ? 'WAN: tc netem.' : `WAN emulator delay error: p99 ${r.emulator.delay_error_p99_ms.toFixed(3)} ms, max ${r.emulator.delay_error_max_ms.toFixed(3)} ms (host steal ${r.emulator.host_steal_ms} ms during the measurement).`}</p>
${names.map((n) => flowSection(r, n, samples)).join('\n')}
${r.l3 ? l3Html(r.l3) : ''}
<h2>One-way latency map (ms)</h2><div class="maps">${heatmap('scenario (emulated WAN)', r.wan.pops, scen)}${heatmap('measured by the relays (estimated one-way)', r.wan.pops, meas)}</div>
<h2>Summary</h2><pre>${esc(formatSummary(r))}</pre>
</body></html>
`
}
