import type { RouterMessage } from './types.js'
import { INBOUND_EDGE_DOUBLES, InboundEdge, ProbeVerdict } from './inbound-edge.js'
import { RelayIndex } from './relay-index.js'
import { decodeProbe, emptyProbeFields, encodeProbeView, PROBE_LEN, ProbeDrop } from './probe-codec.js'
import { DELAY_SAMPLE_SPACING, FAST_DOWN_AFTER_MS, FAST_PROBE_HOLD_MS, FAST_PROBE_INTERVAL_MS, FAST_PROBES_PER_ROUND, MAX_FAST_PEERS, SLOW_ANNOUNCE_PROBES } from './probe-rate.js'
import { FAST_LOSS_CLEAR_PROBES } from './fast-loss.js'
import { StallWatch } from './stall-watch.js'

export { DEFAULT_PROBE_INTERVAL_MS } from './probe-rate.js'
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

/** How a peer is probed (probe-rate.ts). */
const enum Rate {
  Normal = 0,
  Fast = 1,
  /** Still at the fast interval, without the FAST flag, for SLOW_ANNOUNCE_PROBES probes. */
  Slowing = 2,
}

/**
 * Sends probes to every other relay and keeps the inbound edge estimators
 * (one per peer, indexed like `relays`). Sans-IO: time comes in as `nowMs`.
 *
 * Peers we send data to (markActive) are probed at the fast interval
 * (probe-rate.ts), the others in one round per normal interval. Each peer
 * has its own sequence numbers, so a fast peer's extra probes leave no gap
 * in another's.
 */
