import { describe, expect, it } from 'vitest'
import { PeerEndpoints, TRY_MS } from '../../src/dataplane/peer-endpoints.js'

const A = { address: '192.0.2.1', port: 7001 }
const B = { address: '198.51.100.1', port: 7001 }

describe('PeerEndpoints', () => {
  it('starts on the first endpoint and stays while it works or there is no news', () => {
    const e = new PeerEndpoints([A, B])
    for (let t = 0; t <= 10 * TRY_MS; t += 500) expect(e.observe(t, t % 1000 === 0 ? true : undefined)).toBe(false)
    expect(e.active).toBe(A)
  })

  it('moves to the next only after the active one failed for TRY_MS, then round robin', () => {
    const e = new PeerEndpoints([A, B])
    const steps: [number, boolean | undefined, boolean, typeof A][] = [
      [0, false, false, A],
      [TRY_MS - 1, false, false, A],
      [TRY_MS, false, true, B],
      [TRY_MS + 500, false, false, B],
      [2 * TRY_MS, false, true, A],
      [2 * TRY_MS + 1, true, false, A],
      [5 * TRY_MS, true, false, A],
    ]
    for (const [t, works, moved, active] of steps) {
      expect(e.observe(t, works), `t=${t}`).toBe(moved)
      expect(e.active).toBe(active)
    }
    expect(e.failovers).toBe(2)
  })

  it('never moves with a single endpoint', () => {
    const e = new PeerEndpoints([A])
    for (let t = 0; t < 5 * TRY_MS; t += TRY_MS) expect(e.observe(t, false)).toBe(false)
  })
})
