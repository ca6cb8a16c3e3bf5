/**
 * createRelayNode: the one place a relay is assembled from its config and
 * injected I/O. The daemon (real sockets, clock, timers), the data-plane
 * worker threads, the multi-relay tests (in-memory network, fake clock)
 * and the benches all build relays here, so they run the same wiring.
 *
 *   full node:        data plane (Relay) + control plane (Router, RouterBridge,
 *                     OriginProbes), all sharing one SnapshotPaths
 *   data-plane node:  Relay only, over a SnapshotPaths someone else fills
 *                     (a lane worker: worker 0 posts every path change)
 */
import { randomBytes } from 'node:crypto'
import { dataPlaneConfig, resolveServiceRoles, type DataPlaneConfig } from '../config/data-plane.js'
import type { RelayConfig } from '../config/types.js'
import { OriginProbes, type OriginTraffic } from '../control/origin-probes.js'
import { RouterBridge } from '../control/router-bridge.js'
import { createSecureEndpoint, Ed25519ColumnAuth, type CryptoSecureEndpoint } from '../crypto/index.js'
import type { PeerKeys, SecureEndpoint, SecureEndpointOptions } from '../crypto/types.js'
import { SnapshotPaths, type PathSnapshot } from '../dataplane/paths.js'
import { Relay, type IndexedPeer, type LiveService, type RelayEndpointOptions } from '../dataplane/relay.js'
import type { Clock, Logger, TimerHandle, Timers, TunDevice, UdpSocketFactory } from '../io/index.js'
import { createRouter } from '../route/index.js'
import type { Router } from '../route/types.js'
import { routerInit } from './router-init.js'
import { SERVICE_DRAIN_MS, type LiveNodeControl } from './live-apply.js'

/** The socket factories of a relay's data plane (daemon/data-plane-sockets.ts picks the real ones). */
export interface NodeSockets {
  /** The overlay socket (relay.listen). */
  overlay: UdpSocketFactory
  /** The ingress service sockets. */
  service: UdpSocketFactory
  /** The exit's per-flow origin sockets. */
  origin: UdpSocketFactory
}

/** One factory for every socket of a node: an in-memory network (tests, benches). */
export function sameSockets(udp: UdpSocketFactory): NodeSockets {
  return { overlay: udp, service: udp, origin: udp }
}

interface NodeIo {
  clock: Clock
  timers: Timers
  sockets: NodeSockets
  log: Logger
  /** The L3 TUN device; required when the config has `l3:`. The caller owns (and closes) it. */
  tun?: TunDevice
  cryptoBackend?: 'auto' | 'sodium' | 'tweetnacl'
  /** Which data-plane worker this node is, of how many; default the only one. */
  worker?: { index: number; count: number }
  /** Origin sockets the exit may hold open (dataplane/flow-admission.ts); default the data plane's. */
  exitSocketBudget?: number
}

export interface RelayNodeInit extends NodeIo {
  config: RelayConfig
  /** The router's randomness (probe jitter); default Math.random. */
  random?: () => number
  /** The router's boot id; default 4 random bytes, fresh per start. */
  bootId?: number
  /** A session's keys changed (a multi-worker relay copies them to its other workers). */
  onKeys?: (peer: number, keys: PeerKeys) => void
  /** A routed path changed (a multi-worker relay copies the snapshot to its other workers). */
  onPathsChanged?: (snap: PathSnapshot) => void
  /** The peer table changed live (a multi-worker relay copies it to its other workers). */
  onPeerTable?: (table: IndexedPeer[]) => void
  /** The services changed live (a multi-worker relay applies them on its other workers; rejects if one cannot open a port). */
  onServices?: (services: LiveService[]) => Promise<void>
  /** How long a removed service drains before its ports close; default SERVICE_DRAIN_MS (node/live-apply.ts). */
  serviceDrainMs?: number
  /** Adjusts the endpoint's options before it is made (the daemon restores stored handshake timestamps). */
  wrapEndpoint?: (opts: SecureEndpointOptions) => SecureEndpointOptions
}

export interface DataPlaneNodeInit extends NodeIo {
  /** The data plane's share of the config: no private key (config/data-plane.ts). */
  plane: DataPlaneConfig
  makeEndpoint: (opts: RelayEndpointOptions) => SecureEndpoint
}

export interface DataPlaneNode {
  relay: Relay
  /** The path table the relay reads; `paths.set(snap)` publishes a new snapshot. */
  paths: SnapshotPaths
  /** Binds the sockets; rejects (with everything closed) if one cannot bind. */
  start(): Promise<void>
  stop(): void
}

export interface RelayNode extends DataPlaneNode {
  /** The router routing now (a live change hands over to a new one: read it here each time). */
  readonly router: Router
  /** What live config changes act on (node/live-apply.ts applyNetworkChange). */
  live: LiveNodeControl
  bridge: RouterBridge
  probes: OriginProbes
  endpoint: CryptoSecureEndpoint
  /**
   * Starts the data plane, then `afterDataPlane` (the daemon starts its
   * other workers there: worker 0 must join the port groups first), then
   * the control plane. Rejects with the data plane stopped if either fails.
   */
  start(afterDataPlane?: () => Promise<void>): Promise<void>
}

export function createRelayNode(init: RelayNodeInit): RelayNode
export function createRelayNode(init: DataPlaneNodeInit): DataPlaneNode
export function createRelayNode(init: RelayNodeInit | DataPlaneNodeInit): RelayNode | DataPlaneNode {
  return 'config' in init ? fullNode(init) : dataPlaneNode(init)
}

