/**
 * Turns raw per-system measurements into the bench's JSON (headline figures
 * at 10k pps, split placement), ratios between systems in this run, the
 * targets, and a printed table.
 */
import type { RateResult, SearchStep } from './measure.js'
import { HEADLINE_RATE, round } from './measure.js'
import type { SystemName } from './systems.js'
import type { TransitResult, TransitStep } from './transit.js'
import type { InterleavedResult } from './interleaved.js'

export interface SystemResult {
  split: Record<number, RateResult>
  same: Record<number, RateResult>
  max_pps: number
  search: SearchStep[]
  /** Max pps with only the transit relay on CPU 1 (the per-hop figure). */
  transit_max_pps: number | null
  transit_search: SearchStep[]
  flows?: {
    flows: number
    /** Client flows that got at least one echo, i.e. flows the exit holds. */
    active_flows: number
    /** Echoes beyond what a flow sent, summed over flows: duplicates somewhere on the path (should be 0). */
    excess_echoes: number
    sent: number
    received: number
    rss_mb_before: { ingress: number; transit: number; exit: number }
    rss_mb: { ingress: number; transit: number; exit: number }
    /** RSS after the flows, split into anonymous (heap, malloc) and file-backed (binary) pages. */
    rss_mb_breakdown: Record<'ingress' | 'transit' | 'exit', { anon: number; file: number } | null>
    exit_open_fds: number
    exit_kb_per_flow: number
  }
}


export interface Summary {
  machine: Record<string, unknown>
  method: Record<string, string>
  systems: Partial<Record<SystemName, Record<string, unknown>>>
  ratios: Record<string, number | null>
  targets: { target: string; value: number | null; limit: number; met: boolean | null }[]
  /** The p99-at-10k comparison in interleaved rounds (interleaved.ts). */
  interleaved?: InterleavedResult
  duration_s: number
}

const ratio = (a: number | null, b: number | null): number | null => (a !== null && b !== null && b > 0 ? round(a / b) : null)

/** max_pps at 2 workers over 1 worker in the same run, or null without the curve. */
function curveRatio(t: TransitResult | undefined): number | null {
  const at = (n: number): number | undefined => t?.workers_curve?.find((p) => p.workers === n)?.max_pps
  const one = at(1)
  const two = at(2)
  return one !== undefined && two !== undefined ? ratio(two, one) : null
}

