/**
 * Relays with their real control plane (Router + RouterBridge) on an
 * in-memory network with per-link one-way delays and a fake clock: the
 * data plane must follow the latency map, per direction, and fail over.
 *
 *   one-way ms   lax   sea   dal   atl
 *        lax      -     8    40    30
 *        sea      8     -    10    30
 *        dal     12    10     -    25
 *        atl     30    30    25     -
 *
 * Forward lax->dal: direct 40, via sea 8+10 = 18 (best).
 * Reply dal->lax: direct 12 (best), via sea 10+8 = 18.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { ServiceConfig } from '../../src/config/types.js'
import { echoOriginAndClient, startWanRelays } from './four-relay-wan.js'

const BASE = 7000

let cleanup: (() => void) | undefined
afterEach(() => cleanup?.())

async function routedWorld(service: Partial<ServiceConfig> = {}) {
  const { clock, net, cut, byName, stop } = await startWanRelays(BASE, service)
  const { received, send, close } = echoOriginAndClient(net)
  cleanup = () => {
    stop()
    close()
  }
  return { clock, cut, send, received, byName }
}

describe('latency-driven routing on the data plane', () => {
  it('sends forward traffic on the fastest one-way path and replies on the other direction\'s fastest', async () => {
    const w = await routedWorld()
    w.clock.advance(5000)
    const fwd = w.byName('lax').bridge.router.forwardPath('game')
    expect(fwd?.path).toEqual(['lax', 'sea', 'dal'])
    const rep = w.byName('dal').bridge.router.replyPath('game', 'lax')
    expect(rep?.path).toEqual(['dal', 'lax'])
    w.send('ping')
    w.clock.advance(200)
    expect(w.received).toEqual(['ping'])
    // The forward packet crossed sea; the reply did not.
    expect(w.byName('sea').relay.stats().peers.lax.packets_in).toBeGreaterThan(0)
  })

  it('moves a flow off a cut edge in well under a second', async () => {
    const w = await routedWorld()
    w.clock.advance(5000)
    expect(w.byName('lax').bridge.router.forwardPath('game')?.path).toEqual(['lax', 'sea', 'dal'])
    w.cut.add('sea>dal')
    const cutAt = w.clock.nowMs()
    let movedAt: number | undefined
    for (let t = 0; t < 2000 && movedAt === undefined; t += 10) {
      w.clock.advance(10)
      const p = w.byName('lax').bridge.router.forwardPath('game')?.path.join('>')
      if (p !== undefined && p !== 'lax>sea>dal') movedAt = w.clock.nowMs()
    }
    expect(movedAt).toBeDefined()
    expect(movedAt! - cutAt).toBeLessThan(1000)
    // And traffic flows on the new path.
    w.send('after')
    w.clock.advance(300)
    expect(w.received).toContain('after')
  })

  it('sends a redundant service over two edge-disjoint paths, delivers each packet once, and loses nothing when one path is cut', async () => {
    const w = await routedWorld({ redundant: true })
    w.clock.advance(5000)
    const fwd = w.byName('lax').bridge.router.forwardPath('game')
    expect(fwd?.path).toEqual(['lax', 'sea', 'dal'])
    expect(fwd?.backup).toBeDefined()
    const hops = (p: string[]): string[] => p.slice(1).map((_, i) => `${p[i]}>${p[i + 1]}`)
    expect(hops(fwd!.backup!).filter((h) => hops(fwd!.path).includes(h))).toEqual([])
    for (let i = 0; i < 20; i++) {
      w.send(`r${i}`)
      w.clock.advance(20)
    }
    w.clock.advance(300)
    expect(w.received).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}`))
    expect(w.byName('dal').relay.stats().services.game.drops.duplicate).toBeGreaterThanOrEqual(20)
    // Cut the primary's middle edge: with two copies in flight nothing is lost, even before rerouting.
    w.cut.add('sea>dal')
    for (let i = 0; i < 20; i++) {
      w.send(`c${i}`)
      w.clock.advance(20)
    }
    w.clock.advance(300)
    expect(w.received.slice(20)).toEqual(Array.from({ length: 20 }, (_, i) => `c${i}`))
  })
})
