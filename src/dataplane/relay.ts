/**
 * The relay core. Packet pipeline, in order:
 *
 *   1. overlay socket  -> source address must be a configured peer (else drop, no reply)
 *   2. crypto          -> handshake messages are consumed; transport packets are
 *                         authenticated, replay-checked and decrypted in place
 *   3. inner kind      -> data | control | probe
 *   4. data header     -> path[pidx] must be this relay, path[pidx-1] the sender
 *   5a. transit        -> decrement hops, advance pidx, seal to path[pidx+1]
 *   5b. path end       -> forward packets go to the exit half (origin),
 *                         replies to the ingress half (client); path[0]
 *                         must be an ingress / an exit of the service
 *                         (path-ends.ts); forward packets of l3 services
 *                         go into the TUN (l3-exit.ts)
 *
 * With an `l3:` section, packets read from the TUN enter at l3-ingress.ts.
 *
 * Every rejection is a counted drop; nothing on this path throws or logs.
 */
import type { DataPlaneConfig, ServiceRoles } from '../config/data-plane.js'
import type { PeerConfig, ServiceConfig } from '../config/types.js'
import { CryptoDrop, type EndpointPeer, type LiveKeys, type SecureEndpoint, type SecureEndpointOptions } from '../crypto/types.js'
import { DEFAULT_REJECT_AFTER_PACKETS } from '../crypto/secure-endpoint.js'
import { nativeTransitWanted } from '../io/native-transit.js'
import type { Clock, Logger, PacketSocket, PeerAddress, Timers, TimerHandle, TunDevice, UdpSocketFactory } from '../io/index.js'
import { isIPv6 } from 'node:net'
import { DataHeader, FLAG_REPLY, FLAG_STAMPED, KIND_CONTROL, KIND_DATA, KIND_NETWORK_VERSION, KIND_PROBE, OFF_HOPS, OFF_PATH_INDEX, decodeDataHeader } from '../wire/data.js'
import { nameId } from '../wire/ids.js'
import { KIND_PATH_REPORT } from '../wire/path-report.js'
import { ENDPOINT_PROBE_LEN, ENDPOINT_PROBE_REPLY, ENDPOINT_PROBE_REQUEST, KIND_ENDPOINT_PROBE, endpointProbeToken, endpointProbeType, probeErrorName, writeEndpointProbe } from '../wire/endpoint-probe.js'
import { DropCounts, L3Counters, Traffic, cryptoDropName, headerDropName } from './counters.js'
import { ServiceState, type RelayContext } from './context.js'
import { ExitSide } from './exit.js'
import { IngressSide, type Listener } from './ingress.js'
import { L3Exit } from './l3-exit.js'
import { L3Ingress, MissingTunError } from './l3-ingress.js'
import { PathEnds } from './path-ends.js'
import { PathMeter } from './path-meter.js'
import { StaticPaths, type PathProvider } from './paths.js'
import { PeerEndpoints } from './peer-endpoints.js'
import type { HostPort } from '../config/types.js'
import { TransitOffload } from './transit-offload.js'

/** A peer relay as the data plane sees it (crypto/ has its own per-peer session state). */
export interface OverlayPeer {
  index: number
  id: string
  node: number
  /** Where packets to the peer go: with several endpoints, the active one (peer-endpoints.ts). */
  endpoint: PeerAddress
  traffic: Traffic
  /** Set when the peer has several endpoints. */
  candidates?: PeerEndpoints
  /** Its entry in the config (replaced by a live change). */
  config: PeerConfig
}

/** A service as a live change gives it to the data plane: its roles here, and whether it is draining. */
export interface LiveService extends ServiceRoles {
  /** Removed, and draining: existing flows carry on, new ones are refused. */
  draining?: boolean
  /** Its ports or origin moved, from this config: the old ports and origin drain (no new flows) until a change without it. */
  previous?: ServiceConfig
}

/**
 * Where a peer's packets go, as worker 0 decided it (failover, DNS, a live
 * change): every lane worker takes the same (Relay.adoptEndpoints).
 */
export interface PeerEndpointState {
  index: number
  addresses: PeerAddress[]
  /** Which of `addresses` is in use. */
  active: number
}

/** A configured peer with the index its crypto session (and every lane worker) knows it by. */
export interface IndexedPeer {
  index: number
  peer: PeerConfig
}

/** Receives the control-plane kinds of overlay packets (probes, map floods). */
export interface ControlPlaneSink {
  /** `body` is the payload after the kind byte; valid only during the call. */
  onProbe(peer: OverlayPeer, body: Buffer, nowMs: number): void
  onControl(peer: OverlayPeer, body: Buffer, nowMs: number): void
  /** A path report (wire/path-report.ts) from the far end of a service path; without this handler it counts as bad_inner_kind. */
  onPathReport?(peer: OverlayPeer, body: Buffer, nowMs: number): void
}

/** Receives network-version messages (kind 4; control/version-bridge.ts). */
export interface VersionSink {
  /** `body` is the payload after the kind byte; valid only during the call. */
  onNetworkVersion(peer: OverlayPeer, body: Buffer, nowMs: number): void
}

/** What the relay tells its crypto endpoint: the private key is the builder's (node/), never the data plane's. */
export type RelayEndpointOptions = Omit<SecureEndpointOptions, 'privateKey'>

/**
 * How early the housekeeping tick (every tickMs) may run on another timer's
 * wake-up (Relay.tickIfDue): its work is a few microseconds, a wake-up of
 * its own ~100-200 (docs/performance.md, "Idle CPU").
 */