export function summarise(machine: Record<string, unknown>, results: Partial<Record<SystemName, SystemResult>>, transitAlone: TransitResult | undefined, durationMs: number, interleaved?: InterleavedResult): Summary {
  const systems: Summary['systems'] = {}
  for (const [name, r] of Object.entries(results) as [SystemName, SystemResult][]) {
    const h = r.split[HEADLINE_RATE]
    const s = r.same[HEADLINE_RATE]
    systems[name] = {
      p50_us: h?.p50_us ?? null,
      p99_us: h?.p99_us ?? null,
      p999_us: h?.p999_us ?? null,
      max_pps: r.max_pps,
      transit_max_pps: r.transit_max_pps,
      cpu_us_per_packet: h?.cpu_us_per_packet ?? null,
      transit_cpu_us_per_packet: h?.transit_cpu_us_per_packet ?? null,
      same_cpu: s ? { p50_us: s.p50_us, p99_us: s.p99_us, p999_us: s.p999_us, cpu_us_per_packet: s.cpu_us_per_packet } : null,
      transit_capacity_pps: impliedTransitCapacity(r.transit_search),
      rates: { split: r.split, same: r.same },
      max_pps_search: r.search,
      transit_max_pps_search: r.transit_search,
      ...(r.flows ? { flows: r.flows } : {}),
    }
  }
  const get = (sys: SystemName, key: string, placement: 'split' | 'same' = 'split'): number | null => {
    const r = results[sys]
    if (!r) return null
    if (key === 'max_pps') return r.max_pps
    if (key === 'transit_max_pps') return r.transit_max_pps
    const v = r[placement][HEADLINE_RATE]?.[key as keyof RateResult]
    return typeof v === 'number' && v >= 0 ? v : null
  }
  const ratios = {
    overpass_vs_node_p99_split: ratio(get('overpass', 'p99_us'), get('node_forwarder', 'p99_us')),
    overpass_vs_node_p99_same: ratio(get('overpass', 'p99_us', 'same'), get('node_forwarder', 'p99_us', 'same')),
    overpass_vs_node_p50_split: ratio(get('overpass', 'p50_us'), get('node_forwarder', 'p50_us')),
    overpass_vs_kernel_p50_split: ratio(get('overpass', 'p50_us'), get('kernel', 'p50_us')),
    overpass_vs_wireguard_p99_split: ratio(get('overpass', 'p99_us'), get('wireguard_go', 'p99_us')),
    overpass_vs_wireguard_max_pps: ratio(get('overpass', 'max_pps'), get('wireguard_go', 'max_pps')),
    overpass_vs_node_max_pps: ratio(get('overpass', 'max_pps'), get('node_forwarder', 'max_pps')),
    overpass_vs_node_cpu_per_packet: ratio(get('overpass', 'cpu_us_per_packet'), get('node_forwarder', 'cpu_us_per_packet')),
    overpass_vs_wireguard_cpu_per_packet: ratio(get('overpass', 'cpu_us_per_packet'), get('wireguard_go', 'cpu_us_per_packet')),
    overpass_vs_node_p99_split_interleaved_median: interleaved?.median_overpass_vs_node_p99 ?? null,
  }
  const transitUs = get('overpass', 'transit_cpu_us_per_packet')
  const transitCapacity = impliedTransitCapacity(results.overpass?.transit_search ?? [])
  const flows = results.overpass?.flows
  const target = (name: string, value: number | null, limit: number, le: boolean): Summary['targets'][number] => ({
    target: name,
    value,
    limit,
    met: value === null ? null : le ? value <= limit : value >= limit,
  })
  if (transitAlone) systems.overpass_transit = { ...transitAlone }
  const targets = [
    target('transit relay alone: max one-way pps with < 0.1% loss (sealed load, overpass_transit)', transitAlone?.max_pps ?? null, 50_000, false),
    target('transit relay alone: loss at 50k one-way pps (fraction)', transitAlone?.at_target?.loss ?? null, 0.001, true),
    target('transit relay alone with node:dgram (OVERPASS_UDP=dgram): max one-way pps with < 0.1% loss (info)', transitAlone?.dgram.max_pps ?? null, 50_000, false),
    target('transit relay alone: max pps with 2 workers / with 1 worker, both on CPUs 0-1 (info, --workers-curve)', curveRatio(transitAlone), 1, false),
    target('transit relay alone: max pps / bare Node forwarder max pps in its place (info)', transitAlone ? ratio(transitAlone.max_pps, transitAlone.node_forwarder.max_pps) : null, 0.8, false),
    target('overpass p99 at 10k pps / node forwarder p99 (split)', ratios.overpass_vs_node_p99_split, 1.25, true),
    target('overpass p99 at 10k pps / node forwarder p99 (same CPU)', ratios.overpass_vs_node_p99_same, 1.25, true),
    target(`overpass p99 at 10k pps / node forwarder p99, median of ${interleaved?.rounds.length ?? 0} interleaved rounds (split)`, ratios.overpass_vs_node_p99_split_interleaved_median, 1.25, true),
    target('overpass chain round trips/s with only the transit on CPU 1 (< 0.1% loss; one-way through the transit = 2x)', get('overpass', 'transit_max_pps'), 25_000, false),
    target('transit one-way pps at 100% CPU, from the transit-alone search (2 x rate / CPU share)', transitCapacity, 50_000, false),
    target('transit one-way pps at 100% CPU, from CPU per packet at 10k pps split (1e6 / us)', transitUs ? Math.round(1e6 / transitUs) : null, 50_000, false),
    target('overpass max pps / wireguard-go max pps (stretch)', ratios.overpass_vs_wireguard_max_pps, 1, false),
    ...(['ingress', 'transit', 'exit'] as const).map((role) =>
      // Only a check where (nearly) every flow reached the exit counts.
      target(`${role} RSS MB with ${flows?.active_flows ?? 0} of ${flows?.flows ?? 0} flows active`, flows && flows.active_flows >= 0.99 * flows.flows ? flows.rss_mb[role] : null, 100, true),
    ),
  ]
  return {
    machine,
    method: {
      load: '100-byte UDP payloads, round trips client -> ingress -> transit -> exit -> echo origin and back',
      latency: 'round-trip time at the client; headline p50/p99/p999 at 10k pps, split placement',
      placement: 'split: client and origin on CPU 0, all relay processes on CPU 1; same: everything on CPU 0',
      cpu_us_per_packet: 'utime+stime of all relay processes (/proc/PID/stat) / (2 x round trips): per one-way packet through the whole chain',
      max_pps: 'highest paced rate (1 s runs) with < 0.1% round-trip loss, split placement; a failing rate is retried once',
      transit_max_pps: 'the same search with only the transit relay on CPU 1 (client, origin, ingress, exit on CPU 0)',
      interleaved: 'p99 at 10k pps, split: node forwarder, overpass (and baseline) started in turn within each round, the ratio taken per round, the median reported',
      overpass_transit: 'one transit relay alone on CPU 1; datagrams sealed in advance replayed from CPU 0 at 30k..140k/s (1 s each), its re-sealed output counted; pass < 0.1% loss. Top level: the default overlay socket (udp says which); dgram: the same with OVERPASS_UDP=dgram; ts_transit: the default socket with the native transit fast path off (OVERPASS_TRANSIT=off)',
    },
    systems,
    ratios,
    targets,
    ...(interleaved ? { interleaved } : {}),
    duration_s: Math.round(durationMs / 1000),
  }
}