export class Prober {
  readonly inbound: InboundEdge[]
  readonly downAfterMs: number
  /** Silence after which an edge whose sender probes us fast is down. */
  readonly fastDownAfterMs: number
  readonly fastIntervalMs: number
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
  /** Per peer: the second probe of a fast round (FAST_PROBES_PER_ROUND), sent right after the first. */
  private readonly pairMsgs: RouterMessage[]
  private readonly pairViews: DataView[]
  /** Per peer: the sequence number of its next probe. */
  private readonly seqs: Float64Array
  /** Per peer: its Rate, until when it stays fast, and the Slowing probes left. */
  private readonly rate: Uint8Array
  private readonly fastUntilMs: Float64Array
  private readonly announceLeft: Uint8Array
  private fastPeers = 0
  private bootId: number
  private nextProbeMs = NaN
  private nextFastMs = NaN
  /** InboundEdge.onProbe's fast-interval parameters. */
  private readonly delaySpacingMs: number
  private readonly fastClearProbes: number
  /** No up edge can be silent for downAfterMs before this time (see checkSilence). */
  private nextSilenceMs = Infinity
  /** This relay's own stalls, which silence does not count (stall-watch.ts). */
  private readonly stall = new StallWatch()
  /** Per peer: stall.unobservedMs when its last probe arrived. */
  private readonly rxUnobservedMs: Float64Array
  /** Some up edge's sender probes us fast: calls are wanted every STALL_WATCH_MS (watchDueMs). */
  private watching = false

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
    const pairBuffers = init.relays.map(() => new Uint8Array(PROBE_LEN))
    this.pairMsgs = init.relays.map((to, i) => ({ to, kind: 'probe', bytes: pairBuffers[i] }))
    this.pairViews = pairBuffers.map((b) => new DataView(b.buffer, b.byteOffset, b.byteLength))
    // k intervals at the longest jittered interval, plus tick slack: k probes really were missed.
    this.downAfterMs = init.lossDownAfter * init.probeIntervalMs * (1 + PROBE_JITTER) + DOWN_SLACK_MS
    this.fastIntervalMs = Math.min(FAST_PROBE_INTERVAL_MS, init.probeIntervalMs)
    // A longer loss_down_after (a host known to starve its relays) lengthens the fast deadline alike.
    this.fastDownAfterMs = Math.min((FAST_DOWN_AFTER_MS * init.lossDownAfter) / DEFAULT_LOSS_DOWN_AFTER, this.downAfterMs)
    this.delaySpacingMs = DELAY_SAMPLE_SPACING * init.probeIntervalMs
    this.fastClearProbes = Math.round((FAST_LOSS_CLEAR_PROBES * FAST_PROBES_PER_ROUND * init.probeIntervalMs) / this.fastIntervalMs)
    const n = init.relays.length
    this.seqs = new Float64Array(n)
    this.rate = new Uint8Array(n)
    this.fastUntilMs = new Float64Array(n)
    this.announceLeft = new Uint8Array(n)
    this.rxUnobservedMs = new Float64Array(n)
    this.bootId = init.bootId
  }

  /** The boot id and the sequence number of each peer's next probe (nextSeq: the highest). */
  get run(): { bootId: number; nextSeq: number; seqs: Record<string, number> } {
    const seqs: Record<string, number> = {}
    let nextSeq = 0
    for (let i = 0; i < this.seqs.length; i++) {
      if (i === this.selfIdx) continue
      seqs[this.init.relays[i]] = this.seqs[i]
      if (this.seqs[i] > nextSeq) nextSeq = this.seqs[i]
    }
    return { bootId: this.bootId, nextSeq, seqs }
  }

  /** Carries on another prober's run (Router.continueFrom): each peer's numbers go on from `seqs`, or from nextSeq for a peer it lacks. */
  continueRun(bootId: number, nextSeq: number, seqs?: Readonly<Record<string, number>>): void {
    this.bootId = bootId
    for (let i = 0; i < this.seqs.length; i++) this.seqs[i] = seqs?.[this.init.relays[i]] ?? nextSeq
  }

  /** How many peers are probed at the fast interval now. */
  get fastCount(): number {
    return this.fastPeers
  }

  /** Whether peer i is probed at the fast interval (with the FAST flag). */
  isFast(i: number): boolean {
    return this.rate[i] === Rate.Fast
  }

  /**
   * We just sent peer i data (the caller samples its traffic counters): probe
   * it at the fast interval until FAST_PROBE_HOLD_MS after the last call,
   * unless MAX_FAST_PEERS others already are.
   */
  markActive(i: number, nowMs: number): void {
    if (i < 0 || i >= this.rate.length || i === this.selfIdx) return
    if (this.rate[i] === Rate.Normal) {
      if (this.fastPeers >= MAX_FAST_PEERS) return
      this.fastPeers++
      if (Number.isNaN(this.nextFastMs)) this.nextFastMs = nowMs
    }
    this.rate[i] = Rate.Fast
    this.fastUntilMs[i] = nowMs + FAST_PROBE_HOLD_MS
  }

  /**
   * While an up edge's sender probes us fast, the prober wants to be called
   * (ticked, or handed a probe) by this time, so that a stall of its own is
   * told from that peer's silence (stall-watch.ts); Infinity otherwise. A
   * driver ticking every 20 ms meets it; one ticking at deadlines must
   * include it.
   */
  get watchDueMs(): number {
    return this.watching ? this.stall.watchDueMs() : Infinity
  }

  /** Time this relay was not watching since it started, which silence does not count (stall-watch.ts). */
  get unobservedMs(): number {
    return this.stall.unobservedMs
  }

  /**
   * When tick() next has work: the next normal round, the next fast round
   * (while any peer is fast or slowing), the earliest moment an up edge
   * can have been silent too long, at whichever silence deadline its sender
   * asked for, and the stall watch's next call while a fast sender is up
   * (watchDueMs); -Infinity before the first round. A tick before it does
   * nothing; Router.nextTickMs builds on it.
   */
  get nextDueMs(): number {
    if (Number.isNaN(this.nextProbeMs)) return -Infinity
    const fast = this.fastPeers > 0 && !Number.isNaN(this.nextFastMs) ? this.nextFastMs : Infinity
    return Math.min(this.nextProbeMs, fast, this.nextSilenceMs, this.watchDueMs)
  }

  /** Sends the probes that are due; returns how many edges just went down. */
  tick(nowMs: number, out: RouterMessage[]): number {
    this.stall.arrive(nowMs)
    const down = this.probeAndCheck(nowMs, out)
    this.expectNext(nowMs)
    return down
  }

  private probeAndCheck(nowMs: number, out: RouterMessage[]): number {
    if (Number.isNaN(this.nextProbeMs) || nowMs >= this.nextProbeMs) {
      this.sendRound(nowMs, out, false)
      this.nextProbeMs = this.schedule(this.nextProbeMs, nowMs, this.init.probeIntervalMs)
    }
    if (this.fastPeers > 0 && nowMs >= this.nextFastMs) {
      this.sendRound(nowMs, out, true)
      this.nextFastMs = this.fastPeers > 0 ? this.schedule(this.nextFastMs, nowMs, this.fastIntervalMs) : NaN
    }
    return nowMs > this.nextSilenceMs ? this.checkSilence(nowMs) : 0
  }

  /** Tells the stall watch when the next call is due: the next probe round or silence deadline. */
  private expectNext(nowMs: number): void {
    const fast = this.fastPeers > 0 ? this.nextFastMs : Infinity
    const due = Math.min(Number.isNaN(this.nextProbeMs) ? nowMs : this.nextProbeMs, fast, this.nextSilenceMs)
    this.stall.expectNext(nowMs, due, this.watching)
  }

  /** The next jittered send time after one due at `dueMs` (NaN: none yet). */
  private schedule(dueMs: number, nowMs: number, intervalMs: number): number {
    const jitter = 1 + PROBE_JITTER * (2 * this.init.random() - 1)
    const next = (Number.isNaN(dueMs) ? nowMs : dueMs) + intervalMs * jitter
    // After a long stall, restart the schedule from now instead of bursting to catch up.
    return next <= nowMs ? nowMs + intervalMs * jitter : next
  }

  /**
   * Marks silent edges down. Scans every edge, so it only runs once the
   * earliest deadline of the last scan has passed: a deadline (last receive
   * + downAfterMs + our own stalls since) only moves later as probes arrive
   * and stalls are seen, so the cached minimum is a safe lower bound, and an
   * edge coming up lowers it (onProbe). Silence is counted in time this
   * relay was watching: a stall of its own is not the peer's silence.
   */
  private checkSilence(nowMs: number): number {
    let down = 0
    let next = Infinity
    let watching = false
    for (let i = 0; i < this.inbound.length; i++) {
      if (i === this.selfIdx) continue
      const e = this.inbound[i]
      const after = e.senderFast ? this.fastDownAfterMs : this.downAfterMs
      const stalledMs = this.stall.unobservedMs - this.rxUnobservedMs[i]
      if (e.checkSilence(nowMs - stalledMs, after)) down++
      else if (e.up) {
        if (e.lastRxMs + stalledMs + after < next) next = e.lastRxMs + stalledMs + after
        if (e.senderFast) watching = true
      }
    }
    this.nextSilenceMs = next
    this.watching = watching
    return down
  }

  /** Probes every peer at the normal interval (`fast` false) or every fast and slowing one. */
  private sendRound(nowMs: number, out: RouterMessage[], fast: boolean): void {
    const f = this.fields
    for (let i = 0; i < this.init.relays.length; i++) {
      if (i === this.selfIdx) continue
      const r = this.rate[i]
      if (fast ? r === Rate.Normal : r !== Rate.Normal) continue
      if (r === Rate.Fast && nowMs > this.fastUntilMs[i]) {
        this.rate[i] = Rate.Slowing
        this.announceLeft[i] = SLOW_ANNOUNCE_PROBES
      }
      f.fast = this.rate[i] === Rate.Fast
      if (this.rate[i] === Rate.Slowing && --this.announceLeft[i] === 0) {
        this.rate[i] = Rate.Normal
        this.fastPeers--
      }
      const e = this.inbound[i]
      f.senderId = this.init.selfId
      f.bootId = this.bootId
      f.seq = this.seqs[i]++
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
      if (f.fast && FAST_PROBES_PER_ROUND === 2) {
        // Back to back: a loss burst that takes the first usually takes this one too (probe-rate.ts).
        f.seq = this.seqs[i]++
        encodeProbeView(this.pairViews[i], f)
        out.push(this.pairMsgs[i])
        this.counters.probesSent++
      }
    }
  }

  /** Returns the index of the peer whose edge took this probe (its estimators may have moved), -1 when dropped. */
  onProbe(nowMs: number, from: string, bytes: Uint8Array): number {
    // Any probe read shows this relay running and reading its socket.
    this.stall.arrive(nowMs)
    const i = this.accept(nowMs, from, bytes)
    this.expectNext(nowMs)
    return i
  }

  private accept(nowMs: number, from: string, bytes: Uint8Array): number {
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
    const v = e.onProbe(nowMs, f, this.bootId, this.delaySpacingMs, this.fastClearProbes)
    if (v === ProbeVerdict.Duplicate) this.counters.probeDuplicate++
    else if (v === ProbeVerdict.TooOld) this.counters.probeTooOld++
    else {
      this.counters.probesReceived++
      this.rxUnobservedMs[i] = this.stall.unobservedMs
      if (e.up && e.senderFast) this.watching = true
    }
    // A deadline moves earlier when the edge comes up or its sender turns fast.
    const deadline = nowMs + (e.senderFast ? this.fastDownAfterMs : this.downAfterMs)
    if (e.up && deadline < this.nextSilenceMs) this.nextSilenceMs = deadline
    return i
  }
}