export const TICK_EARLY_MS = 50

export interface RelayDeps {
  /** The data plane's share of the config, resolved once (config/data-plane.ts). */
  plane: DataPlaneConfig
  udp: UdpSocketFactory
  clock: Clock
  timers: Timers
  log: Logger
  makeEndpoint: (opts: RelayEndpointOptions) => SecureEndpoint
  /** Where paths come from: the published snapshot (node/ builds it); default the config's static paths. */
  paths?: PathProvider
  cryptoBackend?: 'auto' | 'sodium' | 'tweetnacl'
  /** How often timers run (crypto retries/rekeys, flow expiry); default 100 ms. */
  tickMs?: number
  /** The TUN device of L3 mode; required when the config has an `l3:` section. The caller owns (and closes) it. */
  tun?: TunDevice
  /** Opens the overlay socket (relay.listen); default `udp`. The daemon passes the batched native socket here. */
  overlayUdp?: UdpSocketFactory
  /** Opens the ingress service sockets; default `udp`. The daemon passes the batched native socket here too. */
  serviceUdp?: UdpSocketFactory
  /** Which worker this is, of how many (daemon/workers.ts); default the only one. */
  worker?: { index: number; count: number }
  /** Origin sockets the exit may keep open (flow-admission.ts); default DEFAULT_EXIT_SOCKET_BUDGET. */
  exitSocketBudget?: number
  /**
   * Forward pure transit datagrams natively when the overlay socket can
   * (transit-offload.ts; each worker on its own lane); default true unless OVERPASS_TRANSIT=off.
   */
  nativeTransit?: boolean
}

/** The L3 half of a relay: present when the config has `l3:`. */
interface L3Side {
  tun: TunDevice
  counters: L3Counters
  ingress: L3Ingress
  exit: L3Exit
}

export class Relay implements RelayContext {
  readonly selfNode: number
  readonly selfId: string
  readonly mtu: number
  readonly hopLimit: number
  readonly plane: DataPlaneConfig
  readonly clock: Clock
  readonly udp: UdpSocketFactory
  readonly serviceUdp: UdpSocketFactory
  private readonly overlayUdp: UdpSocketFactory
  readonly log: Logger
  readonly paths: PathProvider
  readonly drops = new DropCounts()
  /**
   * Test bed only: faults a relay can be told to play (daemon/test-faults.ts,
   * honoured only with OVERPASS_TEST_FAULTS=1 in its environment).
   * dropTransitData: drop every data packet this relay should forward as a
   * transit while still answering probes and flooding its column (docs/lab.md).
   * Setting it also takes the native transit table off the socket (and puts
   * it back), or the fast path would go on forwarding what the fault drops.
   */
  readonly testFaults = ((relay: Relay) => ({
    get dropTransitData(): boolean {
      return relay.dropTransit
    },
    set dropTransitData(on: boolean) {
      relay.dropTransit = on
      relay.transitFaultChanged()
    },
  }))(this)
  private dropTransit = false
  /** Per-path data counters for path reports (path-meter.ts). */
  readonly pathMeter = new PathMeter()
  /** Datagram handler exceptions so far (each one dropped and counted; the first few logged). */
  private handlerErrors = 0
  readonly ipv6Underlay: boolean
  /** By crypto index; a removed peer's index stays empty (indexes are never reused, see setPeers). */
  readonly peers: (OverlayPeer | undefined)[]
  /** Every service this relay knows, draining ones included (setServices changes it live). */
  readonly services: ServiceState[]
  readonly endpoint: SecureEndpoint
  readonly lane: number
  readonly laneCount: number
  /** Lane of the overlay packet being handled (set per datagram, read by the exit for new flows). */
  rxLane = 0
  private readonly peerBySource = new Map<string, Map<number, OverlayPeer>>()
  private readonly peerByNode = new Map<number, OverlayPeer>()
  private readonly serviceById = new Map<number, ServiceState>()
  /** Which relays may start a forward packet or a reply of each L4 service. */
  private ends: PathEnds
  private readonly ingress: IngressSide
  private readonly exit: ExitSide
  private readonly l3: L3Side | undefined
  private readonly hdr = new DataHeader()
  private readonly timers: Timers
  private readonly tickMs: number
  private socket: PacketSocket | undefined
  private tickTimer: TimerHandle | undefined
  private lastSweepMs = 0
  /** When the housekeeping tick last ran (tickIfDue runs it early on another wake-up). */
  private lastTickMs = 0
  private readonly startedMs: number
  private controlSink: ControlPlaneSink | undefined
  private versionSink: VersionSink | undefined
  private readonly nativeTransit: boolean
  /** The live keypairs of each peer, as the endpoint last handed them (for a transit table made later). */
  private readonly liveKeys: (LiveKeys | undefined)[] = []
  private transit: TransitOffload | undefined
  /** Set only while an endpoint probe is sealed: its transmit goes there, not to the active endpoint. */
  private sendTo: PeerAddress | undefined
  private readonly probeBuf = Buffer.alloc(1 + ENDPOINT_PROBE_LEN)
  /**
   * Called after any peer's addresses or active endpoint changed here (a
   * multi-worker relay copies endpointState() to its other workers).
   */
  onEndpointsChanged: ((state: PeerEndpointState[]) => void) | undefined

