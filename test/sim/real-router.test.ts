/**
 * The simulator driving the real control plane (route/createRouter) of every
 * relay: steady state against the brute-force oracle, clock offsets, failover
 * after a cut, determinism, and one run on a wondernetwork subset.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createRouter } from '../../src/route/index.js'
import { parseEvents } from '../../src/sim/events.js'
import { parseMatrixCsv, sampleSites } from '../../src/sim/matrix.js'
import { Rng } from '../../src/sim/prng.js'
import { runSimulation, Simulation } from '../../src/sim/simulator.js'
import { bruteForceBest, randomMatrix } from './helpers.js'
import { itIf, needsFile } from '../support/requirements.js'

const WONDER = new URL('../../../shared/data/latency/wondernetwork_2020.csv', import.meta.url).pathname

describe('Simulation with the real router', () => {
  it('agrees with the brute-force oracle in steady state on small random matrices', () => {
    for (const seed of [11, 12, 13]) {
      const n = 5 + (seed % 3)
      const matrix = randomMatrix(n, seed)
      const hopCostMs = seed === 12 ? 2 : 0
      const sim = new Simulation({ matrix, createRouter, seed, hopCostMs, durationS: 8 })
      const r = sim.run()
      for (let s = 0; s < n; s++) {
        for (let t = 0; t < n; t++) if (s !== t) expect(sim.oracle[s * n + t]).toBeCloseTo(bruteForceBest(n, matrix.oneWayMs, hopCostMs, s, t), 9)
      }
      expect(r.pairs).toBe(n * (n - 1))
      expect(r.within_tolerance).toBe(1)
    }
  })

  it('chooses the same paths whether relay clocks are hours apart or equal', () => {
    const base = { matrix: randomMatrix(6, 31), createRouter, seed: 31, durationS: 8 }
    const off = new Simulation({ ...base, maxClockOffsetMs: 3_600_000 })
    const none = new Simulation({ ...base, maxClockOffsetMs: 0 })
    const a = off.run()
    const b = none.run()
    expect(a.within_tolerance).toBe(1)
    expect(a.within_tolerance).toBe(b.within_tolerance)
    expect(a.mean_improvement_pct).toBeCloseTo(b.mean_improvement_pct, 2)
    for (let s = 0; s < 6; s++) for (let t = 0; t < 6; t++) if (s !== t) expect(off.chosenPath(s, t)).toEqual(none.chosenPath(s, t))
  })

  it('moves off a cut active edge within 1 s of sim time', () => {
    const events = parseEvents('- { at_s: 8, kind: cut, pick: active }\n')
    const r = runSimulation({ matrix: randomMatrix(7, 41), createRouter, seed: 41, durationS: 12, events })
    expect(r.events[0].affected_pairs).toBeGreaterThan(0)
    expect(r.events[0].converge_ms).not.toBeNull()
    expect(r.events[0].converge_ms!).toBeLessThanOrEqual(1000)
  })

  it('prints identical JSON for the same seed', () => {
    const run = () =>
      JSON.stringify(runSimulation({ matrix: randomMatrix(6, 51), createRouter, seed: 51, durationS: 5, jitterMs: 1, lossPct: 1 }))
    expect(run()).toEqual(run())
  })

  itIf(needsFile(WONDER, 'the shared latency data (../shared beside the project)'), 'is within tolerance on a 20-site wondernetwork subset (skipped without ../shared)', () => {
    const m = sampleSites(parseMatrixCsv(readFileSync(WONDER, 'utf8'), WONDER), 20, new Rng(7))
    const r = runSimulation({ matrix: m, createRouter, seed: 7, durationS: 10 })
    expect(r.relays).toBe(20)
    expect(r.within_tolerance).toBeGreaterThanOrEqual(0.99)
  })
})
