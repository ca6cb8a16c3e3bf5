import { describe, expect, it } from 'vitest'
import { median } from '../../bench/e2e/interleaved.js'
import { summarise } from '../../bench/e2e/report.js'

describe('bench:e2e summary', () => {
  it('takes the median of the interleaved rounds\' ratios as the p99 target value', () => {
    const rounds = [1.4, 0.9, 1.1].map((r) => ({ p99_us: { overpass: r * 100, node_forwarder: 100 }, cpu_us_per_packet: {}, cpu_us_per_packet_by_role: {}, overpass_vs_node_p99: r }))
    const s = summarise({}, {}, undefined, 1000, { rate: 10_000, rounds, median_overpass_vs_node_p99: median(rounds.map((r) => r.overpass_vs_node_p99)) })
    expect(s.ratios.overpass_vs_node_p99_split_interleaved_median).toBe(1.1)
    const t = s.targets.find((x) => x.target.includes('median of 3 interleaved rounds'))
    expect(t).toMatchObject({ value: 1.1, limit: 1.25, met: true })
    expect(s.interleaved?.rounds).toHaveLength(3)
  })

  it('has no interleaved figure when the rounds did not run', () => {
    const s = summarise({}, {}, undefined, 1000)
    expect(s.ratios.overpass_vs_node_p99_split_interleaved_median).toBeNull()
    expect(s.interleaved).toBeUndefined()
    expect(median([])).toBeNull()
    expect(median([3, 1, 2, 4])).toBe(2.5)
  })
})