  constructor(deps: RelayDeps) {
    const cfg = deps.plane
    this.plane = cfg
    this.selfId = cfg.self
    this.mtu = cfg.mtu
    this.hopLimit = cfg.hopLimit
    this.clock = deps.clock
    this.timers = deps.timers
    this.udp = deps.udp
    this.overlayUdp = deps.overlayUdp ?? deps.udp
    this.serviceUdp = deps.serviceUdp ?? deps.udp
    this.log = deps.log
    this.tickMs = deps.tickMs ?? 100
    this.selfNode = nameId(cfg.self)
    this.lane = deps.worker?.index ?? 0
    this.laneCount = deps.worker?.count ?? 1
    this.startedMs = deps.clock.nowMs()
    this.nativeTransit = deps.nativeTransit ?? nativeTransitWanted()
    this.paths = deps.paths ?? new StaticPaths(cfg.self, cfg.services)
    this.ipv6Underlay = isIPv6(cfg.listen.host) || cfg.peers.some((p) => (p.endpoints ?? [p.endpoint]).some((e) => isIPv6(e.host)))
    this.peers = cfg.peers.map((p, index) => overlayPeer(index, p))
    this.indexPeers()
    this.services = cfg.services.map((s) => new ServiceState(s.cfg, nameId(s.cfg.name), s.isIngress, s.isExit))
    for (const s of this.services) this.serviceById.set(s.id, s)
    this.ends = new PathEnds(this.services)
    this.endpoint = deps.makeEndpoint({
      // The address is the one onOverlayDatagram matches the peer by: handshake cookies are bound to it.
      peers: cfg.peers.map((p, index) => endpointPeer({ index, peer: p })),
      transmit: (peer, data, length) => this.transmit(peer, data, length),
      onSessionUp: (peer) => this.log.info('session up', { peer: this.peers[peer]?.id }),
      rekeyAfterMs: cfg.rekeyAfterMs,
      rekeyAfterPackets: cfg.rekeyAfterPackets,
      backend: deps.cryptoBackend ?? 'auto',
      onLiveKeys: (peer, keys) => {
        this.liveKeys[peer] = keys
        this.transit?.keysChanged(peer, keys)
      },
    })
    this.ingress = new IngressSide(this, this.services.filter((s) => s.isIngress && s.cfg.mode === 'l4'))
    this.exit = new ExitSide(this, deps.exitSocketBudget)
    if (cfg.l3 !== undefined) {
      if (deps.tun === undefined) throw new MissingTunError(cfg.self)
      const l3Services = this.services.filter((s) => s.cfg.mode === 'l3')
      const counters = new L3Counters()
      this.l3 = {
        tun: deps.tun,
        counters,
        ingress: new L3Ingress(this, l3Services, deps.tun, counters, cfg.l3),
        exit: new L3Exit(l3Services, deps.tun, counters, this.drops),
      }
    }
  }

  /** Binds the overlay and service sockets. Rejects (with everything closed) if any cannot bind. */
  async start(): Promise<void> {
    const { host, port } = this.plane.listen
    const socket = this.overlayUdp.open(host, port)
    this.socket = socket
    socket.onMessage((data, from) => this.onOverlayContained(data, from))
    socket.onError((err) => this.log.warn('overlay socket error', { error: err.message }))
    try {
      const bound = await socket.bound()
      this.log.info('overlay listening', { listen: `${bound.address}:${bound.port}`, crypto: this.endpoint.backendName })
      this.startTransit(socket)
      await this.ingress.start()
      const l3 = this.l3
      if (l3 !== undefined) l3.tun.onPacket((pkt) => l3.ingress.onTunPacket(pkt))
    } catch (err) {
      this.stop()
      throw err
    }
    this.lastTickMs = this.clock.nowMs()
    this.scheduleTick()
  }

  stop(): void {
    if (this.tickTimer !== undefined) this.timers.clearTimeout(this.tickTimer)
    this.tickTimer = undefined
    this.stopTransit()
    this.ingress.close()
    this.exit.close()
    this.l3?.tun.onPacket(() => {})
    this.socket?.close()
    this.socket = undefined
  }

  /** The peer table as it is now, with crypto indexes. */
  peerTable(): IndexedPeer[] {
    return this.peers.flatMap((p) => (p === undefined ? [] : [{ index: p.index, peer: p.config }]))
  }

  /**
   * A live config change: the peer table becomes `table` (node/live-apply.ts
   * assigns indexes: a kept peer keeps its own, a new one gets one never
   * used before, so a late message about a removed index cannot reach its
   * successor). Kept peers keep their sessions and counters; a moved
   * endpoint takes effect with the next datagram. The crypto endpoint
   * checks the whole table first: if it throws, nothing changed.
   */
  setPeers(table: IndexedPeer[]): void {
    this.endpoint.setPeers?.(table.map(endpointPeer))
    const listed = new Set(table.map((t) => t.index))
    for (let i = 0; i < this.peers.length; i++) if (!listed.has(i)) delete this.peers[i]
    for (const { index, peer } of table) {
      const have = this.peers[index]
      if (have === undefined) this.peers[index] = overlayPeer(index, peer)
      else {
        // Addresses unchanged: the endpoint in use (maybe a failover's, or a DNS answer's) stays.
        if (!sameAddresses(have.config, peer)) Object.assign(have, addressesOf(peer))
        have.config = peer
      }
    }
    this.indexPeers()
    this.endpointsChanged()
  }

