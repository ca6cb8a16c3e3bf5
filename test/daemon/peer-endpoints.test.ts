/**
 * A relay reachable at two endpoints (two providers): dal listens once, and
 * its peers know it as 127.0.0.1:P (provider A) and 127.0.0.2:P (provider B,
 * a 1:1 NAT onto the same socket, modelled by the peers' sockets rewriting
 * the address). When provider A fails, the peers move to B and data flows.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { RelayConfig } from '../../src/config/types.js'
import type { FakeNetwork } from '../../src/io/fake-network.js'
import type { PacketSocket, UdpSocketFactory } from '../../src/io/index.js'
import { silentLogger } from '../../src/io/log.js'
import { createRelayNode, type RelayNode } from '../../src/node/index.js'
import { buildConfigs } from '../dataplane/helpers.js'
import { WAN_RELAYS, echoOriginAndClient, fourRelayWan } from './four-relay-wan.js'

const BASE = 7800
const DAL_PORT = BASE + WAN_RELAYS.indexOf('dal')
const PROVIDER_B = '127.0.0.2'
let cleanup: (() => void) | undefined
afterEach(() => cleanup?.())

/** Sockets whose sends to provider B reach 127.0.0.1, and whose sends to dal over provider A are lost while `a.down`. */
function providers(net: FakeNetwork, a: { down: boolean }): UdpSocketFactory {
  return {
    open(host, port): PacketSocket {
      const s = net.open(host, port)
      const send = s.send.bind(s)
      s.send = (data, offset, length, toPort, toAddress) => {
        if (toPort === DAL_PORT && toAddress === '127.0.0.1' && a.down) return true
        return send(data, offset, length, toPort, toAddress === PROVIDER_B ? '127.0.0.1' : toAddress)
      }
      return s
    },
  }
}

async function world(aDownAtStart: boolean) {
  const { clock, net } = fourRelayWan(BASE)
  const a = { down: aDownAtStart }
  const configs = buildConfigs({ relays: WAN_RELAYS, basePort: BASE, services: [{ exits: ['dal'], paths: [] }] })
  for (const c of configs.values()) {
    for (const p of c.peers) if (p.id === 'dal') p.endpoints = [{ host: '127.0.0.1', port: DAL_PORT }, { host: PROVIDER_B, port: DAL_PORT }]
  }
  const overlay = providers(net, a)
  const nodes: RelayNode[] = []
  for (const config of configs.values()) {
    const node = createRelayNode({ config: config as RelayConfig, clock, timers: clock, sockets: { overlay, service: net, origin: net }, log: silentLogger, cryptoBackend: 'tweetnacl' })
    await node.start()
    nodes.push(node)
  }
  const { received, send, close } = echoOriginAndClient(net)
  cleanup = () => {
    for (const n of nodes) n.stop()
    close()
  }
  const byName = (n: string) => nodes[WAN_RELAYS.indexOf(n)]
  const dalSeenBy = (n: string) => byName(n).relay.stats().peers.dal.endpoint
  return { clock, a, received, byName, send, dalSeenBy }
}

describe('a relay with two endpoints', () => {
  it('is reached over the second when the first does not work from the start', async () => {
    const w = await world(true)
    w.clock.advance(15_000)
    for (const r of ['lax', 'sea', 'atl']) expect(w.dalSeenBy(r)).toBe(`${PROVIDER_B}:${DAL_PORT}`)
    expect(w.byName('lax').router.forwardPath('game')).toBeDefined()
    w.send('via-b')
    w.clock.advance(300)
    expect(w.received).toEqual(['via-b'])
  })

  it('fails over when the provider of the endpoint in use fails, and data flows again', async () => {
    const w = await world(false)
    w.clock.advance(8000)
    expect(w.dalSeenBy('lax')).toBe(`127.0.0.1:${DAL_PORT}`)
    w.send('via-a')
    w.clock.advance(300)
    expect(w.received).toEqual(['via-a'])
    w.a.down = true
    w.clock.advance(10_000)
    for (const r of ['lax', 'sea', 'atl']) expect(w.dalSeenBy(r)).toBe(`${PROVIDER_B}:${DAL_PORT}`)
    w.send('via-b')
    w.clock.advance(300)
    expect(w.received).toEqual(['via-a', 'via-b'])
  })
})
