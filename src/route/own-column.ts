import type { OriginEdge } from '../probe/origin-edge.js'
import type { InboundEdge } from '../probe/inbound-edge.js'
import type { Prober } from '../probe/prober.js'
import { E_JITTER, E_LOSS, E_MIN_PSEUDO, E_PSEUDO, E_RTT, E_THETA, E_UP, MAP_MSG_TYPE, MAP_MSG_VERSION } from './control-message.js'
import type { EdgeTuple, MapUpdate, OriginTuple } from './control-message.js'
import { significantDelta } from './link-map.js'
import { FlapDamping } from './flap-damping.js'

/** Delta thresholds (see OwnColumn.deltaWorthy). */
export const DELTA_DELAY_MS = 0.05
export const DELTA_RTT_MS = 0.5
export const DELTA_LOSS_PCT = 1
export const DELTA_JITTER_MS = 0.1
export const DELTA_JITTER_REL = 0.05

// OwnColumn's per-edge fields, in each InboundEdge's owner doubles (INBOUND_OWNER_DOUBLES).
const L_PSEUDO = 0
const L_LOSS = 1
const L_UP = 2
const L_LEVEL = 3

export const enum ColumnChange {
  None = 0,
  /** A delay moved by more than max(1 ms, 5%), or loss crossed the disqualification limit. */
  Delay = 1,
  /** An edge appeared or came up: like Delay, not urgent (nothing routes over it yet). */
  Up = 2,
  /** An edge went down: flood at once, routes over it are broken. */
  Reachability = 3,
}

/**
 * This relay's own inbound column: builds the map update we flood, and tells
 * whether measurements moved enough since the last flood to flood at once.
 */
export class OwnColumn {
  private seq = 0
  /**
   * Per edge i, in its InboundEdge's owner doubles (L_*): pseudo delay, loss
   * and up (-1 never flooded) at the last flood, and its change level at its
   * last evaluation. `touch` reads them on every probe, right after the
   * estimators: kept there they cost no extra cache line.
   */
  private readonly edges: readonly InboundEdge[]
  private readonly lastOFwd: Float64Array
  private readonly lastOUp: Int8Array
  private readonly lastOLoss: Float64Array
  // What receivers in sync hold for each edge: the values last put in a delta.
  private readonly sentPresent: Uint8Array
  private readonly sentUp: Uint8Array
  private readonly sentPseudo: Float64Array
  private readonly sentMin: Float64Array
  private readonly sentTheta: Float64Array
  private readonly sentRtt: Float64Array
  private readonly sentJitter: Float64Array
  private readonly sentLoss: Float64Array
  /** Per edge: usable as measured (up, fast loss detector not tripped) at its last evaluation. */
  private readonly usableNow: Uint8Array
  /** Penalties of the edges that keep failing: suppressed ones are flooded as down. */
  readonly damping: FlapDamping
  /** Times the fast loss detector took an up edge out. */
  lossTrips = 0
  /** levelCount[l] = edges whose level (see `last`) is l. */
  private readonly levelCount = new Int32Array(4)
  private readonly selfIdx: number

  constructor(
    private readonly self: string,
    private readonly relays: readonly string[],
    private bootId: number,
    /** service index -> name, for the services this relay is an exit of. */
    private readonly exitServices: ReadonlyMap<number, string>,
    private readonly maxLossPct: number,
    serviceCount: number,
    /** The prober's inbound edges, indexed like `relays` (this keeps its per-edge state in their owner doubles). */
    edges: readonly InboundEdge[],
  ) {
    const n = relays.length
    this.edges = edges
    for (const e of edges) {
      const s = e.store
      s[e.ownerAt + L_PSEUDO] = NaN
      s[e.ownerAt + L_LOSS] = 0
      s[e.ownerAt + L_UP] = -1
      s[e.ownerAt + L_LEVEL] = ColumnChange.None
    }
    this.lastOFwd = new Float64Array(serviceCount).fill(NaN)
    this.lastOUp = new Int8Array(serviceCount).fill(-1)
    this.lastOLoss = new Float64Array(serviceCount)
    this.sentPresent = new Uint8Array(n)
    this.sentUp = new Uint8Array(n)
    this.sentPseudo = new Float64Array(n)
    this.sentMin = new Float64Array(n)
    this.sentTheta = new Float64Array(n)
    this.sentRtt = new Float64Array(n)
    this.sentJitter = new Float64Array(n)
    this.sentLoss = new Float64Array(n)
    this.levelCount[ColumnChange.None] = n
    this.selfIdx = relays.indexOf(self)
    this.usableNow = new Uint8Array(n)
    this.damping = new FlapDamping(n)
  }

