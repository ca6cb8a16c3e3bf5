/**
 * The exit half of a relay: for each flow that arrives over the overlay it
 * keeps one UDP socket towards the origin (so the origin's replies map back
 * to the flow, like a NAT), delivers payloads in `proxy` or `proxy-protocol`
 * mode, and sends the origin's replies back along the reply path.
 *
 * Memory: a flow is one dgram socket (about 1.5 KB of heap and native
 * memory, the bulk of it node:dgram's own), one closure, the flow record
 * and a path view into a shared chunk; nothing else is allocated per flow.
 * `npm run bench:memory` measures about 1.6 KB of RSS per flow with the
 * young generation capped as `overpass up` caps it, about 1 KB of that
 * outside the JS heap (docs/performance.md, "Memory at 10k and 100k flows").
 * A flow the native table delivers (exit-offload.ts) adds about 100 bytes
 * there: its entry, two bucket slots and its last-delivery double.
 *
 * Flows come from spoofable clients behind the ingress, so flows the origin
 * has not answered expire early and make room first (flow-admission.ts), and
 * origin sockets stay within a file-descriptor budget.
 */
import { isIPv6 } from 'node:net'
import type { HostPort } from '../config/types.js'
import type { PacketSocket, PeerAddress } from '../io/index.js'
import { decodeClientAddr } from '../wire/client-addr.js'
import { DataHeader, FLAG_REDUNDANT, FLAG_REPLY, MAX_PATH_RELAYS, encodeDataHeader } from '../wire/data.js'
import { ipToBytes, bytesToIp } from '../wire/ip-address.js'
import { maxServicePayload } from '../wire/mtu.js'
import { flowLimitPerWorker, type RelayContext, type ServiceState } from './context.js'
import { DEFAULT_EXIT_SOCKET_BUDGET, FlowAdmission } from './flow-admission.js'
import { ExitOffload } from './exit-offload.js'
import { buildProxyV2Header } from './proxy-protocol.js'
import type { NativeTransitTable } from '../io/native-transit.js'
import { isRedundantCopy, type SeqWindow } from './seq-window.js'

interface ExitFlow {
  service: ServiceState
  /** The origin the flow was opened to: it keeps it when a live change moves the service's origin (it drains). */
  origin: HostPort
  ingressNode: number
  flowId: number
  /** The lane the flow arrived on; its replies go back on it (wire/outer.ts, lanes). */
  lane: number
  socket: PacketSocket
  lastSeenMs: number
  seq: number
  /** False once swept: its path view may belong to another flow by then. */
  open: boolean
  /** The path the latest forward packet took, for providers that reply along it. */
  arrived: Uint32Array
  arrivedLen: number
  /** PROXY v2 header prepended to every datagram (proxy-protocol mode). */
  proxyHeader: Buffer | undefined
  /** Sequence numbers already delivered, for redundant (two-path) services. */
  seen: SeqWindow | undefined
  /** The origin has answered: the flow is established (flow-admission.ts). */
  replied: boolean
  /** Exit flows are not counted by source prefix (the ingress does that). */
  prefix: undefined
  /** Its slot in the native table (exit-offload.ts), or -1: JS delivers it. */
  nativeSlot: number
}

/** Flows sharing one ArrayBuffer for their `arrived` paths. */
const PATHS_PER_CHUNK = 256

/**
 * `arrived` path views into shared chunks: a flow costs one typed-array view
 * instead of a view plus its own ArrayBuffer. Views of closed flows are reused.
 */
class PathViews {
  private readonly free: Uint32Array[] = []
  private chunk = new ArrayBuffer(0)
  private used = PATHS_PER_CHUNK

  take(): Uint32Array {
    const reused = this.free.pop()
    if (reused !== undefined) return reused
    if (this.used === PATHS_PER_CHUNK) {
      this.chunk = new ArrayBuffer(PATHS_PER_CHUNK * MAX_PATH_RELAYS * 4)
      this.used = 0
    }
    return new Uint32Array(this.chunk, this.used++ * MAX_PATH_RELAYS * 4, MAX_PATH_RELAYS)
  }

  release(view: Uint32Array): void {
    this.free.push(view)
  }
}

