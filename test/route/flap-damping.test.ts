import { describe, expect, it } from 'vitest'
import {
  FLAP_HALF_LIFE_MS, FLAP_MAX_SUPPRESS_MS, FLAP_PENALTY, FLAP_REUSE, FLAP_SUPPRESS, FlapDamping,
} from '../../src/route/flap-damping.js'

describe('flap damping', () => {
  it('does not suppress an edge that fails once', () => {
    const d = new FlapDamping(1)
    expect(d.onFailure(0, 0)).toBe(false)
    expect(d.suppressed(0)).toBe(false)
    expect(d.penaltyAt(0, FLAP_HALF_LIFE_MS)).toBeCloseTo(FLAP_PENALTY / 2, 6)
  })

  it('suppresses at the second failure within a half-life, and not for failures further apart', () => {
    const d = new FlapDamping(2)
    d.onFailure(0, 0)
    expect(d.onFailure(0, 4000)).toBe(true)
    d.onFailure(1, 0)
    expect(d.onFailure(1, 30_000)).toBe(false)
    expect(d.suppressed(1)).toBe(false)
  })

  it('reuses a suppressed edge once the penalty decays under the reuse threshold (fake clock)', () => {
    const d = new FlapDamping(1)
    d.onFailure(0, 0)
    d.onFailure(0, 4000)
    const p = FLAP_PENALTY * 2 ** (-4000 / FLAP_HALF_LIFE_MS) + FLAP_PENALTY
    expect(p).toBeGreaterThan(FLAP_SUPPRESS)
    const reuseAt = 4000 + FLAP_HALF_LIFE_MS * Math.log2(p / FLAP_REUSE)
    expect(reuseAt - 4000).toBeGreaterThan(15_000) // "stable for a while": ~18 s
    for (let t = 4000; t < reuseAt - 10; t += 100) expect(d.release(t)).toBe(0)
    expect(d.suppressed(0)).toBe(true)
    expect(d.release(reuseAt + 1)).toBe(1)
    expect(d.suppressed(0)).toBe(false)
  })

  it('keeps no edge suppressed longer than FLAP_MAX_SUPPRESS_MS after its last failure', () => {
    const d = new FlapDamping(1)
    for (let t = 0; t < 100_000; t += 10) d.onFailure(0, t)
    expect(d.reuseAtMs(0) - 99_990).toBeCloseTo(FLAP_MAX_SUPPRESS_MS, 0)
  })
})
