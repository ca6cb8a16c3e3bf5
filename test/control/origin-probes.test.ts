/**
 * Origin probes run only where a service exits: a transit or an ingress
 * arms no timer, so it does not wake up every 10 ms for nothing (issue 18).
 */
import { describe, expect, it } from 'vitest'
import { OriginProbes } from '../../src/control/origin-probes.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import { silentLogger } from '../../src/io/log.js'
import type { OriginSample, Router } from '../../src/route/types.js'
import { buildConfigs } from '../dataplane/helpers.js'

function probesOn(relay: string): { clock: FakeClock; samples: number; intervals: (number | undefined)[]; probes: OriginProbes } {
  const configs = buildConfigs({ relays: ['lax', 'mid', 'dal'], services: [{ exits: ['dal'], paths: [['lax', 'mid', 'dal']] }] })
  const clock = new FakeClock(1000)
  const out = { clock, samples: 0, intervals: [] as (number | undefined)[], probes: undefined as unknown as OriginProbes }
  const router = {
    onOriginSample: (_now: number, s: OriginSample) => {
      out.samples++
      out.intervals.push(s.intervalMs)
    },
  } as unknown as Router
  out.probes = new OriginProbes(configs.get(relay)!, router, clock, clock, silentLogger)
  return out
}

describe('origin probes', () => {
  it('arm no timer on a relay where no service exits', () => {
    for (const relay of ['lax', 'mid']) {
      const p = probesOn(relay)
      p.probes.start()
      expect(p.clock.pendingTimers()).toBe(0)
      p.clock.advance(1000)
      expect(p.samples).toBe(0)
      p.probes.stop()
    }
  })

  it('keep sampling the origin at an exit', () => {
    const p = probesOn('dal')
    p.probes.start()
    expect(p.clock.pendingTimers()).toBe(1)
    p.clock.advance(1000)
    expect(p.samples).toBeGreaterThan(0)
    p.probes.stop()
    expect(p.clock.pendingTimers()).toBe(0)
  })

  it('with method none, read no data-plane counters and wake only for the samples (nothing could be brought forward)', () => {
    const configs = buildConfigs({ relays: ['lax', 'mid', 'dal'], services: [{ exits: ['dal'], paths: [['lax', 'mid', 'dal']] }] })
    const clock = new FakeClock(1000)
    let reads = 0
    let wakes = 0
    const timers = { setTimeout: (fn: () => void, ms: number) => clock.setTimeout(() => (wakes++, fn()), ms), clearTimeout: (h: unknown) => clock.clearTimeout(h as never) }
    const router = { onOriginSample: () => {} } as unknown as Router
    const probes = new OriginProbes(configs.get('dal')!, router, clock, timers, silentLogger, () => (reads++, { packetsOut: reads, packetsIn: 0 }))
    probes.start()
    clock.advance(2000)
    probes.stop()
    expect(reads).toBe(0)
    // One sample per 250 ms interval.
    expect(wakes).toBe(8)
  })

  it("tell the router the service's probe interval in every sample (its silence deadline is taken from it)", () => {
    const p = probesOn('dal')
    p.probes.start()
    p.clock.advance(2000)
    p.probes.stop()
    expect(p.samples).toBeGreaterThan(3)
    const configured = buildConfigs({ relays: ['lax', 'mid', 'dal'], services: [{ exits: ['dal'], paths: [['lax', 'mid', 'dal']] }] }).get('dal')!.services[0].originProbe.intervalMs
    expect(new Set(p.intervals)).toEqual(new Set([configured]))
  })
})
