/**
 * The ingress half of a relay: it owns the public service sockets, turns
 * each client (address, port) into a flow, writes the relay path into every
 * packet it sends into the overlay, and hands replies that come back to the
 * right client. Client addresses can be spoofed: which flows the table takes
 * in and gives up is flow-admission.ts.
 */
import type { HostPort, IngressConfig, ServiceConfig } from '../config/types.js'
import type { PacketSocket, PeerAddress } from '../io/index.js'
import { encodeClientAddr } from '../wire/client-addr.js'
import { DataHeader, FLAG_REDUNDANT, encodeDataHeader } from '../wire/data.js'
import { maxServicePayload } from '../wire/mtu.js'
import { isIPv6 } from 'node:net'
import { flowLimitPerWorker, type RelayContext, type ServiceState } from './context.js'
import { FlowAdmission, sourcePrefix } from './flow-admission.js'
import { NO_EXIT, isRedundantReply, stickyPath, type ReplyWindows } from './flow-exits.js'
import { DirectFallback, type DirectLeg } from './direct-fallback.js'

/** An ingress port of a service that a live change could not open (EADDRINUSE, EACCES...). */
export class ServicePortError extends Error {
  override readonly name = 'ServicePortError'
  readonly reason: string
  constructor(readonly service: string, readonly listen: HostPort, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause)
    super(`service ${service}: cannot open ${listen.host}:${listen.port}: ${reason}`)
    this.reason = reason
  }
}

export interface Listener {
  service: ServiceState
  cfg: IngressConfig
  socket: PacketSocket
  /** Largest client datagram this listener forwards. */
  maxPayload: number
  /** Its port left the service in a live change and drains: no new flows, existing ones carry on. */
  draining: boolean
  /** Flows by client address then port: no string is built per packet. */
  flows: Map<string, Map<number, IngressFlow>>
}

export interface IngressFlow {
  id: number
  listener: Listener
  clientAddress: string
  clientPort: number
  lastSeenMs: number
  seq: number
  /** Client-address extension, for services delivered with PROXY protocol. */
  clientAddr: Buffer | undefined
  /** Reply sequence numbers already delivered per exit, once replies arrive on two paths. */
  seen: ReplyWindows | undefined
  /** The exit this flow keeps for its lifetime unless it fails (flow-exits.ts); NO_EXIT before its first routed packet. */
  exit: number
  /** A reply reached the client: the flow is established (flow-admission.ts). */
  replied: boolean
  /** The client's source prefix, counted against the per-prefix cap. */
  prefix: string
  /** Set while (and shortly after) the flow goes straight to the origin (`fallback: direct`). */
  direct?: DirectLeg
}

function listenKey(a: HostPort): string {
  return `${a.host}:${a.port}`
}

/** Flow ids are u32 on the wire. */
const FLOW_ID_SPACE = 0x100000000

export class IngressSide {
  private readonly listeners: Listener[] = []
  private readonly flowsById = new Map<number, IngressFlow>()
  private nextFlowId = 1
  private readonly out = Buffer.allocUnsafe(4096)
  private readonly admission = new Map<ServiceState, FlowAdmission<IngressFlow>>()
  private readonly direct: DirectFallback

  constructor(private readonly ctx: RelayContext, private readonly services: ServiceState[]) {
    for (const s of services) this.admit(s)
    this.direct = new DirectFallback(ctx, (f) => this.answered(f as IngressFlow))
  }

  private admit(s: ServiceState): void {
    const limit = flowLimitPerWorker(s.cfg.maxFlows, this.ctx.laneCount)
    const perPrefix = s.cfg.maxFlowsPerPrefix === undefined ? undefined : flowLimitPerWorker(s.cfg.maxFlowsPerPrefix, this.ctx.laneCount)
    this.admission.set(s, new FlowAdmission<IngressFlow>(limit, (f) => this.forget(f), perPrefix))
  }

  /** Counters of the service sockets that keep them (the batched native socket), by `service@host:port`; undefined on node:dgram. */
  socketStats(): Record<string, Record<string, number>> | undefined {
    let out: Record<string, Record<string, number>> | undefined
    for (const l of this.listeners) {
      const st = l.socket.stats?.()
      if (st !== undefined) (out ??= {})[`${l.service.cfg.name}@${l.cfg.listen.host}:${l.cfg.listen.port}`] = st
    }
    return out
  }

  /** Opens every service socket this relay is an ingress for; rejects if one cannot bind. */
  async start(): Promise<void> {
    for (const service of this.services) this.listeners.push(...(await this.open(service)))
  }

