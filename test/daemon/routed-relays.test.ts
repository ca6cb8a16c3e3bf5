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
import type { RelayConfig, ServiceConfig } from '../../src/config/types.js'
import type { PacketSocket } from '../../src/io/index.js'
import { buildConfigs } from '../dataplane/helpers.js'
import { WAN_RELAYS, fourRelayWan, startRoutedRelay, type RoutedRelay } from './four-relay-wan.js'

const NAMES = WAN_RELAYS
const BASE = 7000

let cleanup: (() => void) | undefined
afterEach(() => cleanup?.())

async function routedWorld(service: Partial<ServiceConfig> = {}) {
  const { clock, net, cut } = fourRelayWan(BASE)
  const configs = buildConfigs({ relays: NAMES, basePort: BASE, services: [{ exits: ['dal'], paths: [], ...service }] })
  const parts: RoutedRelay[] = []
  for (const config of configs.values()) parts.push(await startRoutedRelay(config as RelayConfig, net, clock))
  const origin = net.open('127.0.0.1', 9000)
  origin.onMessage((d, from) => origin.send(d, 0, d.length, from.port, from.address))
  const client = net.open('127.0.0.1', 50000)
  const received: Buffer[] = []
  client.onMessage((d) => received.push(Buffer.from(d)))
  const sockets: PacketSocket[] = [origin, client]
  cleanup = () => {
    for (const p of parts) p.stop()
    for (const s of sockets) s.close()
  }
  const byName = (n: string) => parts[NAMES.indexOf(n)]
  return { clock, cut, client, received, byName }
}

describe('latency-driven routing on the data plane', () => {
  it('sends forward traffic on the fastest one-way path and replies on the other direction\'s fastest', async () => {
    const w = await routedWorld()
    w.clock.advance(5000)
    const fwd = w.byName('lax').bridge.router.forwardPath('game')
    expect(fwd?.path).toEqual(['lax', 'sea', 'dal'])
    const rep = w.byName('dal').bridge.router.replyPath('game', 'lax')
    expect(rep?.path).toEqual(['dal', 'lax'])
    w.client.send(Buffer.from('ping'), 0, 4, 27015, '127.0.0.1')
    w.clock.advance(200)
    expect(w.received.map(String)).toEqual(['ping'])
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
    w.client.send(Buffer.from('after'), 0, 5, 27015, '127.0.0.1')
    w.clock.advance(300)
    expect(w.received.map(String)).toContain('after')
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
      w.client.send(Buffer.from(`r${i}`), 0, 3 + (i >= 10 ? 1 : 0), 27015, '127.0.0.1')
      w.clock.advance(20)
    }
    w.clock.advance(300)
    expect(w.received.map(String)).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}`))
    expect(w.byName('dal').relay.stats().services.game.drops.duplicate).toBeGreaterThanOrEqual(20)
    // Cut the primary's middle edge: with two copies in flight nothing is lost, even before rerouting.
    w.cut.add('sea>dal')
    for (let i = 0; i < 20; i++) {
      w.client.send(Buffer.from(`c${i}`), 0, 3 + (i >= 10 ? 1 : 0), 27015, '127.0.0.1')
      w.clock.advance(20)
    }
    w.clock.advance(300)
    expect(w.received.slice(20).map(String)).toEqual(Array.from({ length: 20 }, (_, i) => `c${i}`))
  })
})