  /**
   * A live change of the services (node/live-apply.ts): afterwards the
   * relay serves exactly `desired`. New services' ports are all opened
   * first: if one cannot bind, the ones opened are closed and this rejects
   * with ServicePortError, nothing changed. Then, at once: new services take
   * clients, kept ones take their new settings (only those that may change
   * in place reach here) and their `draining` flag (no new flows, existing
   * ones carry on), a kept service whose ports or origin moved (`previous`)
   * drains its old ones (their end: the same service without `previous`),
   * and services not in `desired` go: their ports close and their flows
   * are forgotten. L3 services are set at start only
   * (their prefixes are on the TUN); they are left as they are.
   */
  async setServices(desired: readonly LiveService[]): Promise<void> {
    const have = new Map(this.services.map((s) => [s.cfg.name, s]))
    const fresh = desired.filter((d) => !have.has(d.cfg.name) && d.cfg.mode === 'l4').map((d) => new ServiceState(d.cfg, nameId(d.cfg.name), d.isIngress, d.isExit))
    const kept = desired.flatMap((d) => {
      const s = have.get(d.cfg.name)
      return s !== undefined && s.cfg.mode === 'l4' ? [{ s, d }] : []
    })
    const opened = new Map<ServiceState, Listener[]>()
    try {
      for (const s of fresh) opened.set(s, s.isIngress ? await this.ingress.open(s) : [])
      for (const { s, d } of kept) if (s.isIngress) opened.set(s, await this.ingress.open(s, d.cfg))
    } catch (err) {
      for (const ls of opened.values()) for (const l of ls) l.socket.close()
      throw err
    }
    const wanted = new Set(desired.map((d) => d.cfg.name))
    for (const s of [...this.services]) if (s.cfg.mode === 'l4' && !wanted.has(s.cfg.name)) this.dropService(s)
    for (const { s, d } of kept) {
      s.cfg = d.cfg
      s.draining = d.draining === true
      // A moved port or origin: the old one drains while `previous` is given, and goes when it no longer is.
      if (s.isIngress) this.ingress.relisten(s, opened.get(s) ?? [], d.previous !== undefined)
      if (s.isExit && d.previous === undefined) this.exit.dropOtherOrigins(s)
    }
    for (const s of fresh) {
      this.services.push(s)
      this.serviceById.set(s.id, s)
      if (s.isIngress) this.ingress.add(s, opened.get(s)!)
    }
    this.ends = new PathEnds(this.services)
    // The exit's natively delivered flows were checked against the services as they were.
    this.exit.clearNative()
  }

  private dropService(s: ServiceState): void {
    this.ingress.remove(s)
    this.exit.remove(s)
    this.services.splice(this.services.indexOf(s), 1)
    if (this.serviceById.get(s.id) === s) this.serviceById.delete(s.id)
    this.log.info('service closed', { service: s.cfg.name })
  }

  /** Rebuilds the lookups by source address and by node id from `peers`. */
  private indexPeers(): void {
    this.peerBySource.clear()
    this.peerByNode.clear()
    for (const p of this.peers) {
      if (p === undefined) continue
      // Datagrams from any of a peer's endpoints are the peer's; an address two peers list stays the first one's.
      for (const e of p.candidates?.candidates ?? [p.endpoint]) {
        let byPort = this.peerBySource.get(e.address)
        if (byPort === undefined) this.peerBySource.set(e.address, (byPort = new Map()))
        if (!byPort.has(e.port)) byPort.set(e.port, p)
      }
      this.peerByNode.set(p.node, p)
    }
  }

  /**
   * The native transit fast path, when the overlay socket has one. With
   * several workers each has a table of its own lane (`this.lane`, the one
   * it seals on): packets on other lanes the kernel steers here (lane mod
   * workers) stay with JS.
   */
  private startTransit(socket: PacketSocket): void {
    if (!this.nativeTransit || this.dropTransit || socket.attachTransit === undefined) return
    const transit = TransitOffload.create({
      selfNode: this.selfNode,
      family: isIPv6(this.plane.listen.host) ? 6 : 4,
      // A slot a live change emptied (setPeers) is never given to the table.
      peers: Array.from(this.peers, (p) =>
        p === undefined
          ? { node: 0, endpoint: { address: '', port: 0 }, traffic: new Traffic(), matchedBySource: false }
          : { node: p.node, endpoint: p.endpoint, traffic: p.traffic, matchedBySource: this.peerBySource.get(p.endpoint.address)?.get(p.endpoint.port) === p },
      ),
      endpoint: this.endpoint,
      rekeyAfterPackets: this.plane.rekeyAfterPackets,
      rejectAfterPackets: DEFAULT_REJECT_AFTER_PACKETS,
      nowMs: this.clock.nowMs(),
      lane: this.lane,
    })
    if (transit === undefined) return
    this.transit = transit
    this.exit.attachNative(transit.table)
    this.liveKeys.forEach((keys, peer) => keys !== undefined && transit.keysChanged(peer, keys))
    socket.attachTransit({ table: transit.table, onOpened: this.onOpenedContained })
  }

  /**
   * The native table knows each peer's address and slot from when it was
   * built: after a peer table change, an endpoint failover or a DNS change it
   * is built again (control path), or it would send to the old address.
   */
  private restartTransit(): void {
    const socket = this.socket
    if (socket === undefined || this.transit === undefined) return
    this.stopTransit()
    this.startTransit(socket)
  }

  /** The test fault changed: the table goes while transit data is dropped, and comes back after. */
  private transitFaultChanged(): void {
    const socket = this.socket
    if (socket === undefined) return
    if (this.transit !== undefined) this.stopTransit()
    this.startTransit(socket)
  }

  /** The native table off the overlay socket: its counters drained into the peers', the exit's flows back to JS. */
  private stopTransit(): void {
    this.transit?.drain()
    this.exit.attachNative(undefined)
    this.socket?.attachTransit?.(null)
    this.transit = undefined
  }

