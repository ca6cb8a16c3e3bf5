import { describe, expect, it } from 'vitest'
import { PeerEndpoints, SPARE_DOWN_AFTER_LOST, SPARE_FRESH_MS, SPARE_PROBE_INTERVAL_MS, TRY_MS } from '../../src/dataplane/peer-endpoints.js'

const A = { address: '192.0.2.1', port: 7001 }
const B = { address: '198.51.100.1', port: 7001 }
const C = { address: '2001:db8::1', port: 7001 }
/** No jitter: the first probe of a spare halfway into the interval, then one every interval. */
const half = (): number => 0.5

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

  it('a working endpoint reported down once (a rekey, a moment of silence) is kept: the move needs TRY_MS of failure', () => {
    const e = new PeerEndpoints([A, B])
    for (let t = 0; t <= 10 * TRY_MS; t += 500) e.observe(t, true)
    const t0 = 10 * TRY_MS + 500
    expect(e.observe(t0, false)).toBe(false)
    expect(e.observe(t0 + 500, true)).toBe(false)
    expect(e.observe(t0 + 1000, false)).toBe(false)
    expect(e.observe(t0 + 1000 + TRY_MS - 1, false)).toBe(false)
    expect(e.active).toBe(A)
    expect(e.observe(t0 + 1000 + TRY_MS, false)).toBe(true)
    expect(e.active).toBe(B)
    expect(e.failovers).toBe(1)
  })

  it('never moves with a single endpoint', () => {
    const e = new PeerEndpoints([A])
    for (let t = 0; t < 5 * TRY_MS; t += TRY_MS) expect(e.observe(t, false)).toBe(false)
  })

  it('starts on the endpoint it is told (a lane worker copying worker 0)', () => {
    const e = new PeerEndpoints([A, B, C], { active: 2 })
    expect(e.active).toBe(C)
    expect(e.view(0).map((v) => v.active)).toEqual([false, false, true])
  })

  it('probes each spare once per interval, never the active one', () => {
    const e = new PeerEndpoints([A, B, C], { random: half })
    expect(e.dueProbes(0)).toEqual([])
    const at = (t: number) => e.dueProbes(t).map((p) => p.address)
    expect(at(SPARE_PROBE_INTERVAL_MS / 2 - 1)).toEqual([])
    expect(at(SPARE_PROBE_INTERVAL_MS / 2)).toEqual([B, C])
    expect(at(SPARE_PROBE_INTERVAL_MS)).toEqual([])
    expect(at(1.5 * SPARE_PROBE_INTERVAL_MS)).toEqual([B, C])
  })

  it('marks a spare up when its probe is answered, and down after SPARE_DOWN_AFTER_LOST unanswered ones', () => {
    const e = new PeerEndpoints([A, B, C], { random: half })
    e.dueProbes(0)
    let t = SPARE_PROBE_INTERVAL_MS / 2
    for (let round = 0; round <= SPARE_DOWN_AFTER_LOST; round++, t += SPARE_PROBE_INTERVAL_MS) {
      const [toB] = e.dueProbes(t)
      expect(e.probeAnswered(t + 12, toB.token)).toBe(true)
      // A token answered already, or never sent, changes nothing.
      expect(e.probeAnswered(t + 13, toB.token)).toBe(false)
      expect(e.probeAnswered(t + 13, (toB.token + 7) >>> 0)).toBe(false)
    }
    expect(e.view(0)).toEqual([
      { endpoint: '192.0.2.1:7001', active: true, health: 'unknown' },
      { endpoint: '198.51.100.1:7001', active: false, health: 'up', rtt_ms: 12 },
      { endpoint: '[2001:db8::1]:7001', active: false, health: 'down' },
    ])
  })

  it('fails over to a spare that answered its probe, past one not heard from; with every spare known down, nowhere', () => {
    const answered = new PeerEndpoints([A, B, C], { random: half })
    answered.dueProbes(0)
    const t = SPARE_PROBE_INTERVAL_MS / 2
    const toC = answered.dueProbes(t).find((p) => p.address === C)!
    answered.probeAnswered(t + 10, toC.token)
    answered.observe(t, false)
    expect(answered.observe(t + TRY_MS, false)).toBe(true)
    expect(answered.active).toBe(C)

    // Every spare known down: the relay stays (moving would not help) until that news is stale.
    const e = new PeerEndpoints([A, B, C], { random: half })
    e.dueProbes(0)
    let at = SPARE_PROBE_INTERVAL_MS / 2
    for (let i = 0; i <= SPARE_DOWN_AFTER_LOST; i++, at += SPARE_PROBE_INTERVAL_MS) e.dueProbes(at)
    const heard = at - SPARE_PROBE_INTERVAL_MS
    expect(e.view(heard).map((v) => v.health)).toEqual(['unknown', 'down', 'down'])
    e.observe(heard, false)
    expect(e.observe(heard + TRY_MS, false)).toBe(false)
    expect(e.active).toBe(A)
    expect(e.observe(heard + SPARE_FRESH_MS + 1, false)).toBe(true)
    expect(e.active).toBe(B)
    // The endpoint left behind is a spare, unknown until a probe answers or is lost.
    expect(e.view(heard + SPARE_FRESH_MS + 1)[0]).toEqual({ endpoint: '192.0.2.1:7001', active: false, health: 'unknown' })
  })
})
