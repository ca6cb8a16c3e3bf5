/**
 * The relay's housekeeping tick (counter drains, crypto timers, the flows'
 * sweep) runs every tickMs on its own timer, or earlier on the control
 * plane's wake-up (Relay.tickIfDue): an idle relay then does not wake 10
 * times a second for it, and no run is later than its own timer would have
 * made it.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { dataPlaneConfig } from '../../src/config/data-plane.js'
import { createSecureEndpoint } from '../../src/crypto/index.js'
import { Relay, TICK_EARLY_MS } from '../../src/dataplane/relay.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import { FakeNetwork } from '../../src/io/fake-network.js'
import type { Timers } from '../../src/io/index.js'
import { silentLogger } from '../../src/io/log.js'
import { buildConfigs } from './helpers.js'

const TICK_MS = 100
let stop: (() => void) | undefined
afterEach(() => stop?.())

/** One relay on fake time; counts the runs of its tick (its endpoint's tick) and the wake-ups of its own timers. */
async function relayWithCounts() {
  const clock = new FakeClock(1000)
  const config = buildConfigs({ relays: ['lax', 'sea', 'dal'], services: [{ exits: ['dal'] }] }).get('sea')!
  const counts = { wakes: 0, runsAt: [] as number[] }
  const timers: Timers = {
    setTimeout: (fn, ms) => clock.setTimeout(() => { counts.wakes++; fn() }, ms),
    clearTimeout: (h) => clock.clearTimeout(h),
  }
  const relay = new Relay({
    plane: dataPlaneConfig(config), udp: new FakeNetwork(clock), clock, timers, log: silentLogger, cryptoBackend: 'tweetnacl', tickMs: TICK_MS,
    makeEndpoint: (o) => {
      const e = createSecureEndpoint({ ...o, privateKey: config.relay.privateKey })
      const tick = e.tick.bind(e)
      e.tick = (now) => { counts.runsAt.push(now); tick(now) }
      return e
    },
  })
  await relay.start()
  stop = () => relay.stop()
  return { relay, clock, counts }
}

const gaps = (xs: number[]): number[] => xs.slice(1).map((x, i) => x - xs[i])

describe('relay housekeeping tick', () => {
  it('alone, runs every tickMs on its own timer', async () => {
    const w = await relayWithCounts()
    w.clock.advance(1000)
    expect(w.counts.runsAt).toEqual([1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900, 2000])
    expect(w.counts.wakes).toBe(10)
  })

  it('runs on the control plane wake-ups that come within TICK_EARLY_MS of its time, and then never wakes by itself', async () => {
    const w = await relayWithCounts()
    // A control plane waking every 30 ms (an idle relay's probe rounds, data-activity samples).
    for (let t = 0; t < 2000; t += 30) {
      w.clock.advance(30)
      w.relay.tickIfDue(w.clock.nowMs())
    }
    expect(w.counts.wakes).toBe(0)
    expect(w.counts.runsAt.length).toBeGreaterThanOrEqual(2000 / TICK_MS)
    // Never later than its own timer would have run it, never more than TICK_EARLY_MS early.
    for (const g of gaps([1000, ...w.counts.runsAt])) {
      expect(g).toBeLessThanOrEqual(TICK_MS)
      expect(g).toBeGreaterThanOrEqual(TICK_MS - TICK_EARLY_MS)
    }
  })

  it('ignores a wake-up that comes earlier than TICK_EARLY_MS before its time, and wakes itself when none comes', async () => {
    const w = await relayWithCounts()
    w.clock.advance(TICK_MS - TICK_EARLY_MS - 1)
    w.relay.tickIfDue(w.clock.nowMs())
    expect(w.counts.runsAt).toEqual([])
    w.clock.advance(TICK_EARLY_MS + 1)
    expect(w.counts.runsAt).toEqual([1100])
    expect(w.counts.wakes).toBe(1)
  })

  it('does nothing once stopped', async () => {
    const w = await relayWithCounts()
    w.relay.stop()
    w.clock.advance(TICK_MS)
    w.relay.tickIfDue(w.clock.nowMs())
    expect(w.counts.runsAt).toEqual([])
  })
})