  /**
   * Opens the sockets of a service this relay is an ingress of (those of
   * `next`, the service's new config in a live change, that it does not
   * listen on yet), taking no client in until `add` (a live change opens
   * every new port before it changes anything). Rejects with
   * ServicePortError, every socket it opened closed, when one cannot bind.
   */
  async open(service: ServiceState, next: ServiceConfig = service.cfg): Promise<Listener[]> {
    const out: Listener[] = []
    const open = new Set(this.listeners.filter((l) => l.service === service).map((l) => listenKey(l.cfg.listen)))
    for (const cfg of next.ingress) {
      if (cfg.relay !== this.ctx.selfId || open.has(listenKey(cfg.listen))) continue
      const socket = this.ctx.serviceUdp.open(cfg.listen.host, cfg.listen.port)
      const family = service.cfg.delivery === 'proxy-protocol' ? (isIPv6(cfg.listen.host) ? 6 : 4) : 0
      const listener: Listener = { service, cfg, socket, maxPayload: maxServicePayload(this.ctx.mtu, this.ctx.ipv6Underlay, family), flows: new Map(), draining: false }
      out.push(listener)
      socket.onMessage((data, from) => this.onClientDatagram(listener, data, from))
      socket.onError((err) => this.ctx.log.warn('service socket error', { service: service.cfg.name, error: err.message }))
      let bound: PeerAddress
      try {
        bound = await socket.bound()
      } catch (err) {
        for (const l of out) l.socket.close()
        throw new ServicePortError(service.cfg.name, cfg.listen, err)
      }
      this.ctx.log.info('service listening', { service: service.cfg.name, listen: `${bound.address}:${bound.port}`, max_payload: listener.maxPayload })
    }
    return out
  }

  /** A service added live: its listeners (from `open`) take clients from now on. */
  add(service: ServiceState, listeners: Listener[]): void {
    this.services.push(service)
    this.admit(service)
    this.listeners.push(...listeners)
  }

  /**
   * A kept service's ports after a live change: `opened` (from `open`) take
   * clients from now on; a port no longer in its config drains while
   * `draining` (no new flows), or else closes with its flows.
   */
  relisten(service: ServiceState, opened: Listener[], draining: boolean): void {
    const wanted = new Set(service.cfg.ingress.filter((i) => i.relay === this.ctx.selfId).map((i) => listenKey(i.listen)))
    const gone: Listener[] = []
    for (const l of this.listeners) {
      if (l.service !== service) continue
      // A port that came back (a move undone within its drain) takes new flows again.
      if (wanted.has(listenKey(l.cfg.listen))) l.draining = false
      else if (draining) l.draining = true
      else gone.push(l)
    }
    for (const l of gone) this.closeListener(l)
    this.listeners.push(...opened)
  }

  private closeListener(l: Listener): void {
    for (const byPort of l.flows.values()) for (const flow of byPort.values()) this.forget(flow)
    l.socket.close()
    this.listeners.splice(this.listeners.indexOf(l), 1)
  }

  /** A service that went (after its drain): its sockets close and its flows are forgotten. */
  remove(service: ServiceState): void {
    for (const flow of this.flowsById.values()) if (flow.listener.service === service) this.forget(flow)
    for (const l of this.listeners) if (l.service === service) l.socket.close()
    this.listeners.splice(0, this.listeners.length, ...this.listeners.filter((l) => l.service !== service))
    this.services.splice(0, this.services.length, ...this.services.filter((s) => s !== service))
    this.admission.delete(service)
  }

  /** The hot path for client traffic: one map lookup, one header write, one copy, one seal. */
  private onClientDatagram(listener: Listener, data: Buffer, from: PeerAddress): void {
    const service = listener.service
    service.client.rx(data.length)
    if (data.length > listener.maxPayload) {
      service.drops.add('oversize')
      return
    }
    const now = this.ctx.clock.nowMs()
    let flow = listener.flows.get(from.address)?.get(from.port)
    if (flow === undefined) {
      flow = this.newFlow(listener, from, now)
      if (flow === undefined) return
    }
    flow.lastSeenMs = now
    // The flow's exit while it works, the best one otherwise (flow-exits.ts).
    const path = stickyPath(this.ctx.paths, service, flow)
    if (path === undefined) {
      if (service.cfg.fallback === 'direct') this.direct.send(flow, data)
      else service.drops.add('no_route')
      return
    }
    if (flow.direct !== undefined) this.direct.leave(flow, now)
    const seq = flow.seq
    flow.seq = (seq + 1) >>> 0
    if (path.backup === undefined) this.emit(service, flow, path.nodes, seq, 0, data)
    else {
      // Both copies carry the flag: the exit deduplicates by sequence number.
      this.emit(service, flow, path.nodes, seq, FLAG_REDUNDANT, data)
      this.emit(service, flow, path.backup.nodes, seq, FLAG_REDUNDANT, data)
    }
  }