export class ExitSide {
  /** Flows by ingress relay, then by that ingress's flow id. */
  private readonly flows = new Map<number, Map<number, ExitFlow>>()
  /** Counters of origin sockets already closed (originSocketStats). */
  private readonly closedSocketTotals: Record<string, number> = {}
  private readonly pathViews = new PathViews()
  /** One origin-socket error handler per service, shared by its flows. */
  private readonly errorHandlers = new Map<ServiceState, (err: Error) => void>()
  private readonly toOrigin = Buffer.allocUnsafe(4096)
  private readonly out = Buffer.allocUnsafe(4096)
  /** Each origin's address in one spelling, by the config's HostPort object (a live change brings a new one). */
  private readonly originHost = new WeakMap<HostPort, string>()
  private readonly maxPayload: number
  private readonly admission = new Map<ServiceState, FlowAdmission<ExitFlow>>()
  /** Origin sockets open now, against `socketBudget`. */
  private openSockets = 0
  /** The native delivery of established flows, while the overlay socket runs a transit table (exit-offload.ts). */
  private native: ExitOffload | undefined

  constructor(
    private readonly ctx: RelayContext,
    private readonly socketBudget = DEFAULT_EXIT_SOCKET_BUDGET,
  ) {
    this.maxPayload = maxServicePayload(ctx.mtu, ctx.ipv6Underlay, 0)
  }

  /** A forward packet reached its exit: deliver its payload to the origin. */
  deliverForward(service: ServiceState, hdr: DataHeader, plain: Buffer, length: number): void {
    if (hdr.clientAddrOffset < 0 && service.cfg.delivery === 'proxy-protocol') {
      // Fail closed: sent raw, the payload could carry a PROXY header the client forged.
      service.drops.add('proxy_no_client_addr')
      return
    }
    const ingressNode = hdr.path[0]
    let byFlow = this.flows.get(ingressNode)
    let flow = byFlow?.get(hdr.flow)
    if (flow === undefined) {
      if (service.draining) {
        service.drops.add('service_draining')
        return
      }
      if (!this.makeRoom(service)) return
      flow = this.newFlow(service, hdr, plain)
      if (byFlow === undefined) this.flows.set(ingressNode, (byFlow = new Map()))
      byFlow.set(hdr.flow, flow)
    } else if (flow.service !== service) {
      service.drops.add('unknown_flow')
      return
    }
    if (isRedundantCopy(flow, hdr)) {
      service.drops.add('duplicate')
      return
    }
    flow.lastSeenMs = this.ctx.clock.nowMs()
    // A copy loop, not set(subarray): no view object per packet.
    const arrived = flow.arrived
    for (let i = 0; i < hdr.pathLen; i++) arrived[i] = hdr.path[i]
    flow.arrivedLen = hdr.pathLen
    const origin = flow.origin
    const n = length - hdr.payloadOffset
    let ok: boolean
    if (flow.proxyHeader === undefined) {
      ok = flow.socket.send(plain, hdr.payloadOffset, n, origin.port, origin.host)
    } else {
      const h = flow.proxyHeader.copy(this.toOrigin, 0)
      plain.copy(this.toOrigin, h, hdr.payloadOffset, length)
      ok = flow.socket.send(this.toOrigin, 0, h + n, origin.port, origin.host)
    }
    if (ok) service.origin.tx(n)
    else service.drops.add('send_failed')
    // The flow's next datagrams on this path may be delivered natively (or, if this one could not be, no longer are).
    this.native?.delivered(flow, hdr)
  }

  /**
   * The overlay socket's transit table (or none): established flows'
   * datagrams are delivered natively through it (exit-offload.ts). A new
   * table starts empty; flows register again with their next datagram.
   */
  attachNative(table: NativeTransitTable | undefined): void {
    const old = this.native
    if (old !== undefined) {
      old.drain()
      old.removeAll(this.allFlows())
    }
    this.native = table !== undefined && this.ctx.pathMeter !== undefined ? new ExitOffload(table, this.ctx.pathMeter) : undefined
  }

  /** Moves what the native delivery counted into the services' counters (each relay tick and stats call). */
  drainNative(): void {
    this.native?.drain()
  }

  /** A change of services (their checks may now decide otherwise): every flow goes back to JS until its next datagram there. */
  clearNative(): void {
    this.native?.removeAll(this.allFlows())
  }

  private *allFlows(): Generator<ExitFlow> {
    for (const byFlow of this.flows.values()) yield* byFlow.values()
  }

