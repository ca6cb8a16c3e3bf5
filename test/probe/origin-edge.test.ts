import { describe, expect, it } from 'vitest'
import { OriginEdge, SILENT_AFTER_INTERVALS } from '../../src/probe/origin-edge.js'
import { DEFAULT_ORIGIN_STALE_MS } from '../../src/route/router.js'
import { FakeClock } from '../../src/io/fake-clock.js'

const STALE = DEFAULT_ORIGIN_STALE_MS

/** An exit's origin leg sampled every `intervalMs` (+-10% jitter) on a fake clock until `failAtMs`. */
function probed(intervalMs: number, failAtMs: number, seed = 1): { edge: OriginEdge; downAtMs: number } {
  const clock = new FakeClock(0)
  const edge = new OriginEdge(3)
  let x = seed
  const rnd = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648)
  let downAtMs = NaN
  const probe = (): void => {
    if (clock.nowMs() < failAtMs) edge.onSample(clock.nowMs(), { service: 's', method: 'twamp', forwardPseudoMs: 5, reversePseudoMs: 5, rttMs: 10 })
    clock.setTimeout(probe, intervalMs * (0.9 + 0.2 * rnd()))
  }
  const tick = (): void => {
    if (edge.checkSilence(clock.nowMs(), STALE) && Number.isNaN(downAtMs)) downAtMs = clock.nowMs()
    clock.setTimeout(tick, 10)
  }
  clock.setTimeout(probe, 0)
  clock.setTimeout(tick, 10)
  clock.advance(failAtMs + 5000)
  return { edge, downAtMs }
}

describe('origin leg failure', () => {
  it(`without miss reports, goes down ${SILENT_AFTER_INTERVALS} intervals after the last good sample, not after a 1 s timeout per probe`, () => {
    for (let seed = 1; seed <= 20; seed++) {
      const failAt = 10_000 + seed * 37
      const { edge, downAtMs } = probed(250, failAt, seed)
      expect(edge.intervalMs).toBeGreaterThan(225)
      expect(edge.intervalMs).toBeLessThan(275)
      // Down when SILENT_AFTER_INTERVALS intervals (+10% jitter, + slack) passed since the last good
      // sample, which came at or before the failure; within one 10 ms tick.
      expect(edge.silentAfterMs(STALE)).toBeLessThan(620)
      expect(downAtMs - failAt).toBeLessThanOrEqual(edge.silentAfterMs(STALE) + 10)
      expect(downAtMs - failAt).toBeGreaterThan(250)
    }
  })

  it('learns the interval it is probed at, so a slow prober is not taken down early', () => {
    const { edge, downAtMs } = probed(1000, 20_000)
    expect(edge.intervalMs).toBeGreaterThan(900)
    expect(downAtMs - 20_000).toBeGreaterThan(1000)
    expect(downAtMs - 20_000).toBeLessThanOrEqual(STALE)
  })

  it('stays up through one lost probe', () => {
    const edge = new OriginEdge(3)
    for (let t = 0; t <= 5000; t += 250) {
      if (t !== 3000) edge.onSample(t, { service: 's', method: 'icmp', rttMs: 2 })
      for (let k = 0; k < 25; k++) expect(edge.checkSilence(t + k * 10, STALE)).toBe(false)
    }
    expect(edge.up).toBe(true)
  })

  it("keeps the prober's own interval for its silence deadline: early probes (expedites, a miss's confirmations) do not shrink it", () => {
    for (const told of [true, false]) {
      const edge = new OriginEdge(3)
      const extra = told ? { intervalMs: 250 } : {}
      let t = 0
      for (let i = 0; i < 40; i++) edge.onSample((t += 250), { service: 's', method: 'icmp', rttMs: 1, ...extra })
      // Six replies 30 ms apart: the data plane saw the origin go quiet and probed early, or misses were confirmed.
      for (let i = 0; i < 6; i++) edge.onSample((t += 30), { service: 's', method: 'icmp', rttMs: 1, ...extra })
      // Then the regular schedule again: a gap of one interval at its longest jitter.
      const down = edge.checkSilence(t + 275, STALE)
      // Learned, the interval fell to ~112 ms and the regular gap read as silence (the old behaviour, kept for probers that do not say).
      expect(down).toBe(!told)
    }
  })
})
