import { describe, expect, it } from 'vitest'
import { summariseHop, type HopRun } from '../../bench/e2e/hop.js'

const run = (rate: number, p50: number, p99: number, p999: number, cpu: number | null, matched = 100): HopRun => ({
  rate, sent: 100, received: 100, loss: 0, matched, p50_us: p50, p90_us: p99, p99_us: p99, p999_us: p999, max_us: p999, cpu_us_per_packet: cpu,
})

describe('bench:e2e --hop summary', () => {
  it('reports per system and rate the median over rounds of the percentile added to the same round\'s kernel', () => {
    const rounds = [
      { kernel: [run(1000, 10, 50, 90, null)], overpass: [run(1000, 40, 150, 190, 8)] },
      { kernel: [run(1000, 20, 900, 990, null)], overpass: [run(1000, 70, 1000, 1200, 6)] },
      { kernel: [run(1000, 15, 60, 95, null)], overpass: [run(1000, 45, 180, 200, 7)] },
    ]
    const s = summariseHop(rounds, { overpass: [900, 700, 800] })
    // Added per round: p50 30/50/30, p99 100/100/120, p99.9 100/210/105.
    expect(s.hop.overpass?.[1000]).toEqual({ added_p50_us: 30, added_p99_us: 100, added_p999_us: 105, cpu_us_per_packet: 7 })
    expect(s.hop.kernel?.[1000]).toEqual({ added_p50_us: 0, added_p99_us: 0, added_p999_us: 0, cpu_us_per_packet: null })
    expect(s.idle_cpu_us_per_s.overpass).toBe(800)
  })

  it('takes what the hop alone adds in a tunnelled system from its direct run, and leaves out rounds that matched nothing', () => {
    const rounds = [
      { kernel: [run(5000, 10, 50, 90, null)], nebula: [run(5000, 60, 100, 200, 4)], nebula_direct: [run(5000, 40, 80, 150, null)] },
      { kernel: [run(5000, 10, 50, 90, null)], nebula: [run(5000, 999, 999, 999, 4, 0)], nebula_direct: [run(5000, 40, 80, 150, null)] },
    ]
    const s = summariseHop(rounds, {})
    expect(s.hop.nebula?.[5000]).toMatchObject({ added_p50_us: 50, added_p99_us: 50, added_p999_us: 110 })
    expect(s.hop_only.nebula?.[5000]).toEqual({ added_p50_us: 20, added_p99_us: 20, added_p999_us: 50, cpu_us_per_packet: 4 })
    expect(s.hop.wireguard_go).toBeUndefined()
  })

  it('reports every rate the rounds ran (--hop-rates), not only the game rates', () => {
    const rounds = [{ kernel: [run(1000, 10, 50, 90, null), run(30000, 12, 60, 99, null)], c_forwarder: [run(1000, 40, 80, 120, 30), run(30000, 20, 70, 110, 5)] }]
    const s = summariseHop(rounds, {})
    expect(Object.keys(s.hop.c_forwarder ?? {})).toEqual(['1000', '30000'])
    expect(s.hop.c_forwarder?.[30000]).toEqual({ added_p50_us: 8, added_p99_us: 10, added_p999_us: 11, cpu_us_per_packet: 5 })
  })
})
