/**
 * The L3 exit: a forward packet of a `mode: l3` service reached the end of
 * its path here. Its payload is an IP packet; the exit writes it, unchanged,
 * into its own TUN and the kernel routes it out the CNI side (so the origin
 * sees the real client address, and routing, neighbour resolution and
 * fragmentation are the kernel's).
 *
 * Before writing, the payload must parse and its destination must lie in
 * the service's own prefixes: an authenticated peer could otherwise make
 * this relay inject any packet to any address (l3_dst_not_owned). Its
 * source must lie in a site prefix of the packet's ingress relay, `path[0]`
 * (source-check.ts): one branch cannot speak for another (l3_src_not_ingress).
 * Redundant (two-path) copies are deduplicated per (ingress, flow).
 */
import type { TunDevice } from '../io/index.js'
import { IpPacket, NO_MATCH, PrefixTable, parseIpPacket } from '../l3/index.js'
import { FLAG_REDUNDANT, type DataHeader } from '../wire/data.js'
import type { ServiceState } from './context.js'
import type { DropCounts, L3Counters } from './counters.js'
import { L3_PARSE_DROP } from './l3-ingress.js'
import { SeqWindow } from './seq-window.js'
import { SourceOwners } from './source-check.js'

interface DedupEntry {
  readonly service: ServiceState
  readonly seen: SeqWindow
  lastSeenMs: number
}

export class L3Exit {
  /** Per service this relay exits: its prefixes only (a longer prefix of another service must not hide a match). */
  private readonly owned = new Map<ServiceState, PrefixTable>()
  private readonly sources: SourceOwners
  private readonly pkt = new IpPacket()
  /** Redundant flows by ingress relay, then flow id. */
  private readonly dedup = new Map<number, Map<number, DedupEntry>>()

  constructor(
    services: readonly ServiceState[],
    private readonly tun: TunDevice,
    private readonly counters: L3Counters,
    private readonly drops: DropCounts,
  ) {
    for (const s of services) {
      if (!s.isExit) continue
      const table = new PrefixTable()
      for (const p of s.cfg.prefixes) table.insert(p, 0)
      this.owned.set(s, table)
    }
    this.sources = new SourceOwners(services.map((s) => s.cfg))
  }

  /** Delivers the IP packet in plain[hdr.payloadOffset, length) into the TUN. */
  deliverForward(service: ServiceState, hdr: DataHeader, plain: Buffer, length: number, nowMs: number): void {
    const off = hdr.payloadOffset
    const pkt = this.pkt
    const n = parseIpPacket(plain, off, length - off, pkt)
    if (n < 0) {
      service.drops.add(L3_PARSE_DROP[n] ?? 'l3_malformed')
      return
    }
    const table = this.owned.get(service)
    if (table === undefined || table.lookupDst(plain, pkt) === NO_MATCH) {
      service.drops.add('l3_dst_not_owned')
      return
    }
    if (!this.sources.ownedBy(hdr.path[0], plain, pkt)) {
      service.drops.add('l3_src_not_ingress')
      return
    }
    if ((hdr.flags & FLAG_REDUNDANT) !== 0 && this.isCopy(service, hdr, nowMs)) {
      service.drops.add('duplicate')
      return
    }
    if (this.tun.write(plain, off, n)) {
      service.origin.tx(n)
      this.counters.tunOut.tx(n)
    } else this.drops.add('l3_tun_write_failed')
  }

  private isCopy(service: ServiceState, hdr: DataHeader, nowMs: number): boolean {
    const ingress = hdr.path[0]
    let byFlow = this.dedup.get(ingress)
    if (byFlow === undefined) this.dedup.set(ingress, (byFlow = new Map()))
    let entry = byFlow.get(hdr.flow)
    if (entry === undefined || entry.service !== service) {
      if (entry !== undefined) entry.service.exitFlows--
      entry = { service, seen: new SeqWindow(), lastSeenMs: nowMs }
      byFlow.set(hdr.flow, entry)
      service.exitFlows++
    }
    entry.lastSeenMs = nowMs
    return !entry.seen.accept(hdr.seq)
  }

  sweep(nowMs: number): void {
    for (const [ingress, byFlow] of this.dedup) {
      for (const [id, e] of byFlow) {
        if (nowMs - e.lastSeenMs <= e.service.cfg.flowIdleTimeoutMs) continue
        byFlow.delete(id)
        e.service.exitFlows--
      }
      if (byFlow.size === 0) this.dedup.delete(ingress)
    }
  }
}