/**
 * One-way packets per second the transit relay could carry at 100% of a
 * CPU: each round trip crosses it twice, so 2 x rate / (its CPU share),
 * median over passing steps where it was busy enough to measure (> 20%).
 */
function impliedTransitCapacity(steps: SearchStep[]): number | null {
  const xs = steps.filter((s) => s.pass && s.transit_cpu_share !== null && s.transit_cpu_share > 0.2).map((s) => (2 * s.rate) / s.transit_cpu_share!)
  if (xs.length === 0) return null
  xs.sort((a, b) => a - b)
  return Math.round(xs[Math.floor(xs.length / 2)])
}

export function printTable(s: Summary, log: (line: string) => void): void {
  const cell = (v: unknown, w = 9): string => String(v ?? '-').padStart(w)
  log('\nmachine: ' + JSON.stringify(s.machine))
  for (const placement of ['split', 'same'] as const) {
    log(`\nround trip, 100 B, placement "${placement}" (${placement === 'split' ? 'relays on CPU 1, client+origin on CPU 0' : 'everything on CPU 0'})`)
    log(`${'system'.padEnd(16)}${'rate'.padStart(7)}${cell('p50 us')}${cell('p99 us')}${cell('p99.9 us')}${cell('loss %')}${cell('cpu us/pkt', 11)}${cell('transit', 9)}`)
    for (const [name, sys] of Object.entries(s.systems)) {
      const rates = (sys!.rates as Record<string, Record<number, RateResult>> | undefined)?.[placement]
      if (rates === undefined) continue
      for (const [rate, r] of Object.entries(rates)) {
        log(`${name.padEnd(16)}${rate.padStart(7)}${cell(r.p50_us)}${cell(r.p99_us)}${cell(r.p999_us)}${cell((r.loss * 100).toFixed(2))}${cell(r.cpu_us_per_packet, 11)}${cell(r.transit_cpu_us_per_packet)}`)
      }
    }
  }
  const chains = Object.entries(s.systems).filter(([, v]) => v!.rates !== undefined)
  log('\nmax pps with < 0.1% loss (split): ' + chains.map(([n, v]) => `${n} ${v!.max_pps}`).join(', '))
  log('max pps with < 0.1% loss (transit alone on CPU 1): ' + chains.map(([n, v]) => `${n} ${v!.transit_max_pps ?? '-'}`).join(', '))
  const alone = s.systems.overpass_transit as unknown as TransitResult | undefined
  const at = (t: TransitStep | null): string => (t ? `loss ${(t.loss * 100).toFixed(3)}%, ${t.cpu_us_per_packet} us/pkt` : '-')
  if (alone) {
    log(`overpass transit relay alone (sealed load, ${alone.udp} overlay socket): max one-way pps with < 0.1% loss ${alone.max_pps}; at 50k: ${at(alone.at_target)}`)
    log(`the same with OVERPASS_UDP=dgram: max ${alone.dgram.max_pps}; at 50k: ${at(alone.dgram.at_target)}`)
    log(`the same with the native transit fast path off (OVERPASS_TRANSIT=off): max ${alone.ts_transit.max_pps}; at 50k: ${at(alone.ts_transit.at_target)}`)
    log(`bare Node forwarder in its place: max ${alone.node_forwarder.max_pps}; at 50k: ${at(alone.node_forwarder.at_target)}`)
  }
  log('ratios (this run): ' + JSON.stringify(s.ratios))
  log('targets:')
  for (const t of s.targets) log(`  ${t.met === null ? '  n/a' : t.met ? '  met' : 'NOT met'}  ${t.target}: ${t.value ?? '-'} (limit ${t.limit})`)
  log(`bench took ${s.duration_s} s`)
}