  /** Each flow's state as delivery left it (tests compare the native delivery's against the TypeScript path's). */
  flowStates(): { ingressNode: number; flowId: number; service: string; lastSeenMs: number; arrived: number[] }[] {
    const out = []
    for (const byFlow of this.flows.values()) {
      for (const flow of byFlow.values()) {
        this.native?.syncSeen(flow)
        out.push({ ingressNode: flow.ingressNode, flowId: flow.flowId, service: flow.service.cfg.name, lastSeenMs: flow.lastSeenMs, arrived: Array.from(flow.arrived.subarray(0, flow.arrivedLen)) })
      }
    }
    return out
  }

  /** Room for one more flow of `service` (its max_flows, then the socket budget); false: refused and counted. */
  private makeRoom(service: ServiceState): boolean {
    const admission = this.admissionOf(service)
    const room = admission.admit(undefined)
    if (typeof room !== 'number') {
      service.drops.add(room)
      return false
    }
    let gaveUp = room
    if (this.openSockets >= this.socketBudget) {
      if (!admission.giveUpOldest()) {
        service.drops.add('exit_socket_budget')
        return false
      }
      gaveUp++
    }
    if (gaveUp > 0) service.drops.add('flow_evicted', gaveUp)
    return true
  }

  private admissionOf(service: ServiceState): FlowAdmission<ExitFlow> {
    let a = this.admission.get(service)
    if (a === undefined) {
      a = new FlowAdmission<ExitFlow>(flowLimitPerWorker(service.cfg.maxFlows, this.ctx.laneCount), (f) => this.forget(f))
      this.admission.set(service, a)
    }
    return a
  }

  /** Closes a flow and removes it from every table (idle, or given up for a new one). */
  private forget(flow: ExitFlow): void {
    this.closeFlow(flow)
    const byFlow = this.flows.get(flow.ingressNode)
    byFlow?.delete(flow.flowId)
    if (byFlow?.size === 0) this.flows.delete(flow.ingressNode)
    flow.service.exitFlows--
    this.admissionOf(flow.service).removed(flow)
  }

  private newFlow(service: ServiceState, hdr: DataHeader, plain: Buffer): ExitFlow {
    const origin = service.cfg.origin
    const any = isIPv6(origin.host) ? '::' : '0.0.0.0'
    // A connected socket (when the factory has one) lets the kernel filter other sources and saves the per-datagram dgram cost.
    const socket = this.ctx.udp.openConnected?.(any, 0, origin.host, origin.port) ?? this.ctx.udp.open(any, 0)
    const flow: ExitFlow = {
      service,
      origin,
      ingressNode: hdr.path[0],
      flowId: hdr.flow,
      lane: this.ctx.rxLane,
      socket,
      lastSeenMs: this.ctx.clock.nowMs(),
      seq: 0,
      open: true,
      arrived: this.pathViews.take(),
      arrivedLen: 0,
      proxyHeader:
        service.cfg.delivery === 'proxy-protocol' && hdr.clientAddrOffset >= 0
          ? buildProxyV2Header(decodeClientAddr(plain, hdr.clientAddrOffset))
          : undefined,
      seen: undefined,
      replied: false,
      prefix: undefined,
      nativeSlot: -1,
    }
    socket.onMessage((data, from) => this.onOriginDatagram(flow, data, from))
    socket.onError(this.errorHandler(service))
    service.exitFlows++
    this.openSockets++
    this.admissionOf(service).added(flow)
    return flow
  }

  private errorHandler(service: ServiceState): (err: Error) => void {
    let handler = this.errorHandlers.get(service)
    if (handler === undefined) {
      handler = (err) => this.ctx.log.warn('origin socket error', { service: service.cfg.name, error: err.message })
      this.errorHandlers.set(service, handler)
    }
    return handler
  }

  /** The origin answered a flow: send the reply back along the reply path. */
  private onOriginDatagram(flow: ExitFlow, data: Buffer, from: PeerAddress): void {
    const service = flow.service
    if (!flow.open) return
    if (
      from.port !== flow.origin.port ||
      (from.address !== flow.origin.host && normalise(from.address) !== this.originAddress(flow.origin))
    ) {
      service.drops.add('origin_unexpected_source')
      return
    }
    service.origin.rx(data.length)
    if (data.length > this.maxPayload) {
      service.drops.add('oversize')
      return
    }
    flow.lastSeenMs = this.ctx.clock.nowMs()
    if (!flow.replied) this.admissionOf(service).replied(flow)
    const path = this.ctx.paths.reply(service.cfg, flow.ingressNode, flow.arrived, flow.arrivedLen)
    if (path === undefined) {
      service.drops.add('no_route')
      return
    }
    const seq = flow.seq
    flow.seq = (seq + 1) >>> 0
    if (path.backup === undefined) this.emit(service, flow, path.nodes, seq, FLAG_REPLY, data)
    else {
      this.emit(service, flow, path.nodes, seq, FLAG_REPLY | FLAG_REDUNDANT, data)
      this.emit(service, flow, path.backup.nodes, seq, FLAG_REPLY | FLAG_REDUNDANT, data)
    }
  }

