/**
 * Per-packet data-plane steps without sockets: the route lookup the
 * ingress makes for every client datagram (PathProvider: the config's
 * StaticPaths and the SnapshotPaths the router bridge publishes into), and a whole transit step
 * (open, replay check, header decode and checks, re-seal to the next hop),
 * which is what a transit relay does between its recv and send syscalls.
 */
import { parseConfig } from '../src/config/index.js'
import type { RelayConfig } from '../src/config/types.js'
import { createSecureEndpoint, encodeKey, generateKeyPair, signPublicKeyOf, type CryptoSecureEndpoint, type KeyPair } from '../src/crypto/index.js'
import { publicKeyOf } from '../src/config/values.js'
import { RouterBridge } from '../src/control/router-bridge.js'
import type { Relay } from '../src/dataplane/relay.js'
import { SnapshotPaths, StaticPaths } from '../src/dataplane/paths.js'
import { resolveServiceRoles } from '../src/config/data-plane.js'
import { FakeClock } from '../src/io/fake-clock.js'
import type { Logger } from '../src/io/index.js'
import type { PathChoice, Router } from '../src/route/types.js'
import { DataHeader, OFF_HOPS, OFF_PATH_INDEX, decodeDataHeader, encodeDataHeader } from '../src/wire/data.js'
import { nameId } from '../src/wire/ids.js'
import { ratioSuite } from './lib.js'

const NOW_MS = 1_000

function relayConfig(pinned: boolean): RelayConfig {
  // Every peer names its Ed25519 key too (column signatures): the config refuses a peer without one.
  const peer = (id: string, port: number) => {
    const k = generateKeyPair().privateKey
    return { id, public_key: encodeKey(publicKeyOf(k)), sign_key: encodeKey(signPublicKeyOf(k)), endpoint: `127.0.0.1:${port}` }
  }
  const services = Array.from({ length: 16 }, (_, i) => ({
    name: `svc${i}`, mode: 'l4', delivery: 'proxy', ingress: [{ relay: 'ing', listen: `127.0.0.1:${20_000 + i}` }], origin: '127.0.0.1:9000', exits: ['ex'],
    ...(pinned ? { paths: [['ing', 'tr', 'ex']] } : {}),
  }))
  const doc = {
    relay: { id: 'ing', private_key: encodeKey(generateKeyPair().privateKey), listen: '127.0.0.1:7000', control_socket: '/tmp/overpass-bench.sock' },
    peers: [peer('tr', 7001), peer('ex', 7002)],
    services,
  }
  return parseConfig(JSON.stringify(doc))
}

/** The relay's path table after a router bridge over a stub router ticked once: every service has its path. */
function snapshotPaths(cfg: RelayConfig): SnapshotPaths {
  const clock = new FakeClock()
  const choice = (service: string): PathChoice => ({ service, path: ['ing', 'tr', 'ex'], delayMs: 10, sinceMs: 0 })
  const router = { tick: () => [], forwardPath: choice, replyPath: choice } as unknown as Router
  const relay = { attachControlPlane: () => {}, drops: { add: () => {} }, peerById: () => undefined, sendPlain: () => false } as unknown as Relay
  const quiet = { info: () => {}, warn: () => {}, error: (msg: string, f: unknown) => console.error(msg, f), debug: () => {} } as unknown as Logger
  const paths = new SnapshotPaths('ing', resolveServiceRoles('ing', false, cfg.services))
  const bridge = new RouterBridge(relay, router, cfg, paths, clock, clock, quiet)
  bridge.start()
  bridge.stop()
  return paths
}

