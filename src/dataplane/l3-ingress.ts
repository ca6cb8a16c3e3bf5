/**
 * The L3 ingress: every IP packet the kernel routes into this relay's TUN
 * becomes an overlay data packet of the `mode: l3` service that owns its
 * destination. Pipeline, in order (docs/l3-mode.md, Data plane):
 *
 *   1. parse          -> malformed: drop, count l3_<reason>
 *   2. LPM on dst     -> over every l3 service's prefixes; no match: l3_no_route
 *      source        -> must lie in one of this relay's own sites (source-check.ts);
 *                       else l3_src_not_local
 *   3. forward path   -> the service's path (router or static), as for L4;
 *                        none: no_route; best exit is this relay: l3_local_destination
 *   4. TTL - 1        -> expired: ICMP Time Exceeded back into the TUN
 *      MSS clamp      -> a TCP SYN's MSS option lowered to fit the TUN MTU (l3/mss.ts)
 *   5. size vs MTU    -> DF / IPv6: ICMP too big into the TUN; no DF: fragment or drop
 *   6. flow key       -> flow id and sequence numbers (dedup of redundant copies);
 *                        the flow keeps its exit while it works (flow-exits.ts)
 *   7. encapsulate    -> data header (service id = "this payload is an IP packet
 *                        of service S"), sealed towards path[1]; twice for redundant services
 *
 * Everything here is preallocated; a packet costs no allocation except the
 * first packet of a new flow. Drops are counted, never thrown.
 */
import { randomBytes } from 'node:crypto'
import type { L3Config } from '../config/types.js'
import type { TunDevice } from '../io/index.js'
import {
  FlowKey,
  Fragments,
  ICMPV6_MAX_ERROR_LEN,
  IP_ERROR_NAMES,
  IcmpRateLimiter,
  IpPacket,
  NO_MATCH,
  OversizeAction,
  PrefixTable,
  TTL_EXPIRED,
  buildTimeExceeded,
  buildTooBig,
  clampTcpMss,
  copyBytes,
  copyFlowKey,
  decrementTtl,
  flowKeyEquals,
  flowKeyOf,
  fragmentIpv4,
  icmpErrorAllowed,
  maxMssFor,
  oversizeAction,
  parseIpPacket,
} from '../l3/index.js'
import { FLAG_REDUNDANT, MAX_PATH_RELAYS, dataHeaderLen, encodeDataHeader } from '../wire/data.js'
import type { RelayContext, ServiceState } from './context.js'
import type { L3Counters } from './counters.js'
import type { PathRef } from './paths.js'
import { NO_EXIT, stickyPath } from './flow-exits.js'
import { SourceOwners } from './source-check.js'

/** Drop names for parse failures, built once: `l3_` + IP_ERROR_NAMES. */
export const L3_PARSE_DROP: Record<number, string> = Object.fromEntries(
  Object.entries(IP_ERROR_NAMES).map(([code, name]) => [code, `l3_${name}`]),
)

/** The largest IP packet, and room for the fragments of one (up to 64 extra IPv4 headers with options). */
const MAX_IP_PACKET = 65535
const FRAGMENT_BYTES = MAX_IP_PACKET + 64 * 60

/** A relay config with `l3:` was started without a TUN device (a wiring bug, not a packet problem). */
export class MissingTunError extends Error {
  override readonly name = 'MissingTunError'
  constructor(readonly relay: string) {
    super(`relay ${relay} has an l3: section but no TUN device was given to the data plane`)
  }
}

interface L3Flow {
  readonly key: FlowKey
  readonly id: number
  readonly service: ServiceState
  seq: number
  lastSeenMs: number
  /** The exit this flow keeps while it works (flow-exits.ts). */
  exit: number
  /** Next flow in the same hash bucket. */
  next: L3Flow | undefined
}