  /**
   * What we flood as edge i's `up`: up, not tripped by the fast loss
   * detector, and not suppressed by flap damping.
   */
  floodedUp(i: number, e: InboundEdge): boolean {
    return e.up && !e.fastLoss.tripped && !this.damping.suppressed(i)
  }

  /** Charges edge i a flap when it just stopped being usable (see FlapDamping). */
  private noteFailures(i: number, e: InboundEdge, nowMs: number): void {
    const usable = e.up && !e.fastLoss.tripped ? 1 : 0
    if (this.usableNow[i] === 1 && usable === 0) {
      if (e.up) this.lossTrips++
      this.damping.onFailure(i, nowMs)
    }
    this.usableNow[i] = usable
  }

  /**
   * Lifts flap suppressions that have decayed (see FlapDamping.release) and
   * re-evaluates every edge when one did, so the next flood announces it.
   */
  release(nowMs: number): boolean {
    if (this.damping.release(nowMs) === 0) return false
    for (let i = 0; i < this.edges.length; i++) this.touch(i, this.edges[i], nowMs)
    return true
  }

  /** The boot id our column is flooded with (fight-back may start a new one; probes keep theirs). */
  get boot(): number {
    return this.bootId
  }

  /** The seq of the next update we flood. */
  get nextSeq(): number {
    return this.seq
  }

  /** Whether we flooded an update with this boot and seq (e.g. one of ours relayed back to us). */
  issued(boot: number, seq: number): boolean {
    return boot === this.bootId && seq < this.seq
  }

  /**
   * Fight-back against a forged or replayed column of ours: the next update
   * gets at least `minSeq`, and `boot` when given starts a new column boot
   * (seq from 0). The caller then floods the whole column to every relay.
   */
  restart(minSeq: number, boot?: number): void {
    if (boot !== undefined) {
      this.bootId = boot
      this.seq = 0
    } else if (Number.isSafeInteger(minSeq) && minSeq > this.seq) this.seq = minSeq
  }

  /**
   * Peer i's inbound edge took a probe: re-evaluates its change level now,
   * while its estimators are still in cache (`changed` reads the counts).
   */
  touch(i: number, e: InboundEdge, nowMs: number): void {
    this.noteFailures(i, e, nowMs)
    const l = this.edgeLevel(i, e)
    const at = e.ownerAt + L_LEVEL
    const old = e.store[at]
    if (l === old) return
    this.levelCount[old]--
    e.store[at] = l
    this.levelCount[l]++
  }

  /**
   * How much the column moved since the last flood. An edge's level only
   * changes when it takes a probe (`touch` re-evaluates it then) or is
   * rebuilt (`build` resets every level), so per-level counts give the
   * maximum over all edges without a scan. (An edge going silent is
   * reported by the prober, and the caller floods at once.)
   */
  changed(origins: ReadonlyMap<number, OriginEdge>): ColumnChange {
    const c = this.levelCount
    let change = c[ColumnChange.Reachability] > 0 ? ColumnChange.Reachability
      : c[ColumnChange.Up] > 0 ? ColumnChange.Up : c[ColumnChange.Delay] > 0 ? ColumnChange.Delay : ColumnChange.None
    if (change === ColumnChange.Reachability) return change
    for (const [s, o] of origins) {
      if (o.fwd.samples === 0) continue
      if (this.lastOUp[s] === 1 && !o.up) return ColumnChange.Reachability
      if (this.lastOUp[s] !== (o.up ? 1 : 0)) {
        change = ColumnChange.Up
        continue
      }
      const lossFlip = this.lastOLoss[s] > this.maxLossPct !== o.loss.lossPct() > this.maxLossPct
      const trueMs = o.method === 'twamp' ? this.lastOFwd[s] - o.offset.thetaMs : this.lastOFwd[s]
      if ((lossFlip || significantDelta(o.fwd.smoothedMs - this.lastOFwd[s], trueMs)) && change < ColumnChange.Delay) change = ColumnChange.Delay
    }
    return change
  }

