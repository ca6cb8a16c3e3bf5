/**
 * The p99-at-10k comparison run as interleaved rounds. The main phases
 * measure each system once, one after the other; on a shared machine the
 * other tenants' load moves between those minutes, and at 10k round trips/s
 * (where the user-space chains are at or past one CPU) p99 follows whatever
 * queue that load builds. Here each round starts the Node forwarder chain,
 * Overpass and the baseline checkout (if given) in turn, each for one fixed
 * 10k run in the split placement, and the ratio is taken within the round;
 * the median over rounds is the figure to trust. The order rotates from
 * round to round, so no system always runs first or last.
 */
import { HEADLINE_RATE, Measurer, PLACEMENTS, round, type RateResult } from './measure.js'
import { STARTERS, type SystemContext, type SystemName } from './systems.js'

export interface InterleavedRound {
  /** p99 round trip µs and relay CPU µs per one-way packet, per system. */
  p99_us: Partial<Record<SystemName, number>>
  cpu_us_per_packet: Partial<Record<SystemName, number | null>>
  /** Per relay role: where a before/after (--baseline) difference sits. */
  cpu_us_per_packet_by_role: Partial<Record<SystemName, RateResult['cpu_us_per_packet_by_role']>>
  /** Overpass p99 / node forwarder p99 in this round. */
  overpass_vs_node_p99: number | null
}

export interface InterleavedResult {
  rate: number
  rounds: InterleavedRound[]
  median_overpass_vs_node_p99: number | null
  median_overpass_vs_baseline_p99?: number | null
}

export const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

export async function interleavedP99(rounds: number, systems: SystemName[], ctx: SystemContext, m: Measurer, echoPid: number, log: (l: string) => void): Promise<InterleavedResult> {
  const order = (['node_forwarder', 'overpass', 'overpass_baseline'] as const).filter((s) => systems.includes(s))
  const out: InterleavedRound[] = []
  for (let i = 0; i < rounds; i++) {
    const round_: InterleavedRound = { p99_us: {}, cpu_us_per_packet: {}, cpu_us_per_packet_by_role: {}, overpass_vs_node_p99: null }
    const turn = [...order.slice(i % order.length), ...order.slice(0, i % order.length)]
    for (const name of turn) {
      const sys = await STARTERS[name](ctx)
      try {
        m.place(sys, echoPid, PLACEMENTS.split)
        await m.ready(sys)
        const r = await m.atRate(sys, PLACEMENTS.split, HEADLINE_RATE)
        round_.p99_us[name] = r.p99_us
        round_.cpu_us_per_packet[name] = r.cpu_us_per_packet
        round_.cpu_us_per_packet_by_role[name] = r.cpu_us_per_packet_by_role
      } finally {
        await sys.stop()
      }
    }
    const o = round_.p99_us.overpass
    const n = round_.p99_us.node_forwarder
    round_.overpass_vs_node_p99 = o !== undefined && n !== undefined && n > 0 ? round(o / n) : null
    log(`  round ${i + 1}: p99 ${order.map((s) => `${s} ${round_.p99_us[s]} us`).join(', ')}; overpass / node ${round_.overpass_vs_node_p99}; cpu us/pkt by role ${order.map((s) => `${s} ${JSON.stringify(round_.cpu_us_per_packet_by_role[s])}`).join(', ')}`)
    out.push(round_)
  }
  const ratios = out.map((r) => r.overpass_vs_node_p99).filter((x): x is number => x !== null)
  const vsBase = out.map((r) => (r.p99_us.overpass !== undefined && r.p99_us.overpass_baseline ? r.p99_us.overpass / r.p99_us.overpass_baseline : null)).filter((x): x is number => x !== null)
  return {
    rate: HEADLINE_RATE,
    rounds: out,
    median_overpass_vs_node_p99: median(ratios),
    ...(systems.includes('overpass_baseline') ? { median_overpass_vs_baseline_p99: vsBase.length > 0 ? round(median(vsBase)!) : null } : {}),
  }
}