export class L3Ingress {
  private readonly table = new PrefixTable()
  private readonly sources: SourceOwners
  private readonly pkt = new IpPacket()
  private readonly key = new FlowKey()
  /** Flows by key hash; collisions chain through `next`, compared exactly with flowKeyEquals. */
  private readonly flows = new Map<number, L3Flow>()
  private readonly liveIds = new Set<number>()
  private nextFlowId = 1
  /** Per-process seed: senders must not be able to pick colliding flow keys. */
  private readonly seed = randomBytes(4).readUInt32LE(0)
  private readonly out = Buffer.allocUnsafe(dataHeaderLen(MAX_PATH_RELAYS) + MAX_IP_PACKET)
  private readonly fragBuf = Buffer.allocUnsafe(FRAGMENT_BYTES)
  private readonly frags = new Fragments(64)
  private readonly icmp = Buffer.allocUnsafe(ICMPV6_MAX_ERROR_LEN)
  private readonly icmpLimit = new IcmpRateLimiter()
  /** Configured ICMP source per family, or undefined: then the offending packet's destination is used. */
  private readonly src4: Uint8Array | undefined
  private readonly src6: Uint8Array | undefined
  private readonly dst4 = new Uint8Array(4)
  private readonly dst6 = new Uint8Array(16)
  private readonly mtu: number
  private readonly fragment: boolean
  /** Largest TCP MSS per family that fits the TUN MTU, or 0 when clamping is off. */
  private readonly maxMss4: number
  private readonly maxMss6: number

  constructor(
    private readonly ctx: RelayContext,
    /** Every l3 service; the LPM value is the index in this list. */
    private readonly services: readonly ServiceState[],
    private readonly tun: TunDevice,
    private readonly counters: L3Counters,
    cfg: L3Config,
  ) {
    this.mtu = cfg.mtu
    this.fragment = cfg.oversizeWithoutDf === 'fragment'
    this.maxMss4 = cfg.clampMss ? maxMssFor(cfg.mtu, 4) : 0
    this.maxMss6 = cfg.clampMss ? maxMssFor(cfg.mtu, 6) : 0
    this.src4 = cfg.addresses.find((a) => a.family === 4)?.bytes
    this.src6 = cfg.addresses.find((a) => a.family === 6)?.bytes
    services.forEach((s, i) => {
      for (const p of s.cfg.prefixes) this.table.insert(p, i)
    })
    this.sources = new SourceOwners(services.map((s) => s.cfg))
  }

  /** One packet the kernel routed into the TUN; `buf` is valid only during the call (and is modified: TTL). */
  onTunPacket(buf: Buffer): void {
    this.counters.tunIn.rx(buf.length)
    const pkt = this.pkt
    const n = parseIpPacket(buf, 0, buf.length, pkt)
    if (n < 0) {
      this.ctx.drops.add(L3_PARSE_DROP[n] ?? 'l3_malformed')
      return
    }
    const index = this.table.lookupDst(buf, pkt)
    if (index === NO_MATCH) {
      this.ctx.drops.add('l3_no_route')
      return
    }
    const service = this.services[index]
    service.client.rx(n)
    if (!this.sources.ownedBy(this.ctx.selfNode, buf, pkt)) {
      // A host behind this relay claims another site's (or no site's) address.
      service.drops.add('l3_src_not_local')
      return
    }
    const best = this.ctx.paths.forward(service.cfg)
    if (best === undefined) {
      service.drops.add('no_route')
      return
    }
    if (best.nodes[best.nodes.length - 1] === this.ctx.selfNode) {
      // The kernel sent us a packet for a prefix this relay delivers itself: a route points the wrong way.
      service.drops.add('l3_local_destination')
      return
    }
    if (decrementTtl(buf, 0) === TTL_EXPIRED) {
      service.drops.add('l3_ttl_expired')
      this.icmpError(buf, false)
      return
    }
    const maxMss = pkt.version === 6 ? this.maxMss6 : this.maxMss4
    if (maxMss > 0 && clampTcpMss(buf, pkt, maxMss)) this.counters.mssClamped++
    const action = oversizeAction(pkt, this.mtu, this.fragment)
    if (action === OversizeAction.TooBig) {
      service.drops.add('l3_too_big')
      this.icmpError(buf, true)
      return
    }
    if (action === OversizeAction.Drop) {
      service.drops.add('l3_oversize')
      return
    }
    const flow = this.flowFor(buf, service)
    if (flow === undefined) return
    // The flow's own exit while it works, else the best (then its new exit).
    const path = stickyPath(this.ctx.paths, service, flow) ?? best
    if (action === OversizeAction.Forward) {
      this.send(flow, path, buf, 0, n)
      return
    }
    const count = fragmentIpv4(buf, pkt, this.mtu, this.fragBuf, 0, this.frags)
    if (count < 0) {
      service.drops.add('l3_fragment_failed')
      return
    }
    this.counters.fragmented++
    // Every fragment rides the original packet's flow, so they share a path and stay in order.
    for (let i = 0; i < count; i++) this.send(flow, path, this.fragBuf, this.frags.offsets[i], this.frags.lengths[i])
  }

