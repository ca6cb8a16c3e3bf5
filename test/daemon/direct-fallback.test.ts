/**
 * `fallback: direct` on the four-relay WAN (four-relay-wan.ts): when the
 * ingress lax has no overlay path to the exit dal, its flow goes straight to
 * the origin from lax's own socket, and returns to the overlay when a path
 * is back. A service without the fallback drops the same packets (no_route).
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { ServiceConfig } from '../../src/config/types.js'
import { LINGER_MS } from '../../src/dataplane/direct-fallback.js'
import { parseProxyV2Header } from '../../src/dataplane/proxy-protocol.js'
import { WAN_RELAYS, echoOriginAndClient, startWanRelays } from './four-relay-wan.js'

const BASE = 7700
let cleanup: (() => void) | undefined
afterEach(() => cleanup?.())

async function world(service: Partial<ServiceConfig>) {
  const { clock, net, cut, byName, stop } = await startWanRelays(BASE, service)
  const { origin, received, send, close } = echoOriginAndClient(net)
  /** Source port of every datagram the origin got, in order. */
  const seenFrom: number[] = []
  let lastAddress = ''
  origin.onMessage((_d, from) => {
    seenFrom.push(from.port)
    lastAddress = from.address
  })
  cleanup = () => {
    stop()
    close()
  }
  /** lax can send to no other relay: it has no overlay path (it still hears them). */
  const isolate = () => {
    for (const r of WAN_RELAYS) if (r !== 'lax') cut.add(`lax>${r}`)
  }
  /** Lets the paths settle, isolates lax, and sends one datagram that lax then has no overlay path for. */
  const sendIsolated = (text: string) => {
    clock.advance(5000)
    isolate()
    clock.advance(2000)
    send(text)
    clock.advance(100)
  }
  return { clock, net, cut, send, received, seenFrom, byName, isolate, sendIsolated, origin, lastAddress: () => lastAddress }
}

describe('fallback: direct', () => {
  it('sends a flow straight to the origin while the ingress has no overlay path, and back over the overlay once it has', async () => {
    const w = await world({ fallback: 'direct' })
    w.clock.advance(5000)
    const lax = w.byName('lax')
    w.send('o1')
    w.clock.advance(300)
    expect(w.received).toEqual(['o1'])
    const exitPort = w.seenFrom[0]

    w.isolate()
    w.clock.advance(2000)
    expect(lax.router.forwardPath('game')).toBeUndefined()
    for (let i = 0; i < 5; i++) {
      w.send(`d${i}`)
      w.clock.advance(100)
    }
    expect(w.received.slice(1)).toEqual(['d0', 'd1', 'd2', 'd3', 'd4'])
    // The origin saw the direct datagrams from another socket than the exit's: lax's own.
    const directPort = w.seenFrom[1]
    expect(directPort).not.toBe(exitPort)
    expect(w.seenFrom.slice(1)).toEqual([directPort, directPort, directPort, directPort, directPort])
    const direct = lax.relay.stats().services.game.direct!
    expect(direct).toMatchObject({ flows: 1, packets_out: 5, packets_in: 5 })
    expect(lax.relay.stats().services.game.drops.no_route).toBeUndefined()

    w.cut.clear()
    w.clock.advance(3000)
    expect(lax.router.forwardPath('game')).toBeDefined()
    w.send('back')
    w.clock.advance(300)
    expect(w.received.at(-1)).toBe('back')
    expect(w.seenFrom.at(-1)).toBe(exitPort)
    expect(lax.relay.stats().services.game.direct!.flows).toBe(0)
  })

  it('keeps the direct socket open for late answers a little after the flow went back, then closes it', async () => {
    const w = await world({ fallback: 'direct' })
    w.sendIsolated('d')
    const directPort = w.seenFrom.at(-1)!
    const directAddress = w.lastAddress()
    w.cut.clear()
    w.clock.advance(3000)
    w.send('o')
    w.clock.advance(300)
    // An answer the origin sends late to the direct socket still reaches the client...
    w.origin.send(Buffer.from('late'), 0, 4, directPort, directAddress)
    w.clock.advance(100)
    expect(w.received).toEqual(['d', 'o', 'late'])
    // ...until the linger (LINGER_MS) is over and the sweep closed the socket.
    w.clock.advance(LINGER_MS + 1500)
    w.origin.send(Buffer.from('gone'), 0, 4, directPort, directAddress)
    w.clock.advance(100)
    expect(w.received).toEqual(['d', 'o', 'late'])
    expect(w.byName('lax').relay.stats().services.game.direct).toMatchObject({ flows: 0, packets_out: 1, packets_in: 2 })
  })

  it('refuses answers to the direct socket from anyone but the origin', async () => {
    const w = await world({ fallback: 'direct' })
    w.sendIsolated('d')
    const directPort = w.seenFrom.at(-1)!
    const stranger = w.net.open('127.0.0.1', 9001)
    stranger.send(Buffer.from('spoof'), 0, 5, directPort, w.lastAddress())
    w.clock.advance(100)
    stranger.close()
    expect(w.received).toEqual(['d'])
    expect(w.byName('lax').relay.stats().services.game.drops.origin_unexpected_source).toBe(1)
  })

  it('puts the PROXY v2 header naming the real client in front of direct datagrams of a proxy-protocol service', async () => {
    const w = await world({ fallback: 'direct', delivery: 'proxy-protocol' })
    const headers: string[] = []
    w.origin.onMessage((d) => {
      const h = parseProxyV2Header(d)
      headers.push(h === undefined ? 'none' : `${h.client.clientAddress}:${h.client.clientPort} ${d.subarray(h.headerLen).toString()}`)
    })
    w.sendIsolated('d')
    expect(headers.at(-1)).toBe('127.0.0.1:50000 d')
  })

  it('without fallback drops the same packets as no_route', async () => {
    const w = await world({})
    w.sendIsolated('d')
    w.clock.advance(200)
    expect(w.received).toEqual([])
    expect(w.byName('lax').relay.stats().services.game.drops.no_route).toBe(1)
    expect(w.byName('lax').relay.stats().services.game.direct).toBeUndefined()
  })
})