  /** Change of edge i since the last flood: gone down, come up, or moved by more than max(1 ms, 5%) / across the loss limit. */
  private edgeLevel(i: number, e: InboundEdge): ColumnChange {
    if (i === this.selfIdx || !e.heard) return ColumnChange.None
    const up = this.floodedUp(i, e) ? 1 : 0
    const s = e.store
    const at = e.ownerAt
    const lastUp = s[at + L_UP]
    if (lastUp === 1 && up === 0) return ColumnChange.Reachability
    if (lastUp !== up) return up === 0 && this.sentPresent[i] === 0 ? ColumnChange.None : ColumnChange.Up
    const lossFlip = s[at + L_LOSS] > this.maxLossPct !== e.loss.lossPct() > this.maxLossPct
    const lastPseudo = s[at + L_PSEUDO]
    const delayMs = lastPseudo - (Number.isFinite(e.offset.thetaMs) ? e.offset.thetaMs : lastPseudo)
    return lossFlip || significantDelta(e.delay.smoothedMs - lastPseudo, delayMs) ? ColumnChange.Delay : ColumnChange.None
  }

  /**
   * The next update, as a whole column (`full: true`) and as a delta
   * (`full: false`) with the same seq; the caller sends one or the other to
   * each relay. The delta holds the edges whose values moved since we last
   * put them in a delta (see `deltaWorthy`), so a receiver that applied every
   * update holds exactly the values of the `sent*` arrays. An edge we stop
   * hearing (the peer restarted) stays in the column as down: columns never
   * shrink within a boot, so deltas need no removal entries.
   */
  build(prober: Prober, origins: ReadonlyMap<number, OriginEdge>): { full: MapUpdate; delta: MapUpdate } {
    const all: EdgeTuple[] = []
    const changed: EdgeTuple[] = []
    for (let i = 0; i < this.relays.length; i++) {
      const e = prober.inbound[i]
      if (this.relays[i] === this.self) continue
      if (this.sentPresent[i] === 0 && !(e.heard && e.up)) {
        // Not announced until it first comes up: to every receiver a heard
        // edge that never came up is the same as no edge (not usable,
        // relayed around after the grace), and a cold start saves a
        // column's worth of entries per relay.
        if (e.heard) e.store[e.ownerAt + L_UP] = 0
        continue
      }
      const t: EdgeTuple = e.heard
        ? [this.relays[i], e.delay.smoothedMs, e.delay.minMs, orNull(e.offset.thetaMs), orNull(e.offset.rttMs), e.delay.jitterMs, e.loss.lossPct(), this.floodedUp(i, e)]
        : [this.relays[i], this.sentPseudo[i], this.sentMin[i], orNull(this.sentTheta[i]), orNull(this.sentRtt[i]), this.sentJitter[i], this.sentLoss[i], false]
      if (this.deltaWorthy(i, t, e.heard && e.delay.warmingUp)) {
        changed.push(t)
        this.remember(i, t)
        all.push(t)
      } else {
        // The whole column carries what receivers in sync hold (the values
        // last put in a delta), not the live estimate: a receiver that
        // resyncs from it would otherwise keep a value off by up to a delta
        // threshold, possibly on the other side of the loss limit, until the
        // edge moves by a threshold from what was sent - for a loss that
        // hovers at the limit, forever (the reply path that never left).
        all.push(this.sentTuple(i))
      }
      e.store[e.ownerAt + L_PSEUDO] = t[E_PSEUDO]
      e.store[e.ownerAt + L_UP] = t[E_UP] ? 1 : 0
      e.store[e.ownerAt + L_LOSS] = t[E_LOSS]
    }
    // Every edge now matches what was sent: no change pending.
    for (const e of this.edges) e.store[e.ownerAt + L_LEVEL] = ColumnChange.None
    this.levelCount.fill(0)
    this.levelCount[ColumnChange.None] = this.relays.length
    const out: OriginTuple[] = []
    for (const [s, o] of origins) {
      if (o.fwd.samples === 0) continue
      const loss = o.loss.lossPct()
      out.push([
        this.exitServices.get(s)!, o.method, o.fwd.smoothedMs, o.rev.smoothedMs,
        o.method === 'twamp' ? orNull(o.offset.thetaMs) : null, orNull(o.offset.rttMs), o.fwd.jitterMs, loss, o.up,
      ])
      this.lastOFwd[s] = o.fwd.smoothedMs
      this.lastOUp[s] = o.up ? 1 : 0
      this.lastOLoss[s] = loss
    }
    const head = { type: MAP_MSG_TYPE, v: MAP_MSG_VERSION, origin: this.self, boot: this.bootId, seq: this.seq++ } as const
    return { full: { ...head, full: true, edges: all, origins: out }, delta: { ...head, full: false, edges: changed, origins: out } }
  }