  attachControlPlane(sink: ControlPlaneSink): void {
    this.controlSink = sink
  }

  attachVersionSink(sink: VersionSink): void {
    this.versionSink = sink
  }

  peerById(id: string): OverlayPeer | undefined {
    return this.peerByNode.get(nameId(id))
  }

  /**
   * Peers with several endpoints: moves each whose active endpoint does not
   * work to another (peer-endpoints.ts), and probes the spares that are due.
   * `outboundUp` is the control plane's word on our edge to a peer
   * (undefined: no news). Control path, every ENDPOINT_CHECK_MS (control/).
   */
  checkEndpoints(nowMs: number, outboundUp: (peer: string) => boolean | undefined): void {
    let moved = false
    for (const p of this.peers) {
      // Holes: peers a live change removed (setPeers).
      if (p === undefined || p.candidates === undefined) continue
      const c = p.candidates
      const works = this.endpoint.hasSession(p.index) ? outboundUp(p.id) : false
      if (c.observe(nowMs, works)) {
        const from = `${p.endpoint.address}:${p.endpoint.port}`
        p.endpoint = c.active
        this.log.info('peer endpoint failover', { peer: p.id, from, to: `${p.endpoint.address}:${p.endpoint.port}` })
        moved = true
      }
      // Spares are probed over the session: without one nothing can be sealed (they stay as they are).
      if (this.endpoint.hasSession(p.index)) for (const probe of c.dueProbes(nowMs)) this.sendEndpointProbe(p, probe.address, probe.token)
    }
    if (moved) this.endpointsChanged()
  }

  /** Seals an endpoint probe request to the peer's session and sends it to `to` (one of its spares). */
  private sendEndpointProbe(p: OverlayPeer, to: PeerAddress, token: number): void {
    const buf = this.probeBuf
    buf[0] = KIND_ENDPOINT_PROBE
    writeEndpointProbe(buf, 1, ENDPOINT_PROBE_REQUEST, token)
    this.sendTo = to
    try {
      this.endpoint.send(p.index, this.clock.nowMs(), buf, buf.length, this.lane)
    } finally {
      this.sendTo = undefined
    }
  }

  /**
   * An endpoint probe from an authenticated peer: a request is echoed back
   * as a reply of the same length (sealed to the peer as usual, on the lane
   * it came on); a reply tells the peer's spare endpoints it worked.
   */
  private onEndpointProbe(peer: OverlayPeer, plain: Buffer, length: number, nowMs: number): void {
    const body = plain.subarray(1, length)
    const type = endpointProbeType(body)
    if (type < 0) {
      this.drops.add('endpoint_probe_malformed')
      this.drops.add(`endpoint_probe_malformed_${probeErrorName(type)}`)
    } else if (type === ENDPOINT_PROBE_REQUEST) {
      plain[1] = ENDPOINT_PROBE_REPLY
      if (!this.endpoint.send(peer.index, nowMs, plain, length, this.rxLane)) this.drops.add('session_queue_full')
    } else if (peer.candidates?.probeAnswered(nowMs, endpointProbeToken(body)) !== true) this.drops.add('endpoint_probe_unexpected')
  }

  /** Each peer's addresses and the one in use (worker 0's, for the other workers). */
  endpointState(): PeerEndpointState[] {
    return this.peers.flatMap((p) =>
      p === undefined ? [] : [{ index: p.index, addresses: [...(p.candidates?.candidates ?? [p.endpoint])], active: p.candidates?.activeIndex ?? 0 }],
    )
  }

  /**
   * A lane worker takes worker 0's endpoints (failover, DNS, live change):
   * every lane sends a peer's packets to the same address, and datagrams
   * from any of them are the peer's. Peers this worker does not hold (yet)
   * are skipped; the next state covers them.
   */
  adoptEndpoints(state: readonly PeerEndpointState[]): void {
    for (const { index, addresses, active } of state) {
      const p = this.peers[index]
      if (p === undefined || addresses.length === 0) continue
      const same = p.endpoint.address === addresses[active]?.address && p.endpoint.port === addresses[active]?.port
      const list = p.candidates?.candidates ?? [p.endpoint]
      if (same && list.length === addresses.length && list.every((e, i) => e.address === addresses[i].address && e.port === addresses[i].port)) continue
      p.candidates = addresses.length > 1 ? new PeerEndpoints(addresses, { active }) : undefined
      p.endpoint = addresses[Math.min(active, addresses.length - 1)]
    }
    this.indexPeers()
    this.restartTransit()
  }

  /** After a change of endpoints: the native table is rebuilt and the other workers told. */
  private endpointsChanged(): void {
    this.restartTransit()
    this.onEndpointsChanged?.(this.endpointState())
  }

