/**
 * L3 services routed by the real control plane (Router + RouterBridge) on
 * the in-memory network, with fake TUN devices on lax (branch) and dal (DC):
 *
 *   one-way ms   lax   sea   dal   atl
 *        lax      -     8    40    30
 *        sea      8     -    10    30
 *        dal     12    10     -    25
 *        atl     30    30    25     -
 *
 * dc (10.200.0.0/24, exit dal): lax's best forward path is lax > sea > dal (18 ms).
 * site-lax (10.101.0.0/24, exit lax): dal's best forward path is dal > lax (12 ms).
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { ServiceConfig } from '../../src/config/types.js'
import { parsePrefix } from '../../src/l3/prefix.js'
import { FakeTun } from '../dataplane/fake-tun.js'
import { buildConfigs } from '../dataplane/helpers.js'
import { WAN_RELAYS, fourRelayWan, startRoutedRelay, type RoutedRelay } from './four-relay-wan.js'
import { buildV4 } from '../l3/packets.js'

const NAMES = WAN_RELAYS
const BASE = 7100

let cleanup: (() => void) | undefined
afterEach(() => cleanup?.())

async function routedL3(dc: Partial<ServiceConfig> = {}) {
  const { clock, net, cut } = fourRelayWan(BASE)
  const configs = buildConfigs({
    relays: NAMES,
    basePort: BASE,
    services: [
      { name: 'dc', mode: 'l3', prefixes: [parsePrefix('10.200.0.0/24')], exits: ['dal'], ...dc },
      { name: 'site-lax', mode: 'l3', prefixes: [parsePrefix('10.101.0.0/24')], exits: ['lax'] },
    ],
  })
  const tuns = new Map([['lax', new FakeTun('op3lax')], ['dal', new FakeTun('op3dal')]])
  for (const [id, tun] of tuns) configs.get(id)!.l3 = { tun: tun.name, mtu: 1388, maxMtu: 1388, oversizeWithoutDf: 'fragment', clampMss: true, addresses: [] }
  const parts = new Map<string, RoutedRelay>()
  for (const [id, config] of configs) parts.set(id, await startRoutedRelay(config, net, clock, tuns.get(id)))
  cleanup = () => {
    for (const p of parts.values()) p.stop()
  }
  return { clock, cut, lax: tuns.get('lax')!, dal: tuns.get('dal')!, part: (id: string) => parts.get(id)! }
}

describe('L3 services on the latency router', () => {
  it('sends a branch packet on the router\'s fastest path and the DC reply on the other direction\'s fastest', async () => {
    const w = await routedL3()
    w.clock.advance(5000)
    expect(w.part('lax').bridge.router.forwardPath('dc')?.path).toEqual(['lax', 'sea', 'dal'])
    expect(w.part('dal').bridge.router.forwardPath('site-lax')?.path).toEqual(['dal', 'lax'])
    const seaBefore = w.part('sea').relay.stats().peers.lax.packets_in as number
    w.lax.inject(buildV4({ src: '10.101.0.5', dst: '10.200.0.7' }))
    w.clock.advance(200)
    expect(w.dal.written).toHaveLength(1)
    expect(w.part('sea').relay.stats().peers.lax.packets_in).toBeGreaterThan(seaBefore)
    w.dal.inject(buildV4({ src: '10.200.0.7', dst: '10.101.0.5' }))
    w.clock.advance(200)
    expect(w.lax.written).toHaveLength(1)
    expect([...w.lax.written[0].subarray(12, 20)]).toEqual([10, 200, 0, 7, 10, 101, 0, 5])
    // A relay without l3 computes no L3 route (it is an ingress of nothing).
    expect(w.part('atl').bridge.router.routes().forward).toEqual([])
  })

  it('sends a redundant l3 service over two paths and writes each packet into the exit TUN once', async () => {
    const w = await routedL3({ redundant: true })
    w.clock.advance(5000)
    expect(w.part('lax').bridge.router.forwardPath('dc')?.backup).toBeDefined()
    for (let i = 0; i < 10; i++) {
      w.lax.inject(buildV4({ src: '10.101.0.5', dst: '10.200.0.7', id: i }))
      w.clock.advance(20)
    }
    w.cut.add('sea>dal')
    for (let i = 10; i < 20; i++) {
      w.lax.inject(buildV4({ src: '10.101.0.5', dst: '10.200.0.7', id: i }))
      w.clock.advance(20)
    }
    w.clock.advance(300)
    expect(w.dal.written.map((p) => p.readUInt16BE(4))).toEqual(Array.from({ length: 20 }, (_, i) => i))
    expect(w.part('dal').relay.stats().services.dc.drops.duplicate).toBeGreaterThanOrEqual(10)
  })
})
