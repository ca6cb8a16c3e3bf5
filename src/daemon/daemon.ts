/**
 * Wires a relay to the real world: UDP sockets (the overlay one batched by
 * io/native-udp when the addon loads), the monotonic clock, event-loop
 * timers, the crypto endpoint and the control socket. Everything
 * it wires is injectable, so tests can run several daemons in one process.
 */
import { exitSocketBudget } from '../dataplane/flow-admission.js'
import { openFileLimit } from '../io/fd-limit.js'
import { randomBytes } from 'node:crypto'
import type { RelayConfig, ServiceConfig } from '../config/types.js'
import { createSecureEndpoint, Ed25519ColumnAuth, type CryptoSecureEndpoint } from '../crypto/index.js'
import { monotonicClock, realTimers } from '../io/clock.js'
import type { TunDevice } from '../io/index.js'
import type { Logger } from '../io/log.js'
import type { PathProvider } from '../dataplane/paths.js'
import { Relay } from '../dataplane/relay.js'
import { createRouter } from '../route/index.js'
import type { Router } from '../route/types.js'
import { startControlServer } from './control-server.js'
import { HandshakeState } from './handshake-state.js'
import { openL3Tun } from './l3-tun.js'
import { OriginProbes } from './origin-probes.js'
import { RouterBridge } from './router-bridge.js'
import { LaneWorkers, type LaneWorkerError } from './workers.js'
import { dataPlaneSockets } from './data-plane-sockets.js'
import { answerControl, relayViews } from './relay-views.js'
import { startMetricsServer, type MetricsServer } from '../metrics/index.js'

export interface DaemonOptions {
  log: Logger
  cryptoBackend?: 'auto' | 'sodium' | 'tweetnacl'
  paths?: PathProvider
  /** Skip the control socket (tests that run many relays in one process). */
  noControlSocket?: boolean
  /** The L3 TUN device (tests); default: created from the config's `l3:` section. */
  openTun?: (l3: NonNullable<RelayConfig['l3']>) => TunDevice
  /** A data-plane worker died after start: the daemon has stopped itself; the caller should exit non-zero. */
  onFatal?: (err: LaneWorkerError) => void
}

export interface RunningDaemon {
  relay: Relay
  router: Router
  bridge: RouterBridge
  /** What `overpass status` shows: the relay's counters (summed over its workers) and the router's. */
  status(): unknown
  stop(): void
}

/**
 * The ingress relays the router plans for. An L3 service's ingress is every
 * relay with `l3:`, but a relay only knows its own file, and the router only
 * needs the ingress list for this relay's own forward route (and an exit's
 * reply routes, which L3 never uses: a reply is a new TUN packet). So an L3
 * relay names itself; any other relay names the exits, which gives it no
 * route to compute (it is no exit without `l3:`, config/l3.ts checks that).
 */
export function routerIngress(config: RelayConfig, s: ServiceConfig): string[] {
  if (s.mode === 'l3') return config.l3 !== undefined ? [config.relay.id] : s.exits
  return [...new Set(s.ingress.map((i) => i.relay))]
}

/** The control plane for a config: every relay probes every peer; unpinned services are routed. */
export function routerFor(config: RelayConfig): Router {
  const r = config.routing
  return createRouter({
    self: config.relay.id,
    relays: [config.relay.id, ...config.peers.map((p) => p.id)],
    services: config.services
      .filter((s) => s.paths.length === 0)
      .map((s) => ({ name: s.name, ingress: routerIngress(config, s), exits: s.exits, profile: s.profile, redundant: s.redundant })),
    probeIntervalMs: r.probeIntervalMs,
    lossDownAfter: r.lossDownAfter,
    hopCostMs: r.hopCostMs,
    maxLossPct: r.maxLossPct,
    floodIntervalMs: r.floodIntervalMs,
    // A fresh boot id per start, so peers accept our map again at once after a restart.
    bootId: randomBytes(4).readUInt32BE(0),
    random: Math.random,
    // Our columns go out signed; a peer's column is applied or relayed only with its origin's valid signature.
    columnAuth: new Ed25519ColumnAuth(config.relay.privateKey, new Map(config.peers.map((p) => [p.id, p.signKey]))),
  })
}

