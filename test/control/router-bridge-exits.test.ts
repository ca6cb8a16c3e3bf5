/**
 * The bridge publishes a path to each usable exit of a multi-exit service
 * (PathSnapshot.forwardByExit), for flows that keep their exit
 * (dataplane/flow-exits.ts): withdrawn when the router withdraws the exit,
 * passed to the other workers when it changes, never logged as a route change.
 */
import { describe, expect, it } from 'vitest'
import { resolveServiceRoles } from '../../src/config/data-plane.js'
import { RouterBridge, type ControlTransport } from '../../src/control/router-bridge.js'
import { DropCounts } from '../../src/dataplane/counters.js'
import { SnapshotPaths, type PathSnapshot } from '../../src/dataplane/paths.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import { silentLogger } from '../../src/io/log.js'
import type { PathChoice } from '../../src/route/types.js'
import { idleRouter } from '../route/helpers/idle-router.js'
import { nameId } from '../../src/wire/ids.js'
import { buildConfigs } from '../dataplane/helpers.js'

function setup() {
  const config = buildConfigs({ relays: ['lax', 'sea', 'dal', 'bos'], services: [{ exits: ['dal', 'bos'] }] }).get('lax')!
  const choice = (path: string[]): PathChoice => ({ service: 'game', path, delayMs: 10, sinceMs: 0 })
  const state: { best?: string[]; via: Record<string, string[] | undefined> } = { best: ['lax', 'dal'], via: { dal: ['lax', 'dal'], bos: ['lax', 'bos'] } }
  const router = idleRouter({
    forwardPath: () => (state.best ? choice(state.best) : undefined),
    forwardPathVia: (_s: string, exit: string) => (state.via[exit] ? choice(state.via[exit]!) : undefined),
  })
  const transport: ControlTransport = { attachControlPlane: () => {}, peerById: () => undefined, sendPlain: () => true, drops: new DropCounts() } as unknown as ControlTransport
  const paths = new SnapshotPaths('lax', resolveServiceRoles('lax', false, config.services))
  const clock = new FakeClock(0)
  const bridge = new RouterBridge(transport, router, config, paths, clock, clock, silentLogger)
  const posted: PathSnapshot[] = []
  bridge.onPathsChanged = (s) => posted.push(s)
  bridge.start()
  const byExit = () => [...(paths.current.forwardByExit?.get('game') ?? new Map()).entries()].map(([n, p]) => [n, [...p.nodes]])
  return { bridge, state, clock, paths, posted, byExit, svc: config.services[0] }
}

describe('router bridge: paths to each exit', () => {
  it('publishes a path to every usable exit and withdraws one the router withdraws, without logging route changes', () => {
    const w = setup()
    w.clock.advance(100)
    expect(w.byExit()).toEqual([
      [nameId('dal'), [nameId('lax'), nameId('dal')]],
      [nameId('bos'), [nameId('lax'), nameId('bos')]],
    ])
    const historyBefore = w.bridge.history.length
    const postedBefore = w.posted.length
    // The path to bos (not the best exit) moves inside the overlay.
    w.state.via.bos = ['lax', 'sea', 'bos']
    w.clock.advance(100)
    expect(w.paths.forwardVia(w.svc, nameId('bos'))?.nodes).toEqual(Uint32Array.from([nameId('lax'), nameId('sea'), nameId('bos')]))
    expect(w.posted.length).toBe(postedBefore + 1)
    // bos's origin leg fails: the router withdraws it.
    w.state.via.bos = undefined
    w.clock.advance(100)
    expect(w.paths.forwardVia(w.svc, nameId('bos'))).toBeUndefined()
    expect(w.posted.length).toBe(postedBefore + 2)
    expect(w.bridge.history.length).toBe(historyBefore)
    w.bridge.stop()
  })

  it('shows the path to each exit by relay name, as the data plane holds it (overpass routes by_exit)', () => {
    const w = setup()
    w.state.via.bos = ['lax', 'sea', 'bos']
    w.clock.advance(100)
    expect(w.bridge.forwardByExit()).toEqual({
      game: [
        { exit: 'dal', path: ['lax', 'dal'] },
        { exit: 'bos', path: ['lax', 'sea', 'bos'] },
      ],
    })
    w.state.via.bos = undefined
    w.clock.advance(100)
    expect(w.bridge.forwardByExit()).toEqual({ game: [{ exit: 'dal', path: ['lax', 'dal'] }] })
    w.bridge.stop()
  })
})