  /**
   * Gives a peer a new set of addresses (its DNS name now resolves to
   * others: node/endpoint-names.ts). The endpoint in use stays if it is
   * still among them; sessions are kept (they are bound to keys, not addresses).
   */
  setPeerEndpoints(id: string, addresses: readonly HostPort[]): void {
    const p = this.peerById(id)
    if (p === undefined) return
    // An address another peer owns is never taken over: a name pointed at it (a bad or forged DNS answer)
    // would otherwise hand that peer's datagrams to this one, which cannot decrypt them.
    const next = addresses.map((a) => ({ address: a.host, port: a.port })).filter((e) => {
      const owner = this.peerBySource.get(e.address)?.get(e.port)
      return owner === undefined || owner === p
    })
    if (next.length < addresses.length) this.log.warn('peer endpoint refused: another peer has that address', { peer: id, addresses: addresses.length, kept: next.length })
    if (next.length === 0) return
    for (const e of p.candidates?.candidates ?? [p.endpoint]) {
      const byPort = this.peerBySource.get(e.address)
      if (byPort?.get(e.port) === p) byPort.delete(e.port)
      if (byPort?.size === 0) this.peerBySource.delete(e.address)
    }
    const kept = next.findIndex((e) => e.address === p.endpoint.address && e.port === p.endpoint.port)
    // The one in use goes first, so the change does not move the peer off a working address.
    if (kept > 0) next.unshift(...next.splice(kept, 1))
    p.candidates = next.length > 1 ? new PeerEndpoints(next) : undefined
    p.endpoint = next[0]
    // A later live change that keeps these addresses keeps the endpoint in use (setPeers compares with config).
    p.config = withAddresses(p.config, next)
    for (const e of next) {
      let byPort = this.peerBySource.get(e.address)
      if (byPort === undefined) this.peerBySource.set(e.address, (byPort = new Map()))
      byPort.set(e.port, p)
    }
    this.endpointsChanged()
  }

  /** Seals and sends an already-built plaintext (control or probe) to a peer. */
  sendPlain(peer: OverlayPeer, plain: Buffer, length: number): boolean {
    return this.endpoint.send(peer.index, this.clock.nowMs(), plain, length)
  }

  // --- the data path ---------------------------------------------------

  /**
   * The receive loop's entry: a datagram whose handling throws (a bug, or
   * input no parser foresaw) is dropped and counted as `handler_error`
   * instead of unwinding into the socket and killing the relay.
   */
  private onOverlayContained(data: Buffer, from: PeerAddress): void {
    try {
      this.onOverlayDatagram(data, from)
    } catch (err) {
      this.handlerFailed(err)
    }
  }

  /** A datagram whose handling threw: dropped and counted, the first few logged. */
  private handlerFailed(err: unknown): void {
    this.drops.add('handler_error')
    if (++this.handlerErrors <= 10) this.log.error('overlay datagram handler failed; datagram dropped', { error: err instanceof Error ? err.message : String(err) })
  }

  private onOverlayDatagram(data: Buffer, from: PeerAddress): void {
    const peer = this.peerBySource.get(from.address)?.get(from.port)
    if (peer === undefined) {
      this.drops.add('unknown_source')
      return
    }
    const now = this.clock.nowMs()
    const n = this.endpoint.receive(peer.index, now, data, data.length)
    this.rxLane = this.endpoint.receivedLane ?? 0
    // Only this worker may seal on its lanes (nonces are per lane): a packet on another worker's lane
    // (misrouted while the port group forms) is not ours to answer or forward.
    if (n >= 0 && this.rxLane % this.laneCount !== this.lane) {
      this.drops.add('wrong_lane')
      return
    }
    if (n < 0) {
      if (n === CryptoDrop.HandshakeConsumed) peer.traffic.rx(data.length)
      else this.drops.add(cryptoDropName(n))
      return
    }
    peer.traffic.rx(data.length)
    this.onPlaintext(peer, this.endpoint.plaintext(), n, now)
  }

  /** onOverlayContained for what the native table opened (transit.c: not forwarded, e.g. local delivery). */
  private readonly onOpenedContained = (plain: Buffer, peerSlot: number): void => {
    try {
      this.onOpenedDatagram(plain, peerSlot)
    } catch (err) {
      this.handlerFailed(err)
    }
  }

  /**
   * A datagram the native table opened: what onOverlayDatagram does after a
   * successful open. The table matched the source to the peer, opened on its
   * own lane (this worker's) with a current or previous keypair (never
   * `next`, whose first packet JS must see), committed the replay window and
   * counted the packet and its bytes (drained into the same counters).
   */
  private onOpenedDatagram(plain: Buffer, peerSlot: number): void {
    const peer = this.peers[peerSlot]
    if (peer === undefined) {
      // Removed by a peer table change earlier in the same batch (indexes are never reused).
      this.drops.add('unknown_source')
      return
    }
    this.rxLane = this.lane
    this.onPlaintext(peer, plain, plain.length, this.clock.nowMs())
  }

  /** An authenticated plaintext of `length` bytes from `peer`, by inner kind. */
  private onPlaintext(peer: OverlayPeer, plain: Buffer, length: number, now: number): void {
    // 0 is an authenticated keepalive: nothing to deliver.
    if (length === 0) return
    const kind = plain[0]
    if (kind === KIND_DATA) this.onData(peer, plain, length)
    else if (kind === KIND_PROBE) this.controlSink?.onProbe(peer, plain.subarray(1, length), now)
    else if (kind === KIND_CONTROL) this.controlSink?.onControl(peer, plain.subarray(1, length), now)
    else if (kind === KIND_NETWORK_VERSION) this.versionSink?.onNetworkVersion(peer, plain.subarray(1, length), now)
    else if (kind === KIND_ENDPOINT_PROBE) this.onEndpointProbe(peer, plain, length, now)
    else if (kind === KIND_PATH_REPORT && this.controlSink?.onPathReport !== undefined) this.controlSink.onPathReport(peer, plain.subarray(1, length), now)
    else this.drops.add('bad_inner_kind')
  }

  private onData(peer: OverlayPeer, plain: Buffer, length: number): void {
    const hdr = this.hdr
    const r = decodeDataHeader(plain, length, hdr)
    if (r < 0) {
      this.drops.add(headerDropName(r))
      return
    }
    if (hdr.path[hdr.pathIndex] !== this.selfNode || hdr.path[hdr.pathIndex - 1] !== peer.node) {
      this.drops.add('not_for_me')
      return
    }
    this.onPathPacket(plain, length)
  }

