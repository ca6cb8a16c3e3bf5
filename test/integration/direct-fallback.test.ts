/**
 * `fallback: direct` over real loopback sockets: two relays built as the
 * daemon builds them (createRelayNode, node:dgram, the real clock). While
 * the exit dal is not running, the ingress lax has no overlay path and sends
 * the flow straight to the origin; once dal is up and the map has a path,
 * the flow goes over the overlay, and the origin sees dal's socket instead.
 */
import dgram from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import type { RelayConfig } from '../../src/config/types.js'
import { monotonicClock, realTimers } from '../../src/io/clock.js'
import { silentLogger } from '../../src/io/log.js'
import { nodeUdp } from '../../src/io/udp.js'
import { createRelayNode, sameSockets, type RelayNode } from '../../src/node/index.js'
import { buildConfigs } from '../dataplane/helpers.js'
import { echoServer, freePorts, waitFor } from './harness.js'

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c()
})

async function start(config: RelayConfig): Promise<RelayNode> {
  const node = createRelayNode({ config, clock: monotonicClock, timers: realTimers, sockets: sameSockets(nodeUdp), log: silentLogger, cryptoBackend: 'tweetnacl' })
  await node.start()
  cleanups.push(() => node.stop())
  return node
}

describe('fallback: direct on loopback sockets', () => {
  it('reaches the origin from the ingress while the exit is down, and over the overlay once it is up', async () => {
    const [laxPort, dalPort, servicePort, originPort] = await freePorts(4)
    const configs = buildConfigs({
      relays: ['lax', 'dal'],
      services: [{ exits: ['dal'], paths: [], fallback: 'direct', ingress: [{ relay: 'lax', listen: { host: '127.0.0.1', port: servicePort } }], origin: { host: '127.0.0.1', port: originPort } }],
    })
    const port = { lax: laxPort, dal: dalPort } as Record<string, number>
    for (const c of configs.values()) {
      c.relay.listen.port = port[c.relay.id]
      for (const p of c.peers) p.endpoint.port = port[p.id]
    }
    const seenFrom: number[] = []
    const origin = await echoServer(originPort)
    origin.on('message', (_m, rinfo) => seenFrom.push(rinfo.port))
    cleanups.push(() => origin.close())
    const client = dgram.createSocket('udp4')
    const received: string[] = []
    client.on('message', (m) => received.push(String(m)))
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()))
    cleanups.push(() => client.close())
    const send = (text: string) => client.send(Buffer.from(text), servicePort, '127.0.0.1')

    const lax = await start(configs.get('lax')!)
    send('direct')
    expect(await waitFor(() => received.includes('direct'), 3000)).toBe(true)
    expect(lax.relay.stats().services.game.direct).toMatchObject({ flows: 1, packets_out: 1, packets_in: 1 })
    const directPort = seenFrom[0]

    await start(configs.get('dal')!)
    expect(await waitFor(() => lax.router.forwardPath('game') !== undefined, 10_000, 50)).toBe(true)
    // Bounded: at most 50 tries, 100 ms apart.
    let i = 0
    while (i < 50 && !received.some((r) => r.startsWith('overlay'))) {
      send(`overlay${i++}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(received.some((r) => r.startsWith('overlay'))).toBe(true)
    expect(seenFrom.at(-1)).not.toBe(directPort)
    expect(lax.relay.stats().services.game.direct!.flows).toBe(0)
  }, 20_000)
})
