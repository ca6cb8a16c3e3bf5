/** Progress reports pause the loops once per simulated second; the result stays the same, byte for byte. */
import { describe, expect, it } from 'vitest'
import { parseEvents } from '../../src/sim/events.js'
import { PROGRESS_EVERY_MS, runSimulation, type SimInit } from '../../src/sim/simulator.js'
import { randomMatrix } from './helpers.js'
import { createStandInRouter } from './stand-in-router.js'

const events = parseEvents('- { at_s: 1.5, kind: cut, pick: active }\n- { at_s: 2.5, kind: restore, pick: previous }\n')

describe('simulator progress', () => {
  it.each([1, 2])('gives identical JSON with and without onProgress (%i loop(s)), reporting each simulated second', (workers) => {
    const init: SimInit = { matrix: randomMatrix(10, 4), createRouter: createStandInRouter, seed: 4, durationS: 4, jitterMs: 1, lossPct: 1, events, workers }
    const seen: number[] = []
    const plain = JSON.stringify(runSimulation(init))
    const reported = JSON.stringify(runSimulation({ ...init, onProgress: (simMs, durationMs) => {
      expect(durationMs).toBe(4000)
      seen.push(simMs)
    } }))
    expect(reported).toBe(plain)
    expect(seen.at(-1)).toBe(4000)
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1])
    expect(seen.filter((t) => t % PROGRESS_EVERY_MS === 0)).toEqual([1000, 2000, 3000, 4000])
  })
})
