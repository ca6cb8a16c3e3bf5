/**
 * Path reports at run time (docs/routing.md, "Path reports"): every
 * REPORT_INTERVAL_MS a relay tells each far end of its L4 paths (an exit
 * tells its ingresses about forward data, an ingress its exits about
 * replies) what it received from it; the sender of that data decodes the
 * report strictly, checks it against its own send counters and the map
 * (path-check.ts), and demotes paths in its router. Reports go only to
 * configured peers, straight between the two ends (not through the relays
 * being judged), and a malformed or unexpected report is dropped and counted
 * by reason.
 *
 * With `relay.workers` > 1 only worker 0's flows are measured (on the same
 * lane at both ends, so the counts still match): a sample of the traffic.
 */
import type { RelayConfig } from '../config/types.js'
import type { PathMeter } from '../dataplane/path-meter.js'
import type { Logger } from '../io/log.js'
import type { OverlayPeer, Relay } from '../dataplane/relay.js'
import type { PathChecksView, Router } from '../route/types.js'
import { nameId } from '../wire/ids.js'
import { decodePathReport, encodePathReport, KIND_PATH_REPORT, MAX_REPORT_ENTRIES, MAX_REPORT_LEN, REPORT_ERROR_NAMES } from '../wire/path-report.js'
import { PathCheck, type Verdict } from './path-check.js'

export type { PathChecksView }

/** An exit reports to each ingress this often: two reports a second keep the 3 s target with a 1.5 s window. */
export const REPORT_INTERVAL_MS = 500
/** Demotions `overpass routes` lists. */
const RECENT_DEMOTIONS_SHOWN = 20

export type PathReportTransport = Pick<Relay, 'peerById' | 'sendPlain' | 'drops'> & { pathMeter: PathMeter }


export class PathReports {
  private readonly check = new PathCheck()
  private readonly out = Buffer.allocUnsafe(1 + MAX_REPORT_LEN)
  /** The far ends of this relay's paths that are peers: it reports to them and takes reports from them. */
  private reportTo: { id: string; node: number; seq: number }[] | undefined
  private acceptFrom = new Set<number>()
  private readonly selfNode: number
  private nextReportMs = -Infinity
  private readonly recent: Omit<PathChecksView['recent'][number], 'ago_ms'>[] = []
  readonly counts = { reports_sent: 0, reports_received: 0 }

  constructor(
    private readonly relay: PathReportTransport,
    /** Read at each use: a live config change hands over to a new router (RouterBridge.handOver). */
    private readonly routerNow: () => Router,
    config: RelayConfig,
    private readonly names: (nodes: Uint32Array) => string[],
    /** Every demotion is logged: it moves flows off a path the map calls fine, and operators must be able to see why. */
    private readonly log?: Logger,
  ) {
    this.selfNode = nameId(config.relay.id)
    this.reconfigure(config)
  }

  /** Whom to report to and accept reports from: this relay's path ends among its peers (again after a live change). */
  reconfigure(config: RelayConfig): void {
    const self = config.relay.id
    const peers = new Set(config.peers.map((p) => p.id))
    // The far ends of this relay's L4 paths: its services' exits (forward) and, where it is an exit, their ingresses (reply).
    const ends = new Set<string>()
    for (const s of config.services) {
      if (s.mode === 'l3') continue
      const ingresses = s.ingress.map((i) => i.relay)
      if (s.exits.includes(self)) for (const i of ingresses) ends.add(i)
      if (ingresses.includes(self)) for (const e of s.exits) ends.add(e)
    }
    ends.delete(self)
    const peerEnds = [...ends].filter((id) => peers.has(id))
    const seqs = new Map((this.reportTo ?? []).map((r) => [r.id, r.seq]))
    this.reportTo = peerEnds.map((id) => ({ id, node: nameId(id), seq: seqs.get(id) ?? 0 }))
    this.acceptFrom = new Set(peerEnds.map(nameId))
  }

  /** When tick() next sends reports. */
  get nextDueMs(): number {
    return this.nextReportMs
  }

  /** Called on every bridge tick: sends the reports when due. */
  tick(nowMs: number): void {
    if (nowMs < this.nextReportMs) return
    this.nextReportMs = nowMs + REPORT_INTERVAL_MS
    for (const r of this.reportTo ?? []) {
      const peer = this.relay.peerById(r.id)
      if (peer === undefined) continue
      const entries = this.relay.pathMeter.takeEntries(r.node, MAX_REPORT_ENTRIES)
      r.seq = (r.seq + 1) >>> 0
      this.out[0] = KIND_PATH_REPORT
      const len = 1 + encodePathReport(this.out.subarray(1), { reporter: this.selfNode, seq: r.seq, entries })
      if (this.relay.sendPlain(peer, this.out, len)) this.counts.reports_sent++
    }
  }

  /** A report body (after the kind byte) from `peer`. */
  onReport(peer: OverlayPeer, body: Buffer, nowMs: number): void {
    const r = decodePathReport(body)
    if (typeof r === 'number') {
      this.relay.drops.add('path_report_malformed')
      this.relay.drops.add(`path_report_malformed_${REPORT_ERROR_NAMES[r] ?? -r}`)
      return
    }
    if (r.reporter !== peer.node) {
      this.relay.drops.add('path_report_wrong_sender')
      return
    }
    if (!this.acceptFrom.has(peer.node)) {
      this.relay.drops.add('path_report_unexpected')
      return
    }
    this.counts.reports_received++
    const meter = this.relay.pathMeter
    const predict = (nodes: Uint32Array) => this.routerNow().predictPath?.(this.names(nodes))
    for (const v of this.check.onReport(nowMs, peer.node, r, meter.sendSlots(), predict)) this.demote(nowMs, v)
    this.check.retain(new Set([...meter.sendSlots()].map((s) => s.key)))
  }

  private demote(nowMs: number, v: Verdict): void {
    const path = this.names(v.nodes)
    if (this.routerNow().demotePath?.(nowMs, path, nowMs + v.holdMs) !== true) return
    this.recent.push({ atMs: nowMs, path, reason: v.reason, measured: round1(v.measured), limit: round1(v.limit), holdMs: v.holdMs })
    this.log?.info('path demoted: its data fared worse than the map predicts', { path, reason: v.reason, measured: round1(v.measured), limit: round1(v.limit), hold_s: v.holdMs / 1000 })
    if (this.recent.length > RECENT_DEMOTIONS_SHOWN) this.recent.shift()
  }

  /** For `overpass routes`: demotions so far, the edges demoted now, the latest verdicts. */
  view(nowMs: number): PathChecksView {
    return {
      demotions: this.check.demotions.loss + this.check.demotions.delay,
      by_reason: { ...this.check.demotions },
      ...this.counts,
      demoted_edges: (this.routerNow().demotedEdges?.() ?? []).map((e) => ({ from: e.from, to: e.to, remaining_ms: Math.max(0, Math.round(e.untilMs - nowMs)) })),
      recent: this.recent.map((d) => ({ ...d, ago_ms: Math.round(nowMs - d.atMs) })),
    }
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10
}
