import { describe, expect, it } from 'vitest'
import { denseDijkstra, spScratch } from '../../src/route/dijkstra.js'
import { bestTo, MAX_PATH_RELAYS } from '../../src/route/path-select.js'
import { computePotentials, repairPotentials } from '../../src/route/potentials.js'
import { PROFILES } from '../../src/route/profiles.js'
import { seededRandom } from '../../src/route/seeded-random.js'
import { buildWeights, usableMask } from '../../src/route/weights.js'
import { bruteForce, mapOf, pseudoCost, randomMatrix } from './helpers/map-builder.js'
import type { Matrix } from './helpers/map-builder.js'

const HOUR = 3_600_000

function routeAll(m: Matrix, src: number, thetaNoiseMs: number, rnd: () => number, repair = true) {
  const map = mapOf(m, rnd, thetaNoiseMs)
  const fresh = new Uint8Array(m.n).fill(1)
  const h = new Float64Array(m.n)
  computePotentials(map, src, fresh, h, { dist: new Float64Array(m.n), done: new Uint8Array(m.n) })
  const usable = new Uint8Array(m.n * m.n)
  usableMask(map, fresh, 5, usable)
  const repaired = repair ? repairPotentials(map, h, usable, new Int32Array(m.n), new Uint8Array(m.n)) : 0
  const w = new Float64Array(m.n * m.n)
  const clamped = buildWeights(map, h, usable, { self: src, profile: PROFILES.latency, hopCostMs: 0, maxLossPct: 5 }, w)
  const sp = spScratch(m.n)
  denseDijkstra(w, m.n, src, sp)
  return { tree: { n: m.n, self: src, w, sp }, clamped, repaired }
}

describe('Dijkstra with Johnson potentials against a brute-force oracle', () => {
  for (const [label, thetaNoiseMs] of [
    ['exact potentials', 0],
    ['potentials off by up to 0.3 ms', 0.3],
    ['potentials off by up to 40 ms, repaired', 40],
  ] as const) {
    it(`finds the cheapest pseudo-delay path on 200 seeded random maps (${label})`, () => {
      const rnd = seededRandom(42)
      for (let trial = 0; trial < 200; trial++) {
        const n = 3 + (trial % 6)
        const m = randomMatrix(rnd, n, 0.35 + 0.6 * rnd(), HOUR)
        // keep the map strongly connected enough to have rtts for potentials: make a two-way ring
        for (let i = 0; i < n; i++) {
          const j = (i + 1) % n
          if (m.delay[i * n + j] === Infinity) m.delay[i * n + j] = 50 + rnd() * 50
          if (m.delay[j * n + i] === Infinity) m.delay[j * n + i] = 50 + rnd() * 50
        }
        const src = trial % n
        const { tree, clamped } = routeAll(m, src, thetaNoiseMs, rnd)
        expect(clamped).toBe(0)
        for (let dst = 0; dst < n; dst++) {
          if (dst === src) continue
          const oracle = bruteForce(m, src, dst, MAX_PATH_RELAYS)
          const got = bestTo(tree, dst)
          expect(got === undefined).toBe(oracle === undefined)
          if (got === undefined || oracle === undefined) continue
          // Exact: the chosen path's summed pseudo delay equals the true optimum's.
          expect(pseudoCost(m, got.path)).toBeCloseTo(oracle.cost, 6)
          expect(new Set(got.path).size).toBe(got.path.length)
        }
      }
    })
  }

  it('needs the repair: without it, 40 ms potential errors force clamping', () => {
    const rnd = seededRandom(99)
    let clampedTotal = 0
    for (let trial = 0; trial < 50; trial++) {
      const m = randomMatrix(rnd, 6, 1, HOUR)
      clampedTotal += routeAll(m, 0, 40, rnd, false).clamped
      expect(routeAll(m, 0, 40, rnd, true).clamped).toBe(0)
    }
    expect(clampedTotal).toBeGreaterThan(0)
  })

  it('respects the 8-relay limit when the cheapest path is longer', () => {
    const rnd = seededRandom(7)
    const n = 12
    const m: Matrix = {
      n,
      names: Array.from({ length: n }, (_, i) => `r${i}`),
      delay: new Float64Array(n * n).fill(Infinity),
      offset: Float64Array.from({ length: n }, () => (rnd() * 2 - 1) * HOUR),
    }
    // A cheap chain r0 -> r1 -> ... -> r11 (1 ms per edge) and expensive shortcuts.
    for (let i = 0; i + 1 < n; i++) {
      m.delay[i * n + i + 1] = 1
      m.delay[(i + 1) * n + i] = 1
    }
    for (let i = 0; i + 3 < n; i++) m.delay[i * n + i + 3] = 10
    const { tree } = routeAll(m, 0, 0, rnd)
    const got = bestTo(tree, n - 1)!
    const oracle = bruteForce(m, 0, n - 1, MAX_PATH_RELAYS)!
    expect(got.path.length).toBeLessThanOrEqual(MAX_PATH_RELAYS)
    expect(pseudoCost(m, got.path)).toBeCloseTo(oracle.cost, 6)
    expect(bruteForce(m, 0, n - 1, n)!.path.length).toBeGreaterThan(MAX_PATH_RELAYS)
  })

  it('gives path choices independent of clock offsets', () => {
    const rnd = seededRandom(3)
    for (let trial = 0; trial < 50; trial++) {
      const m = randomMatrix(rnd, 7, 0.9, 0)
      const shifted: Matrix = { ...m, offset: Float64Array.from(m.offset, () => (rnd() * 2 - 1) * HOUR) }
      const a = routeAll(m, 0, 0, rnd).tree
      const b = routeAll(shifted, 0, 0, rnd).tree
      for (let d = 1; d < 7; d++) expect(bestTo(b, d)?.path).toEqual(bestTo(a, d)?.path)
    }
  })
})