export async function startDaemon(config: RelayConfig, opts: DaemonOptions): Promise<RunningDaemon> {
  const log = opts.log.child({ relay: config.relay.id })
  // OVERPASS_UDP=auto|native|dgram: the overlay and the ingress service sockets batch with
  // recvmmsg/sendmmsg when the addon loads; a client batch read on a service socket becomes one
  // sendmmsg on the overlay socket (native/udp.c batches sends across its sockets). Several workers
  // share the ports (SO_REUSEPORT groups, steered by lane): native only.
  const workers = config.relay.workers
  const cryptoBackend = opts.cryptoBackend ?? 'auto'
  const sockets = dataPlaneSockets(config)
  log.info('overlay socket', { kind: sockets.kind, ...(workers > 1 ? { workers } : {}), ...(sockets.fallbackReason ? { fallback: sockets.fallbackReason } : {}) })
  const router = routerFor(config)
  let bridge: RouterBridge | undefined
  let endpoint: CryptoSecureEndpoint | undefined
  let stopAll: () => void = () => {}
  const lanes =
    workers > 1
      ? new LaneWorkers({
          config,
          log,
          cryptoBackend,
          confirm: (peer, localIndex) => endpoint?.confirm(peer, localIndex, monotonicClock.nowMs()),
          onFailure: (err) => {
            log.error('data-plane worker failed; stopping the relay', { error: err.message })
            stopAll()
            opts.onFatal?.(err)
          },
        })
      : undefined
  // Throws TunUnavailableError (not root / no CAP_NET_ADMIN, no /dev/net/tun) or TunConfigError before anything else starts.
  const tun = config.l3 === undefined ? undefined : (opts.openTun ?? ((l3) => openL3Tun(l3, log)))(config.l3)
  // Handshake timestamps survive a restart, so recorded initiations cannot be replayed to the new process.
  const stateFile = config.relay.stateFile
  const handshakes = stateFile === undefined ? undefined : HandshakeState.open(stateFile, { clock: monotonicClock, timers: realTimers, log })
  const relay = new Relay({
    config,
    udp: sockets.origin,
    overlayUdp: sockets.overlay,
    serviceUdp: sockets.service,
    clock: monotonicClock,
    timers: realTimers,
    log,
    makeEndpoint: (o) => (endpoint = createSecureEndpoint({ ...(handshakes?.wire(o) ?? o), onKeys: lanes && ((peer, keys) => lanes.keysChanged(peer, keys)) })),
    paths: opts.paths ?? { forward: (s) => bridge!.forward(s), reply: (s, i, a, n) => bridge!.reply(s, i, a, n) },
    cryptoBackend,
    tun,
    worker: { index: 0, count: workers },
    exitSocketBudget: exitSocketBudget(openFileLimit(), workers),
  })
  bridge = new RouterBridge(relay, router, config, monotonicClock, realTimers, log)
  const probes = new OriginProbes(config, router, monotonicClock, realTimers, log)
  if (lanes !== undefined) bridge.onPathsChanged = (snap) => lanes.pathsChanged(snap)
  try {
    // Worker 0 joins the port groups first: the overlay group steers lane L to its (L mod N)-th member.
    await relay.start()
    await lanes?.start()
  } catch (err) {
    relay.stop()
    tun?.close()
    handshakes?.close()
    throw err
  }
  bridge.start()
  probes.start()
  const views = relayViews(config, relay, router, bridge, lanes)
  let control: { close(): void } | undefined
  let metrics: MetricsServer | undefined
  if (!opts.noControlSocket) {
    try {
      control = await startControlServer(config.relay.controlSocket, (req) => answerControl(views, req))
      if (config.metrics) metrics = await startMetricsServer(config.metrics, views, log)
    } catch (err) {
      control?.close()
      probes.stop()
      bridge.stop()
      lanes?.stop()
      relay.stop()
      tun?.close()
      handshakes?.close()
      throw err
    }
    log.info('control socket ready', { path: config.relay.controlSocket })
  }
  let stopped = false
  stopAll = () => {
    if (stopped) return
    stopped = true
    control?.close()
    void metrics?.close()
    probes.stop()
    bridge!.stop()
    lanes?.stop()
    relay.stop()
    tun?.close()
    handshakes?.close()
    log.info('stopped')
  }
  return { relay, router, bridge, status: views.status, stop: stopAll }
}
