import { dataPlaneConfig } from '../../src/config/data-plane.js'
import { createSecureEndpoint, generateKeyPair, signPublicKeyOf } from '../../src/crypto/index.js'
import { Relay, type RelayDeps } from '../../src/dataplane/relay.js'
import type { DeliveryMode, RelayConfig, ServiceConfig } from '../../src/config/types.js'
import type { FakeClock } from '../../src/io/fake-clock.js'
import type { FakeNetwork } from '../../src/io/fake-network.js'
import type { PacketSocket, PeerAddress } from '../../src/io/index.js'

export interface NetSpec {
  relays: string[]
  services: Partial<ServiceConfig>[]
  basePort?: number
  host?: string
  hopLimit?: number
  rekeyAfterPackets?: number
}

/** Builds one RelayConfig per relay, all sharing the services, with fresh keys. */
export function buildConfigs(spec: NetSpec): Map<string, RelayConfig> {
  const host = spec.host ?? '127.0.0.1'
  const base = spec.basePort ?? 7000
  const keys = new Map(spec.relays.map((r) => [r, generateKeyPair()]))
  const port = new Map(spec.relays.map((r, i) => [r, base + i]))
  const services = spec.services.map(fullService)
  const out = new Map<string, RelayConfig>()
  for (const r of spec.relays) {
    out.set(r, {
      relay: {
        id: r,
        privateKey: keys.get(r)!.privateKey,
        publicKey: keys.get(r)!.publicKey,
        listen: { host, port: port.get(r)! },
        controlSocket: `/tmp/overpass-test-${r}.sock`,
        mtu: 1500,
        workers: 1,
      },
      peers: spec.relays
        .filter((p) => p !== r)
        .map((p) => ({ id: p, publicKey: keys.get(p)!.publicKey, signKey: signPublicKeyOf(keys.get(p)!.privateKey), endpoint: { host, port: port.get(p)! } })),
      services,
      tuning: { rekeyAfterMs: 120_000, rekeyAfterPackets: spec.rekeyAfterPackets ?? 2 ** 40, hopLimit: spec.hopLimit ?? 8 },
      routing: { probeIntervalMs: 100, lossDownAfter: 3, hopCostMs: 0, maxLossPct: 5, floodIntervalMs: 1000 },
    })
  }
  return out
}

export function fullService(s: Partial<ServiceConfig>): ServiceConfig {
  return {
    name: s.name ?? 'game',
    mode: s.mode ?? 'l4',
    ingress: s.ingress ?? (s.mode === 'l3' ? [] : [{ relay: 'lax', listen: { host: '127.0.0.1', port: 27015 } }]),
    origin: s.origin ?? { host: '127.0.0.1', port: 9000 },
    exits: s.exits ?? ['dal'],
    prefixes: s.prefixes ?? [],
    delivery: (s.delivery ?? 'proxy') as DeliveryMode,
    paths: s.paths ?? [],
    replyPaths: s.replyPaths ?? [],
    flowIdleTimeoutMs: s.flowIdleTimeoutMs ?? 30_000,
    maxFlows: s.maxFlows ?? 65536,
    maxFlowsPerPrefix: s.maxFlowsPerPrefix,
    profile: s.profile ?? 'latency',
    redundant: s.redundant ?? false,
    originProbe: s.originProbe ?? { method: 'none', port: 862, intervalMs: 250, assumedRttMs: 1 },
    ...(s.fallback !== undefined ? { fallback: s.fallback } : {}),
  }
}

/**
 * A relay's data plane alone, on static paths (the config's, or direct to
 * the first exit), with a real secure endpoint holding the config's key:
 * the Relay under test without a router.
 */
export function staticRelay(config: RelayConfig, deps: Omit<RelayDeps, 'plane' | 'makeEndpoint'>): Relay {
  return new Relay({ ...deps, plane: dataPlaneConfig(config), makeEndpoint: (o) => createSecureEndpoint({ ...o, privateKey: config.relay.privateKey }) })
}

/**
 * Opens clients on 127.0.0.1 that keep each datagram they get as text and
 * `send` text to `service`; each socket is pushed onto `sockets` so the
 * test's cleanup closes it.
 */
export function textClients(net: FakeNetwork, service: PeerAddress, sockets: PacketSocket[]) {
  return (port: number) => {
    const socket = net.open('127.0.0.1', port)
    sockets.push(socket)
    const received: string[] = []
    socket.onMessage((d) => received.push(d.toString()))
    return { received, send: (text: string) => socket.send(Buffer.from(text), 0, text.length, service.port, service.address) }
  }
}

/** Advances `clock` by `ms` in 10 ms steps, calling `each` before each step and letting pending promises run after it. */
export async function runInSteps(clock: FakeClock, ms: number, each?: () => void): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    each?.()
    clock.advance(10)
    await Promise.resolve()
  }
}