  private emit(service: ServiceState, flow: IngressFlow, nodes: Uint32Array, seq: number, flags: number, data: Buffer): void {
    const hdrLen = encodeDataHeader(
      this.out, flags, this.ctx.hopLimit, service.id, flow.id, seq, nodes, nodes.length, flow.clientAddr,
    )
    this.ctx.pathMeter?.onSend(this.out, nodes, this.ctx.clock.nowMs())
    data.copy(this.out, hdrLen)
    this.ctx.sendOnPath(this.out, hdrLen + data.length, nodes[1], service, this.ctx.lane)
  }

  private newFlow(listener: Listener, from: PeerAddress, now: number): IngressFlow | undefined {
    const service = listener.service
    if (service.draining || listener.draining) {
      service.drops.add('service_draining')
      return undefined
    }
    const admission = this.admissionOf(service)
    const prefix = sourcePrefix(from.address)
    const room = admission.admit(prefix)
    if (typeof room !== 'number') {
      service.drops.add(room)
      return undefined
    }
    if (room > 0) service.drops.add('flow_evicted', room)
    // Several workers: ids are lane mod laneCount, so the exit (keyed by ingress and id) never mixes two workers' flows.
    const step = this.ctx.laneCount
    let id = this.nextFlowId
    while (this.flowsById.has(id) || id === 0 || id % step !== this.ctx.lane) id = (id + 1) % FLOW_ID_SPACE
    this.nextFlowId = (id + step) % FLOW_ID_SPACE
    const flow: IngressFlow = {
      id,
      listener,
      clientAddress: from.address,
      clientPort: from.port,
      lastSeenMs: now,
      seq: 0,
      clientAddr:
        service.cfg.delivery === 'proxy-protocol'
          ? encodeClientAddr({
              family: 4,
              clientAddress: from.address,
              clientPort: from.port,
              serviceAddress: listener.cfg.listen.host,
              servicePort: listener.cfg.listen.port,
            })
          : undefined,
      seen: undefined,
      exit: NO_EXIT,
      replied: false,
      prefix,
    }
    let byPort = listener.flows.get(from.address)
    if (byPort === undefined) listener.flows.set(from.address, (byPort = new Map()))
    byPort.set(from.port, flow)
    this.flowsById.set(id, flow)
    service.ingressFlows++
    admission.added(flow)
    return flow
  }

  private admissionOf(service: ServiceState): FlowAdmission<IngressFlow> {
    return this.admission.get(service) as FlowAdmission<IngressFlow>
  }

  /** Removes a flow from every table (idle, or given up for a new one). */
  private forget(flow: IngressFlow): void {
    const service = flow.listener.service
    this.flowsById.delete(flow.id)
    const byPort = flow.listener.flows.get(flow.clientAddress)
    byPort?.delete(flow.clientPort)
    if (byPort?.size === 0) flow.listener.flows.delete(flow.clientAddress)
    service.ingressFlows--
    this.admissionOf(service).removed(flow)
    this.direct.forget(flow)
  }

  private answered(flow: IngressFlow): void {
    if (!flow.replied) this.admissionOf(flow.listener.service).replied(flow)
  }

  /** A reply reached its ingress: hand the payload to the flow's client. */
  deliverReply(hdr: DataHeader, plain: Buffer, length: number): void {
    const flow = this.flowsById.get(hdr.flow)
    const service = flow?.listener.service
    if (flow === undefined || service === undefined || service.id !== hdr.service) {
      this.ctx.drops.add('unknown_flow')
      return
    }
    if (isRedundantReply(flow, hdr)) {
      service.drops.add('duplicate')
      return
    }
    flow.lastSeenMs = this.ctx.clock.nowMs()
    if (!flow.replied) this.admissionOf(service).replied(flow)
    const n = length - hdr.payloadOffset
    if (flow.listener.socket.send(plain, hdr.payloadOffset, n, flow.clientPort, flow.clientAddress)) service.client.tx(n)
    else service.drops.add('send_failed')
  }

  /** Forgets flows idle for longer than their idle timeout (shorter until a reply was seen). */
  sweep(nowMs: number): void {
    this.direct.sweep(nowMs)
    for (const flow of this.flowsById.values()) {
      const service = flow.listener.service
      if (nowMs - flow.lastSeenMs > this.admissionOf(service).idleTimeoutMs(flow, service.cfg.flowIdleTimeoutMs)) this.forget(flow)
    }
  }

  activeFlows(): number {
    return this.flowsById.size
  }

  close(): void {
    this.direct.close()
    for (const l of this.listeners) l.socket.close()
  }
}
