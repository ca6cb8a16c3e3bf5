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
import type { DataPlaneConfig } from '../config/data-plane.js'
import { CryptoDrop, type LiveKeys, type SecureEndpoint, type SecureEndpointOptions } from '../crypto/types.js'
import { DEFAULT_REJECT_AFTER_PACKETS } from '../crypto/secure-endpoint.js'
import { nativeTransitWanted } from '../io/native-transit.js'
import type { Clock, Logger, PacketSocket, PeerAddress, Timers, TimerHandle, TunDevice, UdpSocketFactory } from '../io/index.js'
import { isIPv6 } from 'node:net'
import { DataHeader, FLAG_REPLY, KIND_CONTROL, KIND_DATA, KIND_NETWORK_VERSION, KIND_PROBE, OFF_HOPS, OFF_PATH_INDEX, decodeDataHeader } from '../wire/data.js'
import { nameId } from '../wire/ids.js'
import { DropCounts, L3Counters, Traffic, cryptoDropName, headerDropName } from './counters.js'
import { ServiceState, type RelayContext } from './context.js'
import { ExitSide } from './exit.js'
import { IngressSide } from './ingress.js'
import { L3Exit } from './l3-exit.js'
import { L3Ingress, MissingTunError } from './l3-ingress.js'
import { PathEnds } from './path-ends.js'
import { StaticPaths, type PathProvider } from './paths.js'
import { TransitOffload } from './transit-offload.js'

/** A peer relay as the data plane sees it (crypto/ has its own per-peer session state). */
export interface OverlayPeer {
  index: number
  id: string
  node: number
  endpoint: PeerAddress
  traffic: Traffic
}

/** Receives the control-plane kinds of overlay packets (probes, map floods). */
export interface ControlPlaneSink {
  /** `body` is the payload after the kind byte; valid only during the call. */
  onProbe(peer: OverlayPeer, body: Buffer, nowMs: number): void
  onControl(peer: OverlayPeer, body: Buffer, nowMs: number): void
}

/** Receives network-version messages (kind 4; control/version-bridge.ts). */
export interface VersionSink {
  /** `body` is the payload after the kind byte; valid only during the call. */
  onNetworkVersion(peer: OverlayPeer, body: Buffer, nowMs: number): void
}

