/** The human summary printed by `overpass sim` without --json. */
import type { SimResult } from './simulator.js'

const pct = (x: number): string => `${x.toFixed(1)}%`

export function formatSummary(r: SimResult, extra: { wallMs?: number; source?: string; asymmetry?: number; loops?: string } = {}): string {
  const lines = [
    `Simulated ${r.relays} relays for ${r.duration_s} s (seed ${r.seed}, hop cost ${r.hop_cost_ms} ms, jitter ${r.jitter_ms} ms, loss ${r.loss_pct}%` +
      `${extra.asymmetry ? `, asymmetry ${extra.asymmetry}` : ''}${r.drift_ppm ? `, drift ±${r.drift_ppm} ppm` : ''})${extra.source ? ` on ${extra.source}` : ''}`,
    `  links missing both ways: ${r.missing_links}; unreachable ordered pairs: ${r.unreachable_pairs}; pairs without a path: ${r.no_path_pairs}`,
    `  within tolerance of the oracle (max(0.5 ms, 2%)): ${pct(100 * r.within_tolerance)} of ${r.pairs} ordered pairs`,
    `  improvement over the direct edge: mean ${pct(r.mean_improvement_pct)}, median ${pct(r.median_improvement_pct)}, p90 ${pct(r.p90_improvement_pct)}` +
      ` (oracle mean ${pct(r.oracle_mean_improvement_pct)}, median ${pct(r.oracle_median_improvement_pct)})`,
    `  pairs on a multi-hop path: ${pct(100 * r.multi_hop_fraction)}; forward path differs from the reverse of the reverse path: ${r.reverse_paths_differ} pairs (${pct(100 * r.reverse_paths_differ_fraction)})`,
    `  messages: ${r.messages.probes} probes, ${r.messages.control} control delivered; ${r.messages.dropped_no_link} dropped on missing/cut links, ${r.messages.lost} lost`,
  ]
  for (const e of r.events) {
    const conv =
      e.converge_ms === null
        ? `NOT converged in the window (${e.unconverged_pairs} pairs still off, worst ${e.worst_gap_pct}% above the oracle;` +
          ` ${e.beyond_margin_pairs} beyond the switching margin; ${e.settle_ms === null || e.settle_ms === undefined ? 'never within it' : `all within it after ${e.settle_ms} ms`})`
        : `converged in ${e.converge_ms} ms`
    lines.push(`  event ${e.kind} ${e.from} -> ${e.to}${e.both ? ' (both ways)' : ''} at ${e.at_s} s: ${e.affected_pairs} pairs affected, ${conv}`)
  }
  if (r.events.length > 0) lines.push(`  convergence: p50 ${fmtMs(r.converge_ms_p50)}, max ${fmtMs(r.converge_ms_max)}`)
  for (const [kind, c] of Object.entries(r.converge_by_kind ?? {})) {
    lines.push(`    ${kind}: ${c.events} events, p50 ${fmtMs(c.p50_ms)}, max ${fmtMs(c.max_ms)}`)
  }
  if (extra.wallMs !== undefined) lines.push(`  wall time: ${(extra.wallMs / 1000).toFixed(1)} s${extra.loops ? `; ${extra.loops}` : ''}`)
  return lines.join('\n')
}

function fmtMs(v: number | null | undefined): string {
  return v === null || v === undefined ? 'n/a (some event did not converge)' : `${v} ms`
}