  /**
   * Whether edge i moved enough since the last delta to send it again. The
   * thresholds are well under the routing tolerance (0.5 ms / 2%) and the
   * switching margin (max(1 ms, 5%)), so a receiver's copy is never off by
   * more than that, while a settled edge is not resent every second.
   * While an edge's jitter is still warming up (`warming`: partly the
   * pessimistic prior, ~1.7 s), its jitter alone is no reason to resend:
   * receivers keep the value sent when the edge came up, which is higher
   * (pessimistic, like the prior), until the measured value replaces it.
   * On a cold start this saves every relay a few whole-column floods.
   */
  private deltaWorthy(i: number, t: EdgeTuple, warming: boolean): boolean {
    if (this.sentPresent[i] === 0 || this.sentUp[i] !== (t[E_UP] ? 1 : 0)) return true
    if (moved(this.sentPseudo[i], t[E_PSEUDO], DELTA_DELAY_MS) || moved(this.sentMin[i], t[E_MIN_PSEUDO], DELTA_DELAY_MS)) return true
    if (moved(this.sentTheta[i], t[E_THETA] ?? NaN, DELTA_DELAY_MS) || moved(this.sentRtt[i], t[E_RTT] ?? NaN, DELTA_RTT_MS)) return true
    if (Math.abs(this.sentLoss[i] - t[E_LOSS]) >= DELTA_LOSS_PCT) return true
    if (this.sentLoss[i] > this.maxLossPct !== t[E_LOSS] > this.maxLossPct) return true
    if (warming) return false
    const j = this.sentJitter[i]
    return Math.abs(j - t[E_JITTER]) > Math.max(DELTA_JITTER_MS, DELTA_JITTER_REL * j)
  }

  /** Edge i as receivers in sync hold it. */
  private sentTuple(i: number): EdgeTuple {
    return [
      this.relays[i], this.sentPseudo[i], this.sentMin[i], orNull(this.sentTheta[i]), orNull(this.sentRtt[i]),
      this.sentJitter[i], this.sentLoss[i], this.sentUp[i] === 1,
    ]
  }

  private remember(i: number, t: EdgeTuple): void {
    this.sentPresent[i] = 1
    this.sentUp[i] = t[E_UP] ? 1 : 0
    this.sentPseudo[i] = t[E_PSEUDO]
    this.sentMin[i] = t[E_MIN_PSEUDO]
    this.sentTheta[i] = t[E_THETA] ?? NaN
    this.sentRtt[i] = t[E_RTT] ?? NaN
    this.sentJitter[i] = t[E_JITTER]
    this.sentLoss[i] = t[E_LOSS]
  }
}

/** A change beyond `thresholdMs`, or between a value and none (NaN). */
function moved(a: number, b: number, thresholdMs: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) !== Number.isNaN(b)
  return Math.abs(a - b) > thresholdMs
}

function orNull(x: number): number | null {
  return Number.isFinite(x) ? x : null
}