function buildRelay(plane: DataPlaneConfig, io: NodeIo, paths: SnapshotPaths, makeEndpoint: (opts: RelayEndpointOptions) => SecureEndpoint): Relay {
  return new Relay({
    plane,
    udp: io.sockets.origin,
    overlayUdp: io.sockets.overlay,
    serviceUdp: io.sockets.service,
    clock: io.clock,
    timers: io.timers,
    log: io.log,
    makeEndpoint,
    paths,
    cryptoBackend: io.cryptoBackend ?? 'auto',
    tun: io.tun,
    worker: io.worker,
    exitSocketBudget: io.exitSocketBudget,
  })
}

function dataPlaneNode(init: DataPlaneNodeInit): DataPlaneNode {
  const paths = new SnapshotPaths(init.plane.self, init.plane.services)
  const relay = buildRelay(init.plane, init, paths, init.makeEndpoint)
  return { relay, paths, start: () => relay.start(), stop: () => relay.stop() }
}

/**
 * The exit's own evidence of a failed origin leg (datagrams out, no replies)
 * for OriginProbes, which then probes early. A datagram the kernel refused to
 * send (no route to the origin any more) counts as one that went out.
 */
function originTraffic(relay: Relay, service: string): OriginTraffic | undefined {
  const s = relay.services.find((x) => x.cfg.name === service)
  return s && { packetsOut: s.origin.packetsOut + s.drops.get('send_failed'), packetsIn: s.origin.packetsIn }
}

/** A config's router as a node builds it: signed map columns, a fresh boot id. */
export function routerFor(config: RelayConfig, bootId = randomBytes(4).readUInt32BE(0), random: () => number = Math.random): Router {
  // Our columns go out signed; a peer's column is applied or relayed only with its origin's valid signature.
  // During a peer's key rotation either of its signing keys verifies.
  const columnAuth = new Ed25519ColumnAuth(config.relay.privateKey, new Map(config.peers.map((p) => [p.id, p.next ? [p.signKey, p.next.signKey] : [p.signKey]])))
  return createRouter(routerInit(config, bootId, random, columnAuth))
}

function fullNode(init: RelayNodeInit): RelayNode {
  const { config, clock, timers, log } = init
  const plane = dataPlaneConfig(config)
  const paths = new SnapshotPaths(plane.self, plane.services)
  const router = routerFor(config, init.bootId, init.random)
  let endpoint: CryptoSecureEndpoint | undefined
  const wrap = init.wrapEndpoint ?? ((o: SecureEndpointOptions) => o)
  const relay = buildRelay(plane, init, paths, (o) => (endpoint = createSecureEndpoint({ ...wrap({ ...o, privateKey: config.relay.privateKey }), onKeys: init.onKeys })))
  const bridge = new RouterBridge(relay, router, config, paths, clock, timers, log)
  bridge.onPathsChanged = init.onPathsChanged
  // Samples go through the bridge: during a live hand-over both routers take them.
  const probes = new OriginProbes(config, bridge, clock, timers, log, (service) => originTraffic(relay, service))
  let applied = config
  let services: LiveService[] = plane.services
  /** Applies a service set on this worker, then the others; a failure anywhere puts every worker back. */
  const setServices = async (next: LiveService[]): Promise<void> => {
    const before = services
    await relay.setServices(next)
    try {
      await init.onServices?.(next)
    } catch (err) {
      await relay.setServices(before)
      await init.onServices?.(before).catch(() => undefined)
      throw err
    }
    services = next
    paths.setServices(next)
    probes.setServices(next.map((s) => s.cfg))
  }
  const live: LiveNodeControl = {
    draining: new Map(),
    serviceDrainMs: init.serviceDrainMs ?? SERVICE_DRAIN_MS,
    log,
    setServices(routed, draining) {
      const roles = resolveServiceRoles(routed.relay.id, routed.l3 !== undefined, routed.services)
      // routedConfig lists a removed service by its draining config itself; a moved one by its new config.
      return setServices(roles.map((r) => {
        const old = draining.get(r.cfg.name)
        if (old === undefined) return r
        return old === r.cfg ? { ...r, draining: true } : { ...r, previous: old }
      }))
    },
    get config() {
      return applied
    },
    get handingOver() {
      return bridge.handingOver
    },
    peerTable: () => relay.peerTable(),
    peerIndexLimit: () => relay.peers.length,
    setPeers(table) {
      relay.setPeers(table)
      init.onPeerTable?.(table)
    },
    setPrivateKey: (key) => endpoint!.setPrivateKey?.(key),
    handOver: (next, onTakeOver) => bridge.handOver(routerFor(next, undefined, init.random), next, onTakeOver),
    commit(next) {
      applied = next
    },
    later(ms, fn) {
      const handle = timers.setTimeout(() => {
        pending.delete(handle)
        fn()
      }, ms)
      pending.add(handle)
    },
  }
  const pending = new Set<TimerHandle>()
  const stop = (): void => {
    for (const h of pending) timers.clearTimeout(h)
    pending.clear()
    probes.stop()
    bridge.stop()
    relay.stop()
  }
  return {
    relay,
    paths,
    get router() {
      return bridge.router
    },
    live,
    bridge,
    probes,
    endpoint: endpoint!,
    async start(afterDataPlane) {
      try {
        await relay.start()
        await afterDataPlane?.()
      } catch (err) {
        relay.stop()
        throw err
      }
      bridge.start()
      probes.start()
    },
    stop,
  }
}
