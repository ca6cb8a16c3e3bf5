/**
 * The bridge ticks the router when something is due (Router.nextTickMs),
 * on the grid of the fixed tick it replaces: no tick with nothing to do, no
 * work later than the fixed tick would have done it, and an input that
 * brings a deadline forward gets its tick. Without nextTickMs (another
 * Router) it ticks every tickMs as before.
 */
import { describe, expect, it } from 'vitest'
import { resolveServiceRoles } from '../../src/config/data-plane.js'
import { DEFAULT_TICK_MS, MAX_TICK_GAP_MS, RouterBridge, type ControlTransport } from '../../src/control/router-bridge.js'
import { DATA_ACTIVITY_SAMPLE_MS } from '../../src/control/data-activity.js'
import { DropCounts } from '../../src/dataplane/counters.js'
import { SnapshotPaths } from '../../src/dataplane/paths.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import { silentLogger } from '../../src/io/log.js'
import { idleRouter } from '../route/helpers/idle-router.js'
import { buildConfigs } from '../dataplane/helpers.js'
import { startWanRelays, WAN_RELAYS } from '../daemon/four-relay-wan.js'
import { RouterCore } from '../../src/route/router.js'

/** A router with the deadlines the test sets (a tick passes the due ones); it records when it was ticked. */
function setup(opts: { deadlines: boolean }) {
  const config = buildConfigs({ relays: ['lax', 'sea', 'dal'], services: [{ exits: ['dal'] }] }).get('sea')!
  const ticks: number[] = []
  const state = { dueMs: [] as number[], inMotion: false }
  const router = idleRouter({
    tick: (now: number) => {
      ticks.push(now)
      state.dueMs = state.dueMs.filter((t) => t > now)
      return []
    },
    ...(opts.deadlines ? { nextTickMs: () => (state.inMotion ? -Infinity : Math.min(...state.dueMs)) } : {}),
  })
  const relayTicks: number[] = []
  const transport = { attachControlPlane: () => {}, peerById: () => undefined, sendPlain: () => true, drops: new DropCounts(), tickIfDue: (now: number) => relayTicks.push(now) } as unknown as ControlTransport
  const paths = new SnapshotPaths('sea', resolveServiceRoles('sea', false, config.services))
  const clock = new FakeClock(0)
  const bridge = new RouterBridge(transport, router, config, paths, clock, clock, silentLogger)
  return { bridge, clock, ticks, state, relayTicks }
}

const peer = { id: 'lax' } as Parameters<RouterBridge['onProbe']>[0]