/** Endpoints for ing, tr and ex with sessions up on ing<->tr and tr<->ex; `wire` routes transmits. */
function transitChain(): { ing: CryptoSecureEndpoint; tr: CryptoSecureEndpoint; ex: CryptoSecureEndpoint; wire: { direct: boolean; last: Buffer; lastLen: number } } {
  const k: Record<string, KeyPair> = { ing: generateKeyPair(), tr: generateKeyPair(), ex: generateKeyPair() }
  const wire = { direct: false, last: Buffer.alloc(2048), lastLen: 0 }
  const queue: { to: () => CryptoSecureEndpoint; peer: number; data: Buffer }[] = []
  const make = (me: string, peers: string[], route: (peer: number) => [() => CryptoSecureEndpoint, number]): CryptoSecureEndpoint =>
    createSecureEndpoint({
      privateKey: k[me].privateKey,
      peers: peers.map((p, index) => ({ index, publicKey: k[p].publicKey })),
      backend: 'sodium',
      rekeyAfterMs: 1e12,
      rejectAfterMs: 2e12,
      transmit: (peer, data, length) => {
        if (wire.direct) {
          data.copy(wire.last, 0, 0, length)
          wire.lastLen = length
        } else {
          const [to, asPeer] = route(peer)
          queue.push({ to, peer: asPeer, data: Buffer.from(data.subarray(0, length)) })
        }
      },
    })
  // tr sees ing as peer 0 and ex as peer 1; ing and ex see tr as peer 0.
  const ing: CryptoSecureEndpoint = make('ing', ['tr'], () => [() => tr, 0])
  const tr: CryptoSecureEndpoint = make('tr', ['ing', 'ex'], (p) => (p === 0 ? [() => ing, 0] : [() => ex, 0]))
  const ex: CryptoSecureEndpoint = make('ex', ['tr'], () => [() => tr, 1])
  const hello = Buffer.alloc(1)
  ing.send(0, NOW_MS, hello, 1)
  tr.send(1, NOW_MS, hello, 1)
  for (let i = 0; i < 20 && queue.length > 0; i++) {
    const m = queue.shift()!
    m.to().receive(m.peer, NOW_MS, m.data, m.data.length)
  }
  if (!ing.hasSession(0) || !tr.hasSession(1)) throw new Error('bench sessions did not come up')
  wire.direct = true
  return { ing, tr, ex, wire }
}

export async function run(): Promise<void> {
  const pinnedCfg = relayConfig(true)
  const routedCfg = relayConfig(false)
  const statics = new StaticPaths('ing', resolveServiceRoles('ing', false, pinnedCfg.services))
  const pinnedBridge = snapshotPaths(pinnedCfg)
  const routedBridge = snapshotPaths(routedCfg)
  const byName = new Map(routedCfg.services.map((s) => [s.name, s]))
  const arrived = Uint32Array.from(['ex', 'tr', 'ing'].map(nameId))
  const ingId = nameId('ing')
  let i = 0
  await ratioSuite('route lookup per packet (16 services)', [
    { name: 'baseline: Map.get(service name)', fn: () => byName.get(routedCfg.services[i++ & 15].name) },
    { name: 'StaticPaths.forward', fn: () => statics.forward(pinnedCfg.services[i++ & 15]) },
    { name: 'SnapshotPaths.forward (pinned service)', fn: () => pinnedBridge.forward(pinnedCfg.services[i++ & 15]) },
    { name: 'SnapshotPaths.forward (router snapshot)', fn: () => routedBridge.forward(routedCfg.services[i++ & 15]) },
    { name: 'StaticPaths.reply (reverse arrived path)', fn: () => statics.reply(pinnedCfg.services[i++ & 15], ingId, arrived, 3) },
    { name: 'SnapshotPaths.reply (router snapshot)', fn: () => routedBridge.reply(routedCfg.services[i++ & 15], ingId, arrived, 3) },
  ])

  // A 100-byte client payload behind a 3-relay data header, as the ingress sends it.
  const { ing, tr, wire } = transitChain()
  const path = Uint32Array.from(['ing', 'tr', 'ex'].map(nameId))
  const plain = Buffer.alloc(2048)
  const len = encodeDataHeader(plain, 0, 8, nameId('svc0'), 1, 0, path, 3) + 100
  const hdr = new DataHeader()
  const trNode = nameId('tr')
  const ingNode = nameId('ing')
  const packet = Buffer.alloc(2048)
  let dropped = 0
  const ingressSeal = (): number => {
    ing.send(0, NOW_MS, plain, len)
    wire.last.copy(packet, 0, 0, wire.lastLen)
    return wire.lastLen
  }
  await ratioSuite('transit step, 100 B payload, 3-relay path (sodium)', [
    { name: 'baseline: ingress seal only', fn: ingressSeal },
    {
      name: 'ingress seal + transit open, decode, check, re-seal',
      fn: () => {
        const n = ingressSeal()
        const m = tr.receive(0, NOW_MS, packet, n)
        if (m <= 0) return dropped++
        const p = tr.plaintext()
        if (decodeDataHeader(p, m, hdr) < 0 || hdr.path[hdr.pathIndex] !== trNode || hdr.path[hdr.pathIndex - 1] !== ingNode) return dropped++
        p[OFF_HOPS] = hdr.hops - 1
        p[OFF_PATH_INDEX] = hdr.pathIndex + 1
        return tr.send(1, NOW_MS, p, m)
      },
    },
  ])
  if (dropped > 0) throw new Error(`transit bench dropped ${dropped} packets`)
}
