/**
 * Simulator benchmarks: the event queue's push+pop (the per-message floor of
 * the loop), the oracle, and one end-to-end run of the real routers, each
 * as a ratio against the queue baseline.
 */
import { createRouter } from '../src/route/index.js'
import { EventHeap } from '../src/sim/event-heap.js'
import type { LatencyMatrix } from '../src/sim/matrix.js'
import { oracleCosts } from '../src/sim/oracle.js'
import { Rng } from '../src/sim/prng.js'
import { runSimulation } from '../src/sim/simulator.js'
import { ratioSuite } from './lib.js'

function randomMatrix(n: number, seed: number): LatencyMatrix {
  const rng = new Rng(seed)
  const d = new Float64Array(n * n).fill(NaN)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) d[i * n + j] = rng.uniform(5, 120)
  return { sites: Array.from({ length: n }, (_, i) => `r${i}`), oneWayMs: d, format: 'one_way_ms', filledFromReverse: 0, missingPairs: 0 }
}

export async function run(): Promise<void> {
  // A heap holding as many in-flight events as a 246-relay run does (~50k).
  const heap = new EventHeap()
  const rng = new Rng(1)
  let now = 0
  let order = 0
  for (let i = 0; i < 50_000; i++) heap.push(rng.uniform(0, 100), i, order++)
  const m60 = randomMatrix(60, 2)
  const m10 = randomMatrix(10, 3)
  await ratioSuite('sim', [
    {
      name: 'event heap push+pop (50k in flight)',
      fn: () => {
        now = heap.peekTimeMs()
        heap.push(now + rng.uniform(1, 150), heap.pop(), order++)
      },
    },
    { name: 'oracle, 60 relays', fn: () => oracleCosts(60, m60.oneWayMs, 0) },
    { name: 'sim 10 relays x 2 s, real routers', fn: () => runSimulation({ matrix: m10, createRouter, seed: 1, durationS: 2 }) },
  ])
}