describe('router bridge: next-deadline ticks', () => {
  it('offers the relay its housekeeping tick on each of its own ticks (Relay.tickIfDue: no wake-up of its own)', () => {
    const w = setup({ deadlines: true })
    w.state.dueMs = [95, 330]
    w.bridge.start()
    w.clock.advance(400)
    expect(w.ticks.length).toBeGreaterThan(2)
    expect(w.relayTicks).toEqual(w.ticks)
    w.bridge.stop()
  })

  it('ticks at the router deadline, rounded up to the fixed tick grid, and not in between', () => {
    const w = setup({ deadlines: true })
    w.state.dueMs = [95, 330]
    w.bridge.start()
    w.clock.advance(99)
    expect(w.ticks).toEqual([0])
    w.clock.advance(1)
    // 95 is served at 100, as a 20 ms tick would have served it (200: the data-activity sample).
    expect(w.ticks).toEqual([0, 100])
    w.clock.advance(299)
    expect(w.ticks).toEqual([0, 100, 200, 340])
    w.bridge.stop()
  })

  it('with nothing due in the router, ticks only for the data-activity sample', () => {
    const w = setup({ deadlines: true })
    w.bridge.start()
    w.clock.advance(5 * DATA_ACTIVITY_SAMPLE_MS)
    expect(w.ticks).toEqual([0, 1, 2, 3, 4, 5].map((k) => k * DATA_ACTIVITY_SAMPLE_MS))
    expect(DATA_ACTIVITY_SAMPLE_MS).toBeLessThanOrEqual(MAX_TICK_GAP_MS)
    w.bridge.stop()
  })

  it('ticks every tickMs while the router has work in motion (its deadline is now)', () => {
    const w = setup({ deadlines: true })
    w.state.inMotion = true
    w.bridge.start()
    w.clock.advance(100)
    expect(w.ticks).toEqual([0, 20, 40, 60, 80, 100])
    w.bridge.stop()
  })

  it('an input that brings the deadline forward gets its tick at the next grid slot', () => {
    const w = setup({ deadlines: true })
    w.bridge.start()
    w.clock.advance(333)
    expect(w.ticks).toEqual([0, 200])
    // A probe makes work due now (e.g. an edge came up and its column must flood).
    w.state.dueMs = [w.clock.nowMs()]
    w.bridge.onProbe(peer, Buffer.alloc(0), w.clock.nowMs())
    w.clock.advance(10)
    expect(w.ticks).toEqual([0, 200, 340])
    w.bridge.stop()
  })

  it('without nextTickMs the router is ticked every tickMs, as before', () => {
    const w = setup({ deadlines: false })
    w.bridge.start()
    w.clock.advance(5 * DEFAULT_TICK_MS)
    expect(w.ticks).toEqual([0, 20, 40, 60, 80, 100])
    w.bridge.stop()
  })

  it('stop() leaves no timer, and inputs after it arm none', () => {
    const w = setup({ deadlines: true })
    w.state.dueMs = [50]
    w.bridge.start()
    w.bridge.stop()
    w.bridge.onProbe(peer, Buffer.alloc(0), 0)
    expect(w.clock.pendingTimers()).toBe(0)
  })

  it('settled relays of a real network tick well under 50 times a second, the exit with an origin leg too', async () => {
    const { clock, byName, stop } = await startWanRelays(7480)
    try {
      clock.advance(5000)
      const counts: Record<string, number> = {}
      for (const n of ['lax', 'sea', 'dal']) {
        const r = byName(n).bridge.router
        const tick = r.tick.bind(r)
        counts[n] = 0
        r.tick = (now: number) => {
          counts[n]++
          return tick(now)
        }
      }
      clock.advance(5000)
      // Probe rounds (100 ms), silence deadlines, data-activity samples, floods, path reports,
      // endpoint checks; at the exit the origin leg's silence deadline too.
      expect(counts.lax).toBeLessThan(125)
      expect(counts.sea).toBeLessThan(125)
      expect(counts.dal).toBeLessThan(125)
    } finally {
      stop()
    }
  })

  it('changes nothing the routers decide: the same route changes, at about the same times, and the same map as with a fixed tick, through a cut and its repair', async () => {
    const run = async (base: number) => {
      const { clock, byName, cut, stop } = await startWanRelays(base)
      try {
        clock.advance(5000)
        const cutMs = clock.nowMs()
        cut.add('sea>dal')
        clock.advance(3000)
        cut.delete('sea>dal')
        clock.advance(4000)
        // The first choices at start-up vary from run to run in either mode (handshake timing): from the cut on.
        return WAN_RELAYS.map((n) => ({
          history: byName(n).bridge.history.filter((h) => h.atMs >= cutMs).map((h) => ({ ...h })),
          edges: byName(n).bridge.router.edges().map((e) => `${e.from}>${e.to} ${e.up} ${e.delayMs.toFixed(3)}`),
        }))
      } finally {
        stop()
      }
    }
    const withDeadlines = await run(7500)
    const nextTickMs = Object.getOwnPropertyDescriptor(RouterCore.prototype, 'nextTickMs')!
    delete (RouterCore.prototype as { nextTickMs?: unknown }).nextTickMs
    let fixed
    try {
      fixed = await run(7500)
    } finally {
      Object.defineProperty(RouterCore.prototype, 'nextTickMs', nextTickMs)
    }
    expect(withDeadlines.some((r) => r.history.length > 1)).toBe(true)
    // The same decisions in the same order and the same map at the end; when they happen varies
    // from run to run by a few hundred ms in either mode (handshake timing), so only roughly the same.
    const decisions = (rs: typeof withDeadlines) => rs.map((r) => ({ paths: r.history.map((h) => `${h.direction} ${h.path.join('>')}`), edges: r.edges }))
    expect(decisions(withDeadlines)).toEqual(decisions(fixed!))
    withDeadlines.forEach((r, i) => r.history.forEach((h, k) => expect(Math.abs(h.atMs - fixed![i].history[k].atMs)).toBeLessThan(500)))
  })
})