  /** A decoded data packet (in this.hdr) that is addressed to this relay. */
  private onPathPacket(plain: Buffer, length: number): void {
    const hdr = this.hdr
    if (hdr.pathIndex < hdr.pathLen - 1) {
      this.forward(plain, length)
      return
    }
    const service = this.serviceById.get(hdr.service)
    if (service === undefined) {
      this.drops.add('unknown_service')
      return
    }
    if ((hdr.flags & FLAG_REPLY) === 0) {
      if (!service.isExit) service.drops.add('not_exit')
      else if (service.cfg.mode === 'l3') this.deliverL3(service, plain, length)
      else if (!this.ends.isIngress(service, hdr.path[0])) service.drops.add('not_from_ingress')
      else {
        this.pathMeter.onArrival(hdr, (hdr.flags & FLAG_STAMPED) !== 0, this.clock.nowMs())
        this.exit.deliverForward(service, hdr, plain, length)
      }
    } else if (service.cfg.mode === 'l3') service.drops.add('l3_reply_flag')
    else if (!service.isIngress) service.drops.add('not_ingress')
    else if (!this.ends.isExit(service, hdr.path[0])) service.drops.add('not_from_exit')
    else {
      this.pathMeter.onArrival(hdr, (hdr.flags & FLAG_STAMPED) !== 0, this.clock.nowMs())
      this.ingress.deliverReply(hdr, plain, length)
    }
  }

  private deliverL3(service: ServiceState, plain: Buffer, length: number): void {
    if (this.l3 === undefined) service.drops.add('l3_no_tun')
    else this.l3.exit.deliverForward(service, this.hdr, plain, length, this.clock.nowMs())
  }

  /** Transit: pop the next hop from the segment list; no route lookup. */
  private forward(plain: Buffer, length: number): void {
    const hdr = this.hdr
    if (hdr.hops === 0) {
      this.drops.add('hop_limit')
      return
    }
    if (this.testFaults.dropTransitData) {
      this.drops.add('test_fault_dropped')
      return
    }
    const next = this.peerByNode.get(hdr.path[hdr.pathIndex + 1])
    if (next === undefined) {
      this.drops.add('unknown_next_hop')
      return
    }
    plain[OFF_HOPS] = hdr.hops - 1
    plain[OFF_PATH_INDEX] = hdr.pathIndex + 1
    if (!this.endpoint.send(next.index, this.clock.nowMs(), plain, length, this.rxLane)) this.drops.add('session_queue_full')
  }

  sendOnPath(buf: Buffer, length: number, nextNode: number, service: ServiceState, lane: number): boolean {
    if (nextNode === this.selfNode) {
      // Ingress and exit are the same relay: no overlay hop.
      if (decodeDataHeader(buf, length, this.hdr) < 0) return false
      this.rxLane = lane
      this.onPathPacket(buf, length)
      return true
    }
    const next = this.peerByNode.get(nextNode)
    if (next === undefined) {
      service.drops.add('unknown_next_hop')
      return false
    }
    if (this.endpoint.send(next.index, this.clock.nowMs(), buf, length, lane)) return true
    service.drops.add('session_queue_full')
    return false
  }

  private transmit(peer: number, data: Buffer, length: number): void {
    const p = this.peers[peer]
    if (p === undefined) return
    // The override is for the sealed probe alone: a handshake the same send starts (a rekey) goes to the endpoint in use.
    const to = this.sendTo ?? p.endpoint
    this.sendTo = undefined
    if (this.socket !== undefined && this.socket.send(data, 0, length, to.port, to.address)) {
      p.traffic.tx(length)
    } else this.drops.add('send_failed')
  }

  // --- timers ----------------------------------------------------------

  private scheduleTick(): void {
    this.tickTimer = this.timers.setTimeout(() => this.tick(this.clock.nowMs()), this.tickMs)
  }

  /** Housekeeping: counter drains, crypto timers (retries, rekeys, expiry), the flows' sweep each second. */
  private tick(now: number): void {
    this.tickTimer = undefined
    this.lastTickMs = now
    try {
      this.transit?.drain()
      this.exit.drainNative()
      this.endpoint.tick(now)
      if (now - this.lastSweepMs >= 1000) {
        this.lastSweepMs = now
        this.ingress.sweep(now)
        this.exit.sweep(now)
        this.l3?.ingress.sweep(now)
        this.l3?.exit.sweep(now)
        this.pathMeter.sweep(now)
      }
    } finally {
      // Re-armed even when run from another timer's callback that catches what this throws.
      this.scheduleTick()
    }
  }

  /**
   * Someone else's timer woke the process (the control plane's tick): runs
   * the housekeeping tick now if it is due within TICK_EARLY_MS, and re-arms
   * its own timer from here. Each run is thus at most tickMs after the last,
   * as before, and an idle relay does not wake 10 times a second for it
   * when the control plane wakes anyway (docs/performance.md, "Idle CPU").
   */
  tickIfDue(nowMs: number): void {
    if (this.tickTimer === undefined || nowMs < this.lastTickMs + this.tickMs - TICK_EARLY_MS) return
    this.timers.clearTimeout(this.tickTimer)
    this.tick(nowMs)
  }

  // --- status ----------------------------------------------------------

  /** The exit's flows as delivery left them (their arrived path, last seen): tests compare the native delivery's with the TypeScript path's. */
  exitFlowStates(): ReturnType<ExitSide['flowStates']> {
    return this.exit.flowStates()
  }

