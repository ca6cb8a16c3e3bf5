/**
 * Process wiring of a relay: picks the real UDP sockets (the overlay one
 * batched by io/native-udp when the addon loads), starts the extra
 * data-plane worker threads, opens the TUN, serves the control socket and
 * shuts everything down. The relay itself is built by node/createRelayNode
 * from what is passed in here; the clock, timers and sockets default to
 * the real ones and are injectable.
 */
import { randomBytes } from 'node:crypto'
import { exitSocketBudget } from '../dataplane/flow-admission.js'
import { openFileLimit } from '../io/fd-limit.js'
import type { RelayConfig } from '../config/types.js'
import { dataPlaneConfig } from '../config/data-plane.js'
import { monotonicClock, realTimers } from '../io/clock.js'
import type { Clock, Timers, TunDevice } from '../io/index.js'
import type { Logger } from '../io/log.js'
import type { Relay } from '../dataplane/relay.js'
import type { RouterBridge } from '../control/router-bridge.js'
import { createRelayNode, type NodeSockets, type RelayNode } from '../node/index.js'
import { resolveEndpointNames } from '../node/endpoint-names.js'
import { EndpointNameRefresher } from '../node/endpoint-name-refresher.js'
import { nodeDnsResolver, type DnsResolver } from '../io/dns.js'
import type { Router } from '../route/types.js'
import { startControlServer } from './control-server.js'
import { ConfigReloader } from './reload.js'
import { ConfigError } from '../config/errors.js'
import { loadLocalWithNetwork } from '../config/local-file.js'
import type { ApplyResult } from '../node/live-apply.js'
import { HandshakeState } from './handshake-state.js'
import { openL3Tun } from './l3-tun.js'
import { LaneWorkers, type LaneWorkerError } from './workers.js'
import { dataPlaneSockets } from './data-plane-sockets.js'
import { answerControl, relayViews } from './relay-views.js'
import { withTestFaults } from './test-faults.js'
import { startMetricsServer, type MetricsServer } from '../metrics/index.js'
import type { RelayViews } from '../metrics/views.js'
import type { VersionBridge } from '../control/version-bridge.js'
import type { NetworkApplier } from '../rollout/types.js'
import type { SignedNetworkFile } from '../config/signed-version.js'
import { offerFromFile, startNetworkVersions } from './network-version.js'

export interface DaemonOptions {
  log: Logger
  cryptoBackend?: 'auto' | 'sodium' | 'tweetnacl'
  /** Skip the control socket (tests that run many relays in one process). */
  noControlSocket?: boolean
  /** The L3 TUN device (tests); default: created from the config's `l3:` section. */
  openTun?: (l3: NonNullable<RelayConfig['l3']>) => TunDevice
  /** A data-plane worker died after start: the daemon has stopped itself; the caller should exit non-zero. */
  onFatal?: (err: LaneWorkerError) => void
  /** Default the monotonic clock. */
  clock?: Clock
  /** Default event-loop timers. */
  timers?: Timers
  /** Default the real sockets for `relay.workers` (data-plane-sockets.ts). Several workers need the real ones. */
  sockets?: NodeSockets
  /**
   * How a newer signed network version goes live (rollout/types.ts). Default
   * liveApplier (below): applied while running; what needs a restart is held
   * aside as `needs_restart` in status (and saved to disk for the next start).
   */
  networkApplier?: NetworkApplier
  /** false: never apply adopted versions live (restartApplier: saved, held as `needs_restart`). Default true. */
  liveNetworkVersions?: boolean
  /** Bootstrapping (`overpass network fetch`): the placeholder version 0 from config/loadBootstrap. */
  bootstrapVersion?: SignedNetworkFile
  /** Resolves peer endpoints given as DNS names; default the system's DNS (io/dns.ts). */
  resolver?: DnsResolver
  /** How long a service removed live drains; default $OVERPASS_SERVICE_DRAIN_MS, else node/SERVICE_DRAIN_MS. */
  serviceDrainMs?: number
}

/** Overrides the drain of services removed live, in ms (tests, and operators who want another; docs/operating.md). */
export const SERVICE_DRAIN_ENV = 'OVERPASS_SERVICE_DRAIN_MS'

function drainFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const ms = Number(env[SERVICE_DRAIN_ENV])
  return env[SERVICE_DRAIN_ENV] !== undefined && Number.isInteger(ms) && ms >= 0 ? ms : undefined
}

export interface RunningDaemon {
  relay: Relay
  /** The router routing now (a live change hands over to a new one). */
  readonly router: Router
  bridge: RouterBridge
  /** Network-version spreading; undefined for a relay started from a one-file config. */
  versions: VersionBridge | undefined
  /** The node, for live changes (node/live-apply.ts applyNetworkChange). */
  node: RelayNode
  /** Re-reads the config file and applies it live (`SIGHUP`, `overpass reload`); logs and keeps the outcome for status. */
  reload(trigger?: string): Promise<ApplyResult>
  /** Applies an already validated config live (an adopted signed network version), one change at a time with reloads. */
  apply(next: RelayConfig, trigger: string): Promise<ApplyResult>
  /** What `overpass status` shows: the relay's counters (summed over its workers) and the router's. */
  status(): unknown
  stop(): void
}

export async function startDaemon(written: RelayConfig, opts: DaemonOptions): Promise<RunningDaemon> {
  const log = opts.log.child({ relay: written.relay.id })
  const clock = opts.clock ?? monotonicClock
  const timers = opts.timers ?? realTimers
  // Peer endpoints that are DNS names: resolved now (throws EndpointResolveError), then on their TTL.
  const resolver = opts.resolver ?? nodeDnsResolver
  const names = await resolveEndpointNames(written, resolver)
  const config = names.config
  // OVERPASS_UDP=auto|native|dgram: the overlay and the ingress service sockets batch with
  // recvmmsg/sendmmsg when the addon loads; a client batch read on a service socket becomes one
  // sendmmsg on the overlay socket (native/udp.c batches sends across its sockets). Several workers
  // share the ports (SO_REUSEPORT groups, steered by lane): native only.
  const plane = dataPlaneConfig(config)
  const workers = plane.workers
  const cryptoBackend = opts.cryptoBackend ?? 'auto'
  let sockets: NodeSockets
  if (opts.sockets !== undefined) sockets = opts.sockets
  else {
    const real = dataPlaneSockets(plane)
    log.info('overlay socket', { kind: real.kind, ...(workers > 1 ? { workers } : {}), ...(real.fallbackReason ? { fallback: real.fallbackReason } : {}) })
    sockets = real
  }
  let node: RelayNode | undefined
  let stopAll: () => void = () => {}
  const lanes =
    workers > 1
      ? new LaneWorkers({
          plane,
          log,
          cryptoBackend,
          confirm: (peer, localIndex) => node?.endpoint.confirm(peer, localIndex, clock.nowMs()),
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
  const handshakes = stateFile === undefined ? undefined : HandshakeState.open(stateFile, { clock, timers, log })
  // A fresh boot id per start, so peers accept our map again at once after a restart.
  const bootId = randomBytes(4).readUInt32BE(0)
  node = createRelayNode({
    config,
    bootId,
    clock,
    timers,
    sockets,
    log,
    tun,
    cryptoBackend,
    worker: { index: 0, count: workers },
    exitSocketBudget: exitSocketBudget(openFileLimit(), workers),
    onKeys: lanes && ((peer, keys) => lanes.keysChanged(peer, keys)),
    onPathsChanged: lanes && ((snap) => lanes.pathsChanged(snap)),
    onPeerTable: lanes && ((table) => lanes.peersChanged(table)),
    onServices: lanes && ((services) => lanes.servicesChanged(services)),
    serviceDrainMs: opts.serviceDrainMs ?? drainFromEnv(),
    wrapEndpoint: handshakes && ((o) => handshakes.wire(o)),
  })
  const { relay, bridge } = node
  // Every lane sends a peer's packets where worker 0 does (failover, DNS, live changes).
  if (lanes !== undefined) relay.onEndpointsChanged = (state) => lanes.endpointsChanged(state)
  // Names are looked up again on their TTL, and those a live change brings are resolved before it applies.
  const refresher = new EndpointNameRefresher(names, { resolver, clock, timers, log, apply: (peer, addresses) => relay.setPeerEndpoints(peer, addresses) })
  const reloader = new ConfigReloader({ live: refresher.liveControl(node.live, written) }, config.sourcePath, log)
  try {
    // Worker 0 joins the port groups first: the overlay group steers lane L to its (L mod N)-th member.
    await node.start(async () => {
      await lanes?.start()
    })
  } catch (err) {
    tun?.close()
    handshakes?.close()
    throw err
  }
  let versions: VersionBridge | undefined
  try {
    // The version bridge reads the router routing now (a live change hands over to a new one).
    const currentRouter = new Proxy({} as Router, { get: (_t, key) => Reflect.get(bridge.router, key)?.bind?.(bridge.router) })
    versions = startNetworkVersions(config, relay, currentRouter, { clock, timers, log, applier: opts.networkApplier ?? (opts.liveNetworkVersions !== false && config.sourcePath !== undefined ? liveApplier(reloader, config.sourcePath) : undefined), running: opts.bootstrapVersion })
  } catch (err) {
    lanes?.stop()
    node.stop()
    tun?.close()
    handshakes?.close()
    throw err
  }
  refresher.start()
  const views = withNetworkVersion(relayViews(config, relay, bridge, lanes, bootId, () => reloader.view()), versions)
  let control: { close(): void } | undefined
  let metrics: MetricsServer | undefined
  if (!opts.noControlSocket) {
    try {
      control = await startControlServer(
        config.relay.controlSocket,
        withTestFaults(relay, (req) => (req.cmd === 'network-offer' ? offerFromFile(versions, req) : answerControl(views, req, () => reloader.reload('reload')))),
      )
      if (config.metrics) metrics = await startMetricsServer(config.metrics, views, log)
    } catch (err) {
      refresher.stop()
      control?.close()
      versions?.stop()
      lanes?.stop()
      node.stop()
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
    refresher.stop()
    control?.close()
    void metrics?.close()
    versions?.stop()
    lanes?.stop()
    node!.stop()
    tun?.close()
    handshakes?.close()
    log.info('stopped')
  }
  const running: RunningDaemon = {
    relay,
    get router() {
      return bridge.router
    },
    bridge,
    versions,
    node: node!,
    reload: (trigger = 'reload') => reloader.reload(trigger),
    apply: (next, trigger) => reloader.apply(trigger, next),
    status: views.status,
    stop: stopAll,
  }
  return running
}

/**
 * A network applier (DaemonOptions.networkApplier) that takes adopted (or
 * rolled-back-to) signed versions live through the same path as `overpass
 * reload` (node/live-apply.ts): the local file composed with the version's
 * bytes, applied whole or not at all. The default for a relay started from a
 * local file; `DaemonOptions.liveNetworkVersions: false` selects restartApplier.
 */
export function liveApplier(reloader: ConfigReloader, localFile: string): NetworkApplier {
  return {
    async apply(file, why) {
      let next: RelayConfig
      try {
        next = loadLocalWithNetwork(localFile, { bytes: file.bytes, version: file.version })
      } catch (err) {
        if (err instanceof ConfigError && err.name === 'ConfigError') return { outcome: 'failed', detail: err.message }
        throw err
      }
      const r = await reloader.apply(`network version ${file.version} (${why})`, next)
      if (r.status === 'applied' || r.status === 'unchanged') return { outcome: 'applied' }
      if (r.status === 'needs-restart') return { outcome: 'needs_restart', detail: r.fields.map((f) => f.message).join('; ') }
      return { outcome: 'failed', detail: r.reasons.map((i) => `${i.path}: ${i.message}`).join('; ') }
    },
  }
}

/** `overpass status` shows the network version (running, on disk, held aside, last rollback) when there is one. */
function withNetworkVersion(views: RelayViews, versions: VersionBridge | undefined): RelayViews {
  if (versions === undefined) return views
  return { ...views, status: () => ({ ...views.status(), network_version: versions.status() }) }
}
