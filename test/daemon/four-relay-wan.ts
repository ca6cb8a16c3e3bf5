/**
 * The four-relay WAN of the routed daemon tests: lax, sea, dal, atl on an
 * in-memory network with fixed one-way delays per direction (lax>sea>dal
 * beats lax>dal) and directed cuts, on a fake clock; and relays started
 * on it the way the daemon starts them.
 */
import type { RelayConfig } from '../../src/config/types.js'
import { createSecureEndpoint } from '../../src/crypto/index.js'
import { routerFor } from '../../src/daemon/daemon.js'
import { OriginProbes } from '../../src/control/origin-probes.js'
import { RouterBridge } from '../../src/control/router-bridge.js'
import { Relay } from '../../src/dataplane/relay.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import { FakeNetwork } from '../../src/io/fake-network.js'
import type { TunDevice } from '../../src/io/index.js'
import { silentLogger } from '../../src/io/log.js'

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

export interface RoutedRelay {
  relay: Relay
  bridge: RouterBridge
  probes: OriginProbes
  stop(): void
}

/** One relay wired as the daemon wires it: data plane, latency router bridge and origin probes. */
export async function startRoutedRelay(config: RelayConfig, net: FakeNetwork, clock: FakeClock, tun?: TunDevice): Promise<RoutedRelay> {
  const router = routerFor(config)
  let bridge: RouterBridge | undefined
  const relay = new Relay({
    config, udp: net, clock, timers: clock, log: silentLogger, makeEndpoint: createSecureEndpoint, cryptoBackend: 'tweetnacl', tun,
    paths: { forward: (s) => bridge!.forward(s), reply: (s, i, a, n) => bridge!.reply(s, i, a, n) },
  })
  bridge = new RouterBridge(relay, router, config, clock, clock, silentLogger)
  const probes = new OriginProbes(config, router, clock, clock, silentLogger)
  await relay.start()
  bridge.start()
  probes.start()
  const b = bridge
  return { relay, bridge: b, probes, stop: () => (probes.stop(), b.stop(), relay.stop()) }
}
