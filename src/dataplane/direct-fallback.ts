/**
 * `fallback: direct` (docs/operating.md, "Direct fallback"). While an ingress
 * has no overlay path to any exit of a service, each of the service's flows
 * goes straight from this relay to the origin over the Internet, from a
 * socket of its own (a "direct leg"), and the origin's answers go back to the
 * client from the service socket, as overlay replies do. When a path is back,
 * the flow returns to the overlay; its leg stays open for LINGER_MS so that
 * answers already on their way still reach the client, then closes.
 *
 * What the origin sees: while a flow is direct, its datagrams come from this
 * relay's address and the leg's port instead of the exit's (a new 5-tuple).
 * With `delivery: proxy-protocol` each still carries the PROXY v2 header with
 * the client's address, built here as the exit builds it.
 *
 * Per packet on a direct flow: one property read, one send (plus one copy for
 * the PROXY header); sockets open once per flow, never per packet.
 */
import { isIPv6 } from 'node:net'
import type { PacketSocket, PeerAddress } from '../io/index.js'
import { decodeClientAddr } from '../wire/client-addr.js'
import { bytesToIp, ipToBytes } from '../wire/ip-address.js'
import type { RelayContext, ServiceState } from './context.js'
import { buildProxyV2Header } from './proxy-protocol.js'

/** How long a leg stays open after its flow went back to the overlay, for answers in flight. */
export const LINGER_MS = 2000
const OPEN = Infinity

export interface DirectLeg {
  socket: PacketSocket
  /** OPEN while the flow is direct; else when the leg closes (this relay's clock). */
  closeAtMs: number
  proxyHeader: Buffer | undefined
}

/** What the fallback needs of an ingress flow (dataplane/ingress.ts IngressFlow). */
export interface DirectFlow {
  clientAddress: string
  clientPort: number
  /** The encoded client address (PROXY protocol services), as the overlay carries it. */
  clientAddr: Buffer | undefined
  lastSeenMs: number
  direct?: DirectLeg
  listener: { socket: PacketSocket; service: ServiceState }
}

export class DirectFallback {
  private readonly legs = new Map<DirectFlow, DirectLeg>()
  private readonly out = Buffer.allocUnsafe(4096)

  constructor(
    private readonly ctx: RelayContext,
    /** An answer from the origin reached the client of `flow` (the ingress marks the flow established). */
    private readonly onAnswered: (flow: DirectFlow) => void,
  ) {}

  /** Sends one client datagram of `flow` straight to the origin, opening its leg first if needed. */
  send(flow: DirectFlow, data: Buffer): void {
    const service = flow.listener.service
    let leg = flow.direct
    if (leg === undefined) leg = this.open(flow)
    else if (leg.closeAtMs !== OPEN) {
      leg.closeAtMs = OPEN
      service.directFlows++
    }
    const origin = service.cfg.origin
    let ok: boolean
    if (leg.proxyHeader === undefined) ok = leg.socket.send(data, 0, data.length, origin.port, origin.host)
    else {
      const h = leg.proxyHeader.copy(this.out, 0)
      data.copy(this.out, h)
      ok = leg.socket.send(this.out, 0, h + data.length, origin.port, origin.host)
    }
    if (ok) service.direct.tx(data.length)
    else service.drops.add('send_failed')
  }

  /** The overlay has a path again: `flow` leaves its leg, which closes LINGER_MS later. */
  leave(flow: DirectFlow, nowMs: number): void {
    const leg = flow.direct
    if (leg === undefined || leg.closeAtMs !== OPEN) return
    leg.closeAtMs = nowMs + LINGER_MS
    flow.listener.service.directFlows--
  }

  /** The flow is gone (idle or evicted): its leg closes now. */
  forget(flow: DirectFlow): void {
    const leg = flow.direct
    if (leg === undefined) return
    if (leg.closeAtMs === OPEN) flow.listener.service.directFlows--
    leg.socket.close()
    flow.direct = undefined
    this.legs.delete(flow)
  }

  /** Closes legs whose linger ran out. */
  sweep(nowMs: number): void {
    for (const [flow, leg] of this.legs) if (leg.closeAtMs <= nowMs) this.forget(flow)
  }

  close(): void {
    for (const flow of [...this.legs.keys()]) this.forget(flow)
  }

  private open(flow: DirectFlow): DirectLeg {
    const service = flow.listener.service
    const origin = service.cfg.origin
    const any = isIPv6(origin.host) ? '::' : '0.0.0.0'
    const socket = this.ctx.udp.openConnected?.(any, 0, origin.host, origin.port) ?? this.ctx.udp.open(any, 0)
    const leg: DirectLeg = {
      socket,
      closeAtMs: OPEN,
      proxyHeader: flow.clientAddr === undefined ? undefined : buildProxyV2Header(decodeClientAddr(flow.clientAddr, 0)),
    }
    socket.onMessage((data, from) => this.onOriginDatagram(flow, leg, data, from))
    socket.onError((err) => this.ctx.log.warn('direct fallback socket error', { service: service.cfg.name, error: err.message }))
    flow.direct = leg
    this.legs.set(flow, leg)
    service.directFlows++
    return leg
  }

  private onOriginDatagram(flow: DirectFlow, leg: DirectLeg, data: Buffer, from: PeerAddress): void {
    const service = flow.listener.service
    if (flow.direct !== leg) return
    const origin = service.cfg.origin
    if (from.port !== origin.port || (from.address !== origin.host && normalise(from.address) !== normalise(origin.host))) {
      service.drops.add('origin_unexpected_source')
      return
    }
    service.direct.rx(data.length)
    flow.lastSeenMs = this.ctx.clock.nowMs()
    this.onAnswered(flow)
    if (flow.listener.socket.send(data, 0, data.length, flow.clientPort, flow.clientAddress)) service.client.tx(data.length)
    else service.drops.add('send_failed')
  }
}

function normalise(address: string): string {
  const parsed = ipToBytes(address)
  return parsed ? bytesToIp(parsed.bytes) : address
}
