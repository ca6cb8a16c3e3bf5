import { type LatencyMatrix } from '../../src/sim/matrix.js'
import { Rng } from '../../src/sim/prng.js'

/** A full random matrix of `n` sites with one-way delays in [lo, hi) ms, seeded. */
export function randomMatrix(n: number, seed: number, lo = 5, hi = 120): LatencyMatrix {
  const rng = new Rng(seed)
  const d = new Float64Array(n * n).fill(NaN)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) d[i * n + j] = rng.uniform(lo, hi)
  return { sites: Array.from({ length: n }, (_, i) => `r${i}`), oneWayMs: d, format: 'one_way_ms', filledFromReverse: 0, missingPairs: 0 }
}

/** Best cost s->t over every simple path of at most maxRelays relays (the slow, obviously right way). */
export function bruteForceBest(n: number, d: Float64Array, hopCostMs: number, s: number, t: number, maxRelays = 8): number {
  let best = Infinity
  const onPath = new Uint8Array(n)
  const walk = (u: number, cost: number, relays: number): void => {
    if (u === t) {
      best = Math.min(best, cost)
      return
    }
    if (relays === maxRelays) return
    onPath[u] = 1
    for (let v = 0; v < n; v++) {
      const w = d[u * n + v]
      if (onPath[v] || !(w < Infinity)) continue
      walk(v, cost + w + (v === t ? 0 : hopCostMs), relays + 1)
    }
    onPath[u] = 0
  }
  walk(s, 0, 1)
  return best
}