  stats(): RelayStats {
    this.transit?.drain()
    this.exit.drainNative()
    const now = this.clock.nowMs()
    const cryptoStats = (this.endpoint as { stats?: () => unknown }).stats?.()
    return {
      relay: this.selfId,
      uptime_s: Math.round((now - this.startedMs) / 1000),
      crypto_backend: this.endpoint.backendName,
      peers: Object.fromEntries(
        this.peers.flatMap((p) =>
          p === undefined
            ? []
            : [[p.id, { index: p.index, endpoint: `${p.endpoint.address}:${p.endpoint.port}`, session: this.endpoint.hasSession(p.index), ...p.traffic.toJSON(), ...optional('endpoints', p.candidates?.view(now)) }]],
        ),
      ),
      services: Object.fromEntries(
        this.services.map((s) => [
          s.cfg.name,
          {
            roles: [s.isIngress ? 'ingress' : '', s.isExit ? 'exit' : ''].filter(Boolean),
            ...(s.draining ? { draining: true } : {}),
            ingress_flows: s.ingressFlows,
            exit_flows: s.exitFlows,
            flow_exit_moves: s.flowExitMoves,
            client: s.client.toJSON(),
            origin: s.origin.toJSON(),
            drops: s.drops.toJSON(),
            ...(s.cfg.fallback === 'direct' && s.isIngress ? { direct: { flows: s.directFlows, ...s.direct.toJSON() } } : {}),
          },
        ]),
      ),
      drops: this.drops.toJSON(),
      ...(this.l3 !== undefined && this.plane.l3 !== undefined
        ? { l3: { tun: this.l3.tun.name, mtu: this.plane.l3.mtu, flows: this.l3.ingress.activeFlows(), ...this.l3.counters.toJSON() } }
        : {}),
      crypto: cryptoStats,
      ...optional('overlay_socket', this.socket?.stats?.()),
      ...optional('native_transit', this.transit && { forwarded: this.transit.forwarded, peers_matched: this.transit.peersMatched(), opened_local: this.transit.openedLocal, delivered_local: this.transit.deliveredLocal }),
      ...optional('service_sockets', this.ingress.socketStats()),
      ...optional('origin_sockets', this.exit.originSocketStats()),
    }
  }
}

export interface RelayStats {
  relay: string
  uptime_s: number
  crypto_backend: string
  peers: Record<string, Record<string, unknown>>
  services: Record<string, { roles: string[]; draining?: boolean; ingress_flows: number; exit_flows: number; flow_exit_moves?: number; client: Record<string, number>; origin: Record<string, number>; drops: Record<string, number>; direct?: Record<string, number> }>
  drops: Record<string, number>
  /** TUN and ICMP counters, when the relay has an `l3:` section (L3 drops are in `drops` and per service). */
  l3?: { tun: string; mtu: number; flows: number } & Record<string, number | string>
  crypto?: unknown
  /** The overlay socket's own counters (the batched native socket keeps them). */
  overlay_socket?: Record<string, number>
  /** Datagrams the native transit fast path forwarded (already counted in peers and crypto too), when it runs. */
  native_transit?: { forwarded: number; peers_matched: number; opened_local?: number; delivered_local?: number }
  /** The same for each ingress service socket, by `service@host:port` (absent on node:dgram). */
  service_sockets?: Record<string, Record<string, number>>
  /** The exit's per-flow origin sockets, summed over all flows since start (absent on node:dgram). */
  origin_sockets?: Record<string, number>
}

function overlayPeer(index: number, p: PeerConfig): OverlayPeer {
  return { index, id: p.id, node: nameId(p.id), traffic: new Traffic(), config: p, ...addressesOf(p) }
}

/** Where a peer is sent to: its first address, and the failover list when it has several (peer-endpoints.ts). */
function addressesOf(p: PeerConfig): Pick<OverlayPeer, 'endpoint' | 'candidates'> {
  const endpoint = { address: p.endpoint.host, port: p.endpoint.port }
  if (p.endpoints === undefined) return { endpoint, candidates: undefined }
  return { endpoint, candidates: new PeerEndpoints(p.endpoints.map((e) => ({ address: e.host, port: e.port }))) }
}

/** `p` sent to `addresses` (the first as `endpoint`, all as `endpoints` when there are several). */
function withAddresses(p: PeerConfig, addresses: readonly PeerAddress[]): PeerConfig {
  const { endpoints: _old, ...rest } = p
  const list = addresses.map((a) => ({ host: a.address, port: a.port }))
  return { ...rest, endpoint: list[0], ...(list.length > 1 ? { endpoints: list } : {}) }
}

function sameAddresses(a: PeerConfig, b: PeerConfig): boolean {
  const x = a.endpoints ?? [a.endpoint]
  const y = b.endpoints ?? [b.endpoint]
  return x.length === y.length && x.every((e, i) => e.host === y[i].host && e.port === y[i].port)
}

/** The address is the one onOverlayDatagram matches the peer by: handshake cookies are bound to it. */
function endpointPeer({ index, peer }: IndexedPeer): EndpointPeer {
  return { index, publicKey: peer.publicKey, ...(peer.next ? { nextPublicKey: peer.next.publicKey } : {}), address: `${peer.endpoint.host}:${peer.endpoint.port}` }
}

/** `{ [key]: value }`, or nothing when there is no value: optional sections of the stats. */
function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value !== undefined ? ({ [key]: value } as Record<K, V>) : {}
}