  private send(flow: L3Flow, path: PathRef, data: Buffer, off: number, len: number): void {
    const seq = flow.seq
    flow.seq = (seq + 1) >>> 0
    if (path.backup === undefined) this.emit(flow, path.nodes, seq, 0, data, off, len)
    else {
      // Both copies carry the flag: the exit deduplicates by (ingress, flow, seq).
      this.emit(flow, path.nodes, seq, FLAG_REDUNDANT, data, off, len)
      this.emit(flow, path.backup.nodes, seq, FLAG_REDUNDANT, data, off, len)
    }
  }

  private emit(flow: L3Flow, nodes: Uint32Array, seq: number, flags: number, data: Buffer, off: number, len: number): void {
    const service = flow.service
    const hdrLen = encodeDataHeader(this.out, flags, this.ctx.hopLimit, service.id, flow.id, seq, nodes, nodes.length)
    data.copy(this.out, hdrLen, off, off + len)
    this.ctx.sendOnPath(this.out, hdrLen + len, nodes[1], service, 0)
  }

  /** The packet's flow (pkt must be parsed); creates it on first sight. Undefined (counted) at the flow limit. */
  private flowFor(buf: Buffer, service: ServiceState): L3Flow | undefined {
    const now = this.ctx.clock.nowMs()
    const hash = flowKeyOf(buf, this.pkt, this.key, this.seed)
    const head = this.flows.get(hash)
    let flow = head
    while (flow !== undefined && !flowKeyEquals(flow.key, this.key)) flow = flow.next
    if (flow === undefined) {
      if (service.ingressFlows >= service.cfg.maxFlows) {
        service.drops.add('flow_limit')
        return undefined
      }
      flow = { key: copyFlowKey(this.key, new FlowKey()), id: this.newFlowId(), service, seq: 0, lastSeenMs: now, exit: NO_EXIT, next: head }
      this.flows.set(hash, flow)
      service.ingressFlows++
    }
    flow.lastSeenMs = now
    return flow
  }

  private newFlowId(): number {
    let id = this.nextFlowId
    while (id === 0 || this.liveIds.has(id)) id = (id + 1) >>> 0
    this.nextFlowId = (id + 1) >>> 0
    this.liveIds.add(id)
    return id
  }

  /** ICMP Time Exceeded or too-big about the parsed packet, written back into the TUN (rate-limited). */
  private icmpError(buf: Buffer, tooBig: boolean): void {
    const pkt = this.pkt
    if (icmpErrorAllowed(buf, pkt, tooBig) < 0) {
      this.ctx.drops.add('l3_icmp_refused')
      return
    }
    if (!this.icmpLimit.allow(this.ctx.clock.nowMs())) {
      this.ctx.drops.add('l3_icmp_rate_limited')
      return
    }
    const src = this.icmpSource(buf)
    const len = tooBig ? buildTooBig(this.icmp, 0, buf, pkt, src, this.mtu) : buildTimeExceeded(this.icmp, 0, buf, pkt, src)
    if (len < 0) {
      this.ctx.drops.add('l3_icmp_refused')
      return
    }
    if (this.tun.write(this.icmp, 0, len)) {
      this.counters.icmpSent++
      this.counters.tunOut.tx(len)
    } else this.ctx.drops.add('l3_tun_write_failed')
  }

  /**
   * The configured TUN address of the packet's family; without one, the
   * packet's own destination. That address is routed into this TUN, so the
   * error passes reverse-path filtering on the way back to the sender, and it
   * is not a local address (which Linux would drop as a martian source).
   */
  private icmpSource(buf: Buffer): Uint8Array {
    const pkt = this.pkt
    const configured = pkt.version === 4 ? this.src4 : this.src6
    if (configured !== undefined) return configured
    const out = pkt.version === 4 ? this.dst4 : this.dst6
    copyBytes(buf, pkt.dstOffset, pkt.dstOffset + pkt.addrLen, out, 0)
    return out
  }

  /** Forgets flows idle for longer than their service's idle timeout (control path, once a second). */
  sweep(nowMs: number): void {
    for (const [hash, head] of this.flows) {
      let keep: L3Flow | undefined
      for (let f: L3Flow | undefined = head; f !== undefined; ) {
        const next: L3Flow | undefined = f.next
        if (nowMs - f.lastSeenMs > f.service.cfg.flowIdleTimeoutMs) {
          f.service.ingressFlows--
          this.liveIds.delete(f.id)
        } else {
          f.next = keep
          keep = f
        }
        f = next
      }
      if (keep === undefined) this.flows.delete(hash)
      else this.flows.set(hash, keep)
    }
  }

  activeFlows(): number {
    return this.liveIds.size
  }
}
