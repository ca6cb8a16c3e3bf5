/**
 * Clock drift in the simulator (--drift-ppm): every relay's clock runs at
 * its own rate, its timers included; drift 0 changes nothing.
 */
import { describe, expect, it } from 'vitest'
import { createRouter } from '../../src/route/index.js'
import type { Router, RouterInit } from '../../src/route/types.js'
import { runSimulation, Simulation } from '../../src/sim/simulator.js'
import { randomMatrix } from './helpers.js'
import { createStandInRouter } from './stand-in-router.js'

describe('clock drift', () => {
  it('leaves the JSON of a run without drift as it was (drift 0 is no drift)', () => {
    const base = { matrix: randomMatrix(6, 4), createRouter, seed: 4, durationS: 4 }
    const none = JSON.stringify(runSimulation(base))
    expect(JSON.stringify(runSimulation({ ...base, driftPpm: 0 }))).toBe(none)
    expect(none).not.toContain('drift_ppm')
  })

  it('gives each relay a rate within +-D ppm, and its router sees its own clock: tick timers in its own ms', () => {
    const seen = new Map<string, number[]>()
    const recording = (init: RouterInit): Router => {
      const r = createStandInRouter(init)
      const ticks: number[] = []
      seen.set(init.self, ticks)
      return { ...r, tick: (now: number) => (ticks.push(now), r.tick(now)) }
    }
    const sim = new Simulation({ matrix: randomMatrix(5, 7), createRouter: recording, seed: 7, durationS: 2, driftPpm: 5000, tickMs: 20 })
    const r = sim.run()
    expect(r.drift_ppm).toBe(5000)
    const e = [...sim.rate].map((x) => (x - 1) * 1e6)
    for (const x of e) expect(Math.abs(x)).toBeLessThanOrEqual(5000)
    expect(Math.max(...e) - Math.min(...e)).toBeGreaterThan(1000)
    sim.names.forEach((name) => {
      const t = seen.get(name)!
      // Every tick is tickMs apart on the relay's own clock...
      for (let i = 1; i < t.length; i++) expect(t[i] - t[i - 1]).toBeCloseTo(20, 6)
    })
    // ...so a fast relay ticks more often in the same true time.
    const counts = sim.names.map((n) => seen.get(n)!.length)
    const fastest = e.indexOf(Math.max(...e))
    const slowest = e.indexOf(Math.min(...e))
    expect(counts[fastest]).toBeGreaterThanOrEqual(counts[slowest])
  })

  it('keeps the real routers within tolerance of the oracle at 100 ppm (and 1000 ppm) on a small matrix', () => {
    for (const driftPpm of [100, 1000]) {
      const r = runSimulation({ matrix: randomMatrix(7, 21), createRouter, seed: 21, durationS: 20, driftPpm })
      expect(r.within_tolerance).toBe(1)
    }
  })
})