  private emit(service: ServiceState, flow: ExitFlow, nodes: Uint32Array, seq: number, flags: number, data: Buffer): void {
    const hdrLen = encodeDataHeader(this.out, flags, this.ctx.hopLimit, service.id, flow.flowId, seq, nodes, nodes.length)
    this.ctx.pathMeter?.onSend(this.out, nodes, this.ctx.clock.nowMs())
    data.copy(this.out, hdrLen)
    this.ctx.sendOnPath(this.out, hdrLen + data.length, nodes[1], service, flow.lane)
  }

  private originAddress(origin: HostPort): string {
    let host = this.originHost.get(origin)
    if (host === undefined) this.originHost.set(origin, (host = normalise(origin.host)))
    return host
  }

  /** A service that went (after its drain): its flows close and every table forgets it. */
  remove(service: ServiceState): void {
    for (const byFlow of this.flows.values()) for (const flow of byFlow.values()) if (flow.service === service) this.forget(flow)
    this.admission.delete(service)
    this.errorHandlers.delete(service)
    this.native?.forgetService(service)
  }

  /** The end of a moved origin's drain: flows still sending to an origin other than the service's now close. */
  dropOtherOrigins(service: ServiceState): void {
    const now = service.cfg.origin
    for (const byFlow of this.flows.values()) {
      for (const flow of byFlow.values()) if (flow.service === service && (flow.origin.host !== now.host || flow.origin.port !== now.port)) this.forget(flow)
    }
  }

  /** Closes flows idle for longer than their idle timeout (shorter until the origin answered). */
  sweep(nowMs: number): void {
    for (const byFlow of this.flows.values()) {
      for (const flow of byFlow.values()) {
        this.native?.syncSeen(flow)
        const idleMs = this.admissionOf(flow.service).idleTimeoutMs(flow, flow.service.cfg.flowIdleTimeoutMs)
        if (nowMs - flow.lastSeenMs > idleMs) this.forget(flow)
      }
    }
  }

  private closeFlow(flow: ExitFlow): void {
    if (!flow.open) return
    // Out of the native table before its socket closes: native code must never send on a closed socket.
    this.native?.remove(flow)
    this.openSockets--
    flow.open = false
    const st = flow.socket.stats?.()
    if (st !== undefined) addCounters(this.closedSocketTotals, st)
    flow.socket.close()
    this.pathViews.release(flow.arrived)
  }

  /**
   * The origin sockets' own counters summed over every flow since start
   * (closed flows included), when the sockets keep any (the native
   * connected ones do): e.g. rxErrors / txErrors count ICMP unreachable
   * from a down origin. Control path: walks the live flows.
   */
  originSocketStats(): Record<string, number> | undefined {
    const total: Record<string, number> = { ...this.closedSocketTotals }
    for (const byFlow of this.flows.values()) {
      for (const flow of byFlow.values()) {
        const st = flow.socket.stats?.()
        if (st !== undefined) addCounters(total, st)
      }
    }
    return Object.keys(total).length > 0 ? total : undefined
  }

  activeFlows(): number {
    let n = 0
    for (const byFlow of this.flows.values()) n += byFlow.size
    return n
  }

  close(): void {
    for (const byFlow of this.flows.values()) for (const flow of byFlow.values()) this.closeFlow(flow)
    this.flows.clear()
  }
}

/** Adds counters into a total; the errno of the last error is not a count, so the latest non-zero one is kept. */
function addCounters(total: Record<string, number>, st: Record<string, number>): void {
  for (const [k, v] of Object.entries(st)) {
    if (k === 'txLastErrno') {
      if (v !== 0) total[k] = v
      else total[k] ??= 0
    } else total[k] = (total[k] ?? 0) + v
  }
}

function normalise(address: string): string {
  const parsed = ipToBytes(address)
  return parsed ? bytesToIp(parsed.bytes) : address
}