/** What the relay tells its crypto endpoint: the private key is the builder's (node/), never the data plane's. */
export type RelayEndpointOptions = Omit<SecureEndpointOptions, 'privateKey'>

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
   * (transit-offload.ts; one worker only); default true unless OVERPASS_TRANSIT=off.
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
  /** Datagram handler exceptions so far (each one dropped and counted; the first few logged). */
  private handlerErrors = 0
  readonly ipv6Underlay: boolean
  readonly peers: OverlayPeer[]
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
  private readonly ends: PathEnds
  private readonly ingress: IngressSide
  private readonly exit: ExitSide
  private readonly l3: L3Side | undefined
  private readonly hdr = new DataHeader()
  private readonly timers: Timers
  private readonly tickMs: number
  private socket: PacketSocket | undefined
  private tickTimer: TimerHandle | undefined
  private lastSweepMs = 0
  private readonly startedMs: number
  private controlSink: ControlPlaneSink | undefined
  private versionSink: VersionSink | undefined
  private readonly nativeTransit: boolean
  /** The live keypairs of each peer, as the endpoint last handed them (for a transit table made later). */
  private readonly liveKeys: (LiveKeys | undefined)[] = []
  private transit: TransitOffload | undefined

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
    this.ipv6Underlay = isIPv6(cfg.listen.host) || cfg.peers.some((p) => isIPv6(p.endpoint.host))
    this.peers = cfg.peers.map((p, index) => ({
      index,
      id: p.id,
      node: nameId(p.id),
      endpoint: { address: p.endpoint.host, port: p.endpoint.port },
      traffic: new Traffic(),
    }))
    for (const p of this.peers) {
      let byPort = this.peerBySource.get(p.endpoint.address)
      if (byPort === undefined) this.peerBySource.set(p.endpoint.address, (byPort = new Map()))
      byPort.set(p.endpoint.port, p)
      this.peerByNode.set(p.node, p)
    }
    this.services = cfg.services.map((s) => new ServiceState(s.cfg, nameId(s.cfg.name), s.isIngress, s.isExit))
    for (const s of this.services) this.serviceById.set(s.id, s)
    this.ends = new PathEnds(this.services)
    this.endpoint = deps.makeEndpoint({
      // The address is the one onOverlayDatagram matches the peer by: handshake cookies are bound to it.
      peers: this.peers.map((p, i) => ({ index: i, publicKey: cfg.peers[i].publicKey, address: `${p.endpoint.address}:${p.endpoint.port}` })),
      transmit: (peer, data, length) => this.transmit(peer, data, length),
      onSessionUp: (peer) => this.log.info('session up', { peer: this.peers[peer].id }),
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
    this.scheduleTick()
  }

  stop(): void {
    if (this.tickTimer !== undefined) this.timers.clearTimeout(this.tickTimer)
    this.tickTimer = undefined
    this.transit?.drain()
    this.socket?.attachTransit?.(null)
    this.transit = undefined
    this.ingress.close()
    this.exit.close()
    this.l3?.tun.onPacket(() => {})
    this.socket?.close()
    this.socket = undefined
  }

  /**
   * The native transit fast path, when the overlay socket has one and this
   * is the only worker (with several, lanes other than a worker's own are
   * not its to seal on; the table seals on lane 0 only).
   */
  private startTransit(socket: PacketSocket): void {
    if (!this.nativeTransit || socket.attachTransit === undefined || this.laneCount !== 1) return
    const transit = TransitOffload.create({
      selfNode: this.selfNode,
      family: isIPv6(this.plane.listen.host) ? 6 : 4,
      peers: this.peers.map((p) => ({
        node: p.node,
        endpoint: p.endpoint,
        traffic: p.traffic,
        matchedBySource: this.peerBySource.get(p.endpoint.address)?.get(p.endpoint.port) === p,
      })),
      endpoint: this.endpoint,
      rekeyAfterPackets: this.plane.rekeyAfterPackets,
      rejectAfterPackets: DEFAULT_REJECT_AFTER_PACKETS,
      nowMs: this.clock.nowMs(),
    })
    if (transit === undefined) return
    this.transit = transit
    this.liveKeys.forEach((keys, peer) => keys !== undefined && transit.keysChanged(peer, keys))
    socket.attachTransit(transit.table)
  }

  attachControlPlane(sink: ControlPlaneSink): void {
    this.controlSink = sink
  }

  attachVersionSink(sink: VersionSink): void {
    this.versionSink = sink
  }

  peerById(id: string): OverlayPeer | undefined {
    return this.peers.find((p) => p.id === id)
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
      this.drops.add('handler_error')
      if (++this.handlerErrors <= 10) this.log.error('overlay datagram handler failed; datagram dropped', { error: err instanceof Error ? err.message : String(err) })
    }
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
    const plain = this.endpoint.plaintext()
    if (n === 0) return
    const kind = plain[0]
    if (kind === KIND_DATA) this.onData(peer, plain, n)
    else if (kind === KIND_PROBE) this.controlSink?.onProbe(peer, plain.subarray(1, n), now)
    else if (kind === KIND_CONTROL) this.controlSink?.onControl(peer, plain.subarray(1, n), now)
    else if (kind === KIND_NETWORK_VERSION) this.versionSink?.onNetworkVersion(peer, plain.subarray(1, n), now)
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
      else this.exit.deliverForward(service, hdr, plain, length)
    } else if (service.cfg.mode === 'l3') service.drops.add('l3_reply_flag')
    else if (!service.isIngress) service.drops.add('not_ingress')
    else if (!this.ends.isExit(service, hdr.path[0])) service.drops.add('not_from_exit')
    else this.ingress.deliverReply(hdr, plain, length)
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
    if (this.socket !== undefined && this.socket.send(data, 0, length, p.endpoint.port, p.endpoint.address)) {
      p.traffic.tx(length)
    } else this.drops.add('send_failed')
  }

  // --- timers ----------------------------------------------------------

  private scheduleTick(): void {
    this.tickTimer = this.timers.setTimeout(() => {
      const now = this.clock.nowMs()
      this.transit?.drain()
      this.endpoint.tick(now)
      if (now - this.lastSweepMs >= 1000) {
        this.lastSweepMs = now
        this.ingress.sweep(now)
        this.exit.sweep(now)
        this.l3?.ingress.sweep(now)
        this.l3?.exit.sweep(now)
      }
      this.scheduleTick()
    }, this.tickMs)
  }

  // --- status ----------------------------------------------------------

  stats(): RelayStats {
    this.transit?.drain()
    const now = this.clock.nowMs()
    const cryptoStats = (this.endpoint as { stats?: () => unknown }).stats?.()
    return {
      relay: this.selfId,
      uptime_s: Math.round((now - this.startedMs) / 1000),
      crypto_backend: this.endpoint.backendName,
      peers: Object.fromEntries(
        this.peers.map((p) => [
          p.id,
          { endpoint: `${p.endpoint.address}:${p.endpoint.port}`, session: this.endpoint.hasSession(p.index), ...p.traffic.toJSON() },
        ]),
      ),
      services: Object.fromEntries(
        this.services.map((s) => [
          s.cfg.name,
          {
            roles: [s.isIngress ? 'ingress' : '', s.isExit ? 'exit' : ''].filter(Boolean),
            ingress_flows: s.ingressFlows,
            exit_flows: s.exitFlows,
            flow_exit_moves: s.flowExitMoves,
            client: s.client.toJSON(),
            origin: s.origin.toJSON(),
            drops: s.drops.toJSON(),
          },
        ]),
      ),
      drops: this.drops.toJSON(),
      ...(this.l3 !== undefined && this.plane.l3 !== undefined
        ? { l3: { tun: this.l3.tun.name, mtu: this.plane.l3.mtu, flows: this.l3.ingress.activeFlows(), ...this.l3.counters.toJSON() } }
        : {}),
      crypto: cryptoStats,
      ...optional('overlay_socket', this.socket?.stats?.()),
      ...optional('native_transit', this.transit && { forwarded: this.transit.forwarded, peers_matched: this.transit.peersMatched() }),
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
  services: Record<string, { roles: string[]; ingress_flows: number; exit_flows: number; flow_exit_moves?: number; client: Record<string, number>; origin: Record<string, number>; drops: Record<string, number> }>
  drops: Record<string, number>
  /** TUN and ICMP counters, when the relay has an `l3:` section (L3 drops are in `drops` and per service). */
  l3?: { tun: string; mtu: number; flows: number } & Record<string, number | string>
  crypto?: unknown
  /** The overlay socket's own counters (the batched native socket keeps them). */
  overlay_socket?: Record<string, number>
  /** Datagrams the native transit fast path forwarded (already counted in peers and crypto too), when it runs. */
  native_transit?: { forwarded: number; peers_matched: number }
  /** The same for each ingress service socket, by `service@host:port` (absent on node:dgram). */
  service_sockets?: Record<string, Record<string, number>>
  /** The exit's per-flow origin sockets, summed over all flows since start (absent on node:dgram). */
  origin_sockets?: Record<string, number>
}

/** `{ [key]: value }`, or nothing when there is no value: optional sections of the stats. */
function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value !== undefined ? ({ [key]: value } as Record<K, V>) : {}
}
