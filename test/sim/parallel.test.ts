/**
 * The relays split over two event loops: the split's lookahead, and the
 * same JSON, byte for byte, from one loop and from two (in this thread
 * here; cli.test.ts runs the worker thread through the built CLI).
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createRouter } from '../../src/route/index.js'
import { parseEvents } from '../../src/sim/events.js'
import { applyAsymmetry, parseMatrixCsv, sampleSites } from '../../src/sim/matrix.js'
import { Rng, streamRng } from '../../src/sim/prng.js'
import { Simulation, runSimulation, type SimInit } from '../../src/sim/simulator.js'
import { crossLookaheadMs, splitRelays } from '../../src/sim/split.js'
import { randomMatrix } from './helpers.js'
import { createStandInRouter } from './stand-in-router.js'
import { itIf, needsFile } from '../support/requirements.js'

const WONDER = new URL('../../../shared/data/latency/wondernetwork_2020.csv', import.meta.url).pathname

/** Two clusters of `half` relays, 1-9 ms inside, 40-60 ms between (and a 35 ms pair between). */
function twoClusters(half: number, seed: number): Float64Array {
  const n = 2 * half
  const rng = new Rng(seed)
  const d = new Float64Array(n * n).fill(NaN)
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) if (a !== b) d[a * n + b] = (a < half) === (b < half) ? rng.uniform(1, 9) : rng.uniform(40, 60)
  d[0 * n + half] = 35
  return d
}

describe('splitRelays', () => {
  it('finds the cluster boundary and its lookahead is the smallest delay between the halves', () => {
    const d = twoClusters(6, 3)
    const s = splitRelays(12, d)
    expect(s.owner.reduce((a, b) => a + b, 0)).toBe(6)
    for (let v = 1; v < 6; v++) expect(s.owner[v]).toBe(s.owner[0])
    expect(s.lookaheadMs).toBe(35)
    expect(crossLookaheadMs(12, d, s.owner)).toBe(35)
  })

  it('has a lookahead equal to the brute-force minimum over cross links on random matrices', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const n = 9 + seed
      const m = randomMatrix(n, seed)
      const s = splitRelays(n, m.oneWayMs)
      const ones = s.owner.reduce((a, b) => a + b, 0)
      expect(Math.min(ones, n - ones)).toBeGreaterThanOrEqual(Math.floor(0.48 * n))
      let min = Infinity
      for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) if (s.owner[a] !== s.owner[b]) min = Math.min(min, m.oneWayMs[a * n + b])
      expect(s.lookaheadMs).toBe(min)
    }
  })
})

describe('Simulation over two loops', () => {
  const events = parseEvents(
    '- { at_s: 2, kind: cut, pick: active }\n- { at_s: 3, kind: restore, pick: previous }\n- { at_s: 3.5, kind: degrade, pick: active, factor: 1.3 }\n',
  )

  const both = (init: SimInit): [string, string, Simulation] => {
    const two = new Simulation({ ...init, workers: 2 })
    const a = JSON.stringify(runSimulation({ ...init, workers: 1 }))
    return [a, JSON.stringify(two.run()), two]
  }

  it('gives identical JSON with stand-in routers, jitter, loss and events', () => {
    const matrix = { ...randomMatrix(12, 5), oneWayMs: twoClusters(6, 5) }
    const [a, b, two] = both({ matrix, createRouter: createStandInRouter, seed: 5, durationS: 5, jitterMs: 2, lossPct: 1, events })
    expect(two.loops).toBe(2)
    expect(two.windows).toBeGreaterThan(5000 / 40)
    expect(b).toBe(a)
    expect(JSON.parse(a).messages.lost).toBeGreaterThan(0)
  })

  itIf(needsFile(WONDER, 'the shared latency data (../shared beside the project)'), 'gives identical JSON with real routers on an asymmetric wondernetwork subset with events', () => {
    const full = applyAsymmetry(parseMatrixCsv(readFileSync(WONDER, 'utf8'), WONDER), 0.3, streamRng(3, 'asymmetry'))
    const matrix = sampleSites(full, 40, new Rng(3))
    const [a, b, two] = both({ matrix, createRouter, seed: 3, durationS: 5, events })
    expect(two.loops).toBe(2)
    expect(two.lookaheadMs).toBeGreaterThan(1)
    expect(b).toBe(a)
    const r = JSON.parse(a)
    expect(r.within_tolerance).toBeGreaterThanOrEqual(0.99)
    expect(r.events[0].affected_pairs).toBeGreaterThan(0)
    expect(r.events[0].converge_ms).not.toBeNull()
    expect(r.events[0].converge_ms).toBeLessThanOrEqual(1000)
  })

  it('falls back to one loop when the halves are closer than 1 ms', () => {
    const matrix = randomMatrix(8, 2, 0.1, 0.9)
    const sim = new Simulation({ matrix, createRouter: createStandInRouter, seed: 2, durationS: 1, workers: 2 })
    expect(sim.loops).toBe(1)
    expect(sim.run().within_tolerance).toBe(1)
  })
})
