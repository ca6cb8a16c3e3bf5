/**
 * The four-relay WAN of the routed daemon tests: lax, sea, dal, atl on an
 * in-memory network with fixed one-way delays per direction (lax>sea>dal
 * beats lax>dal) and directed cuts, on a fake clock; and relays built on
 * it by createRelayNode, as the daemon builds them.
 */
import type { RelayConfig, ServiceConfig } from '../../src/config/types.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import { FakeNetwork } from '../../src/io/fake-network.js'
import type { TunDevice } from '../../src/io/index.js'
import { silentLogger } from '../../src/io/log.js'
import { createRelayNode, sameSockets, type RelayNode } from '../../src/node/index.js'
import { buildConfigs } from '../dataplane/helpers.js'

export const WAN_RELAYS = ['lax', 'sea', 'dal', 'atl']

const ONE_WAY_MS: Record<string, number> = {
  'lax>sea': 8, 'lax>dal': 40, 'lax>atl': 30,
  'sea>lax': 8, 'sea>dal': 10, 'sea>atl': 30,
  'dal>lax': 12, 'dal>sea': 10, 'dal>atl': 25,
  'atl>lax': 30, 'atl>sea': 30, 'atl>dal': 25,
}

/** Relay i listens on basePort + i; any other port (clients, origins) is 0.2 ms away. */
export function fourRelayWan(basePort: number): { clock: FakeClock; net: FakeNetwork; cut: Set<string> } {
  const nameOfPort = (port: number): string | undefined => WAN_RELAYS[port - basePort]
  const clock = new FakeClock(5_000_000)
  const cut = new Set<string>()
  const net = new FakeNetwork(clock, {
    delayMs: (from, to) => {
      const a = nameOfPort(from.port)
      const b = nameOfPort(to.port)
      return a && b ? ONE_WAY_MS[`${a}>${b}`] : 0.2
    },
    lossProbability: (from, to) => (cut.has(`${nameOfPort(from.port)}>${nameOfPort(to.port)}`) ? 1 : 0),
  })
  return { clock, net, cut }
}

export type RoutedRelay = RelayNode

/** One relay built as the daemon builds it (createRelayNode) on the in-memory network and fake clock, started. */
export async function startRoutedRelay(config: RelayConfig, net: FakeNetwork, clock: FakeClock, tun?: TunDevice): Promise<RoutedRelay> {
  const node = createRelayNode({ config, clock, timers: clock, sockets: sameSockets(net), log: silentLogger, cryptoBackend: 'tweetnacl', tun })
  await node.start()
  return node
}

/**
 * A fourRelayWan with all four relays started on it (startRoutedRelay),
 * sharing the one service `game` exiting at dal; `service` overrides its fields.
 */
export async function startWanRelays(basePort: number, service: Partial<ServiceConfig> = {}) {
  const { clock, net, cut } = fourRelayWan(basePort)
  const configs = buildConfigs({ relays: WAN_RELAYS, basePort, services: [{ exits: ['dal'], paths: [], ...service }] })
  const parts: RoutedRelay[] = []
  for (const config of configs.values()) parts.push(await startRoutedRelay(config as RelayConfig, net, clock))
  const byName = (n: string): RoutedRelay => parts[WAN_RELAYS.indexOf(n)]
  const stop = () => {
    for (const p of parts) p.stop()
  }
  return { clock, net, cut, parts, byName, stop }
}

/**
 * An origin at 127.0.0.1:9000 that echoes every datagram back, and a client
 * at 127.0.0.1:50000 that keeps each datagram it gets back as text; `send`
 * sends from the client to the ingress listen address 127.0.0.1:27015.
 */
export function echoOriginAndClient(net: FakeNetwork) {
  const origin = net.open('127.0.0.1', 9000)
  origin.onMessage((d, from) => origin.send(d, 0, d.length, from.port, from.address))
  const client = net.open('127.0.0.1', 50000)
  const received: string[] = []
  client.onMessage((d) => received.push(String(d)))
  const send = (text: string) => client.send(Buffer.from(text), 0, text.length, 27015, '127.0.0.1')
  const close = () => {
    origin.close()
    client.close()
  }
  return { origin, client, received, send, close }
}
