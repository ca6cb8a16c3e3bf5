/**
 * The four-relay WAN of the routed daemon tests: lax, sea, dal, atl on an
 * in-memory network with fixed one-way delays per direction (lax>sea>dal
 * beats lax>dal) and directed cuts, on a fake clock; and relays built on
 * it by createRelayNode, as the daemon builds them.
 */
import type { RelayConfig } from '../../src/config/types.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import { FakeNetwork } from '../../src/io/fake-network.js'
import type { TunDevice } from '../../src/io/index.js'
import { silentLogger } from '../../src/io/log.js'
import { createRelayNode, sameSockets, type RelayNode } from '../../src/node/index.js'

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
