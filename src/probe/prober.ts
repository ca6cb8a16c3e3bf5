import type { RouterMessage } from './types.js'
import { INBOUND_EDGE_DOUBLES, InboundEdge, ProbeVerdict } from './inbound-edge.js'
import { RelayIndex } from './relay-index.js'
import { decodeProbe, emptyProbeFields, encodeProbeView, PROBE_LEN, ProbeDrop } from './probe-codec.js'

export const DEFAULT_PROBE_INTERVAL_MS = 100
export const MAX_PROBE_INTERVAL_MS = 250
/** Probe timers are jittered by +-10% so relays do not synchronise (babeld's habit). */
export const PROBE_JITTER = 0.1
export const DEFAULT_LOSS_DOWN_AFTER = 3
/** Allowance for the sender's and our tick granularity before silence counts as loss. */
export const DOWN_SLACK_MS = 20

export interface ProberInit {
  self: string
  selfId: number
  relays: string[]
  /** The relay's one name index over `relays` (the router shares its own); default built here. */
  index?: RelayIndex
  relayIds: number[]
  bootId: number
  probeIntervalMs: number
  lossDownAfter: number
  random: () => number
}

export interface ProbeCounters {
  probesSent: number
  probesReceived: number
  probeMalformed: number
  probeUnknownPeer: number
  probeWrongSender: number
  probeDuplicate: number
  probeTooOld: number
}

/**
 * Sends probes to every other relay and keeps the inbound edge estimators
 * (one per peer, indexed like `relays`). Sans-IO: time comes in as `nowMs`.
 */
export class Prober {
  readonly inbound: InboundEdge[]
  readonly downAfterMs: number
  readonly counters: ProbeCounters = {
    probesSent: 0,
    probesReceived: 0,
    probeMalformed: 0,
    probeUnknownPeer: 0,
    probeWrongSender: 0,
    probeDuplicate: 0,
    probeTooOld: 0,
  }
  private readonly index: RelayIndex
  /** init.relayIds, packed (a u32 in a JS array is a boxed number: a cache miss per probe). */
  private readonly relayIds: Uint32Array
  private readonly selfIdx: number
  private readonly fields = emptyProbeFields()
  /** Per peer: the probe message we send it, its bytes, and a view to encode into them. */
  private readonly msgs: RouterMessage[]
  private readonly views: DataView[]
  private seq = 0
  private bootId: number
  private nextProbeMs = NaN
  /** No up edge can be silent for downAfterMs before this time (see checkSilence). */
  private nextSilenceMs = Infinity

  constructor(private readonly init: ProberInit) {
    this.index = init.index ?? new RelayIndex(init.relays)
    this.relayIds = Uint32Array.from(init.relayIds)
    this.selfIdx = this.index.get(init.self) ?? -1
    // One block per peer in one array: a probe touches its edge's block only.
    const store = new Float64Array(init.relays.length * INBOUND_EDGE_DOUBLES)
    this.inbound = init.relays.map((_, i) => new InboundEdge(store, i * INBOUND_EDGE_DOUBLES))
    const buffers = init.relays.map(() => new Uint8Array(PROBE_LEN))
    this.msgs = init.relays.map((to, i) => ({ to, kind: 'probe', bytes: buffers[i] }))
    this.views = buffers.map((b) => new DataView(b.buffer, b.byteOffset, b.byteLength))
    // k intervals at the longest jittered interval, plus tick slack: k probes really were missed.
    this.downAfterMs = init.lossDownAfter * init.probeIntervalMs * (1 + PROBE_JITTER) + DOWN_SLACK_MS
    this.bootId = init.bootId
  }

  /** The boot id and the sequence number of the next probe round. */
  get run(): { bootId: number; nextSeq: number } {
    return { bootId: this.bootId, nextSeq: this.seq }
  }

  /** Carries on another prober's run (Router.continueFrom). */
  continueRun(bootId: number, nextSeq: number): void {
    this.bootId = bootId
    this.seq = nextSeq
  }

  /** Sends a probe round when due; returns how many edges just went down. */
  tick(nowMs: number, out: RouterMessage[]): number {
    if (Number.isNaN(this.nextProbeMs) || nowMs >= this.nextProbeMs) {
      this.sendRound(nowMs, out)
      const jitter = 1 + PROBE_JITTER * (2 * this.init.random() - 1)
      const next = (Number.isNaN(this.nextProbeMs) ? nowMs : this.nextProbeMs) + this.init.probeIntervalMs * jitter
      // After a long stall, restart the schedule from now instead of bursting to catch up.
      this.nextProbeMs = next <= nowMs ? nowMs + this.init.probeIntervalMs * jitter : next
    }
    return nowMs > this.nextSilenceMs ? this.checkSilence(nowMs) : 0
  }

  /**
   * Marks silent edges down. Scans every edge, so it only runs once the
   * earliest deadline of the last scan has passed: a deadline (last receive
   * + downAfterMs) only moves later as probes arrive, so the cached minimum
   * is a safe lower bound, and an edge coming up lowers it (onProbe).
   */
  private checkSilence(nowMs: number): number {
    let down = 0
    let next = Infinity
    for (let i = 0; i < this.inbound.length; i++) {
      if (i === this.selfIdx) continue
      const e = this.inbound[i]
      if (e.checkSilence(nowMs, this.downAfterMs)) down++
      else if (e.up && e.lastRxMs + this.downAfterMs < next) next = e.lastRxMs + this.downAfterMs
    }
    this.nextSilenceMs = next
    return down
  }

  private sendRound(nowMs: number, out: RouterMessage[]): void {
    const f = this.fields
    const seq = this.seq++
    for (let i = 0; i < this.init.relays.length; i++) {
      if (i === this.selfIdx) continue
      const e = this.inbound[i]
      f.senderId = this.init.selfId
      f.bootId = this.bootId
      f.seq = seq
      f.txMs = nowMs
      f.hasEcho = e.heard && Number.isFinite(e.echoTxMs)
      f.echoSeq = e.echoSeq
      f.echoBootId = e.peerBootId >>> 0
      f.echoTxMs = e.echoTxMs
      f.echoRxMs = e.echoRxMs
      // One message and buffer per peer, rewritten every round: no
      // allocation per probe (10 per second per peer). The caller sends or
      // copies the bytes before the next round (see RouterMessage).
      encodeProbeView(this.views[i], f)
      out.push(this.msgs[i])
      this.counters.probesSent++
    }
  }

  /** Returns the index of the peer whose edge took this probe (its estimators may have moved), -1 when dropped. */
  onProbe(nowMs: number, from: string, bytes: Uint8Array): number {
    const i = this.index.get(from)
    if (i === undefined || i === this.selfIdx) {
      this.counters.probeUnknownPeer++
      return -1
    }
    const f = this.fields
    if (!(bytes instanceof Uint8Array) || decodeProbe(bytes, f) !== ProbeDrop.Ok) {
      this.counters.probeMalformed++
      return -1
    }
    if (f.senderId !== this.relayIds[i]) {
      this.counters.probeWrongSender++
      return -1
    }
    const e = this.inbound[i]
    const wasUp = e.up
    const v = e.onProbe(nowMs, f, this.bootId)
    if (v === ProbeVerdict.Duplicate) this.counters.probeDuplicate++
    else if (v === ProbeVerdict.TooOld) this.counters.probeTooOld++
    else this.counters.probesReceived++
    if (!wasUp && e.up && nowMs + this.downAfterMs < this.nextSilenceMs) this.nextSilenceMs = nowMs + this.downAfterMs
    return i
  }
}
