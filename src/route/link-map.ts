import {
  E_FROM, E_JITTER, E_LOSS, E_MIN_PSEUDO, E_PSEUDO, E_RTT, E_THETA, E_UP,
  O_FWD, O_JITTER, O_LOSS, O_METHOD, O_REV, O_RTT, O_SERVICE, O_THETA, O_UP,
} from './control-message.js'
import type { MapUpdate } from './control-message.js'
import type { NameIndex } from '../probe/relay-index.js'

/** How an update compared with what the map held for its origin. */
export const enum ApplyResult {
  /** Older or equal seq (or an old boot): ignored. */
  Stale = 0,
  /** Accepted; only small changes of values routes are computed from. */
  Minor = 1,
  /** Accepted; an edge appeared, vanished, went up/down, crossed the loss limit or moved significantly. */
  Significant = 2,
  /** A delta that does not follow the last update we hold: ignored (we need a full update). */
  Gap = 3,
  /**
   * Accepted; nothing routes are computed from moved (an empty delta, or
   * only values no route reads: RTT, θ, min delay, and jitter or loss when
   * no profile in use weighs them): routes need no recomputation.
   */
  Unchanged = 4,
}

/** How much one part of an update moved what routes are computed from. */
const enum Change {
  None = 0,
  Minor = 1,
  Significant = 2,
}

/** What applying an update will do with its edges. */
export const enum Plan {
  Stale = 0,
  Gap = 1,
  /** A whole column while we are in sync: the delta with the same seq (sent right after it) is what we apply. */
  Skip = 2,
  /** Apply the listed edges; keep the rest of the column. */
  Delta = 3,
  /** Replace the whole column. */
  Full = 4,
}

/** Relative and absolute thresholds of a "significant" delay change: max(1 ms, 5%). */
export const SIGNIFICANT_ABS_MS = 1
export const SIGNIFICANT_REL = 0.05
/** A column heard this long that still shows an edge never up: treat the pair as unlinked and relay. */
export const NEVER_UP_GRACE_MS = 1000

/** A delay change is significant when it exceeds max(1 ms, 5% of the (true) delay). */
export function significantDelta(deltaMs: number, delayMs: number): boolean {
  const base = Number.isFinite(delayMs) ? Math.abs(delayMs) : 0
  return Math.abs(deltaMs) > Math.max(SIGNIFICANT_ABS_MS, SIGNIFICANT_REL * base)
}

/**
 * Fields of one edge record: `LinkMap.edge[EDGE_FIELDS * k + F_*]`.
 * F_UP: 1 up; 0 down and never up; EVER_UP_DOWN down after having been up.
 * F_PRESENT: 1 when the measuring column lists the edge.
 */
export const F_PSEUDO = 0
export const F_MIN_PSEUDO = 1
export const F_THETA = 2
export const F_RTT = 3
export const F_JITTER = 4
export const F_LOSS = 5
export const F_PRESENT = 6
export const F_UP = 7
export const EDGE_FIELDS = 8
export const EVER_UP_DOWN = 2

/**
 * The directed latency map: a dense V x V table of edge records indexed
 * k = from * V + to, one column per measuring relay (`to`), plus origin
 * edges per (service, exit). It only stores what the columns said;
 * potentials and weights are derived from it by potentials.ts and weights.ts.
 *
 * One record (8 doubles, one or two cache lines) per edge: applying an
 * entry writes one record. With one array per field it wrote nine arrays
 * at stride V, a cache miss each, and a cold start applies ~30 M entries
 * over all relays of a 246-relay simulation (docs/simulator.md, Run time).
 */
export class LinkMap {
  readonly n: number
  /** Edge records, EDGE_FIELDS doubles per edge k (see F_*). */
  readonly edge: Float64Array
  /** Per column: seq, boot and our receive time of the newest accepted update. */
  readonly colSeq: Float64Array
  readonly colBoot: Float64Array
  readonly colRxMs: Float64Array
  /** Per column: our receive time of the first accepted update of its current boot. */
  readonly colFirstRxMs: Float64Array
  /** Boot ids an origin had before its current one: their late updates are stale. */
  private readonly oldBoots: Set<number>[]
  // Origin edges, indexed [service * n + exit].
  readonly oPresent: Uint8Array
  readonly oUp: Uint8Array
  readonly oTwamp: Uint8Array
  readonly oFwd: Float64Array
  readonly oRev: Float64Array
  readonly oTheta: Float64Array
  readonly oRtt: Float64Array
  readonly oJitter: Float64Array
  readonly oLoss: Float64Array
  /**
   * Per relay x: how many edges x->r (notUpOut) and r->x (notUpIn), r != x,
   * are not up in the map. Lets the router skip relaying checks for a relay
   * whose edges are all up, instead of scanning every pair per message.
   */
  readonly notUpOut: Int32Array
  readonly notUpIn: Int32Array
  /** Incremented on every accepted update. */
  version = 0
  /**
   * Set when an applied update made an edge or origin link unusable (down,
   * gone, or lossier than the limit); the router clears it after checking
   * whether a held route broke.
   */
  broke = false
  /**
   * A theta or RTT (what potentials are estimated from) changed since the
   * caller last cleared this. They do not make routes recompute, so the
   * caller uses this to refresh stale potentials now and then.
   */
  offsetsMoved = false
  /** Scratch for applyEdges: relays whose entry the current update holds (== stamp). */
  private readonly seen: Uint32Array
  /** The same for services (applyOrigins). */
  private readonly oSeen: Uint32Array
  private stamp = 0

  /**
   * `weighs` says whether some routing profile in use adds a jitter or loss
   * penalty; when not, changes of those values alone are not routing changes.
   */
  constructor(
    private readonly relayIndex: NameIndex,
    private readonly serviceIndex: ReadonlyMap<string, number>,
    private readonly maxLossPct: number,
    private readonly weighs: { jitter: boolean; loss: boolean } = { jitter: true, loss: true },
  ) {
    const n = (this.n = relayIndex.size)
    const nn = n * n
    this.edge = new Float64Array(nn * EDGE_FIELDS)
    this.colSeq = new Float64Array(n).fill(-1)
    this.colBoot = new Float64Array(n).fill(-1)
    this.colRxMs = new Float64Array(n).fill(NaN)
    this.colFirstRxMs = new Float64Array(n).fill(NaN)
    this.seen = new Uint32Array(n)
    this.notUpOut = new Int32Array(n).fill(n - 1)
    this.notUpIn = new Int32Array(n).fill(n - 1)
    this.oldBoots = Array.from({ length: n }, () => new Set<number>())
    this.oSeen = new Uint32Array(serviceIndex.size)
    const so = serviceIndex.size * n
    this.oPresent = new Uint8Array(so)
    this.oUp = new Uint8Array(so)
    this.oTwamp = new Uint8Array(so)
    this.oFwd = new Float64Array(so)
    this.oRev = new Float64Array(so)
    this.oTheta = new Float64Array(so)
    this.oRtt = new Float64Array(so)
    this.oJitter = new Float64Array(so)
    this.oLoss = new Float64Array(so)
  }

  /** True when `u` is newer than what the map holds for its origin. */
  isNewer(u: MapUpdate): boolean {
    const v = this.relayIndex.get(u.origin)!
    if (u.boot === this.colBoot[v]) return u.seq > this.colSeq[v]
    return !this.oldBoots[v].has(u.boot)
  }

  /**
   * True when v's column does not show u->v up, and either the edge was up
   * before (it failed) or v's column has been heard for NEVER_UP_GRACE_MS
   * (the edge never came up: no link). Updates then need relaying. The grace
   * keeps a cold start, when every edge is still new, from relaying at all.
   */
  notUp(u: number, v: number, nowMs: number): boolean {
    const up = this.edge[EDGE_FIELDS * (u * this.n + v) + F_UP]
    if (up === 1) return false
    return up === EVER_UP_DOWN || nowMs - this.colFirstRxMs[v] >= NEVER_UP_GRACE_MS
  }

  /** True when u->v is present and up in the map. */
  isUp(u: number, v: number): boolean {
    const o = EDGE_FIELDS * (u * this.n + v)
    return this.edge[o + F_PRESENT] === 1 && this.edge[o + F_UP] === 1
  }

  /** True when edge k is present, up and not lossier than `maxLossPct`. */
  usable(k: number, maxLossPct: number): boolean {
    const o = EDGE_FIELDS * k
    const r = this.edge
    return r[o + F_PRESENT] === 1 && r[o + F_UP] === 1 && r[o + F_LOSS] <= maxLossPct
  }

  /**
   * How `u` would be applied. Updates of one boot are numbered 1 apart, so
   * "in sync" means we hold seq - 1: a delta then applies exactly. A whole
   * column (`full: true`) is always followed by the delta with the same seq,
   * so a receiver in sync skips it and takes the delta; one out of sync takes
   * the whole column, and the delta is then stale. A delta after a gap (a
   * lost or reordered update) cannot be applied: the caller asks for a full
   * one.
   */
  plan(u: MapUpdate, force = false): Plan {
    if (!force && !this.isNewer(u)) return Plan.Stale
    const v = this.relayIndex.get(u.origin)!
    const inSync = u.boot === this.colBoot[v] && u.seq === this.colSeq[v] + 1
    if (u.full === false) return inSync ? Plan.Delta : Plan.Gap
    return u.full === true && inSync ? Plan.Skip : Plan.Full
  }

  /**
   * Applies `u` (already validated) to the column of `u.origin`; `force`
   * skips the ordering check. `fromIdx` optionally holds each edge's relay
   * index (from checkEdges), saving a name lookup per edge.
   */
  apply(nowMs: number, u: MapUpdate, force = false, fromIdx?: Int32Array): ApplyResult {
    const plan = this.plan(u, force)
    if (plan === Plan.Stale || plan === Plan.Skip) return ApplyResult.Stale
    if (plan === Plan.Gap) return ApplyResult.Gap
    const v = this.relayIndex.get(u.origin)!
    if (this.colBoot[v] >= 0 && u.boot !== this.colBoot[v]) {
      this.oldBoots[v].add(this.colBoot[v])
      if (this.oldBoots[v].size > 8) this.oldBoots[v].delete(this.oldBoots[v].values().next().value!)
    }
    if (u.boot !== this.colBoot[v]) this.colFirstRxMs[v] = nowMs
    this.colBoot[v] = u.boot
    this.colSeq[v] = u.seq
    this.colRxMs[v] = nowMs
    this.version++
    if (plan === Plan.Delta && u.edges.length === 0 && u.origins.length === 0) return ApplyResult.Unchanged
    const edges = this.applyEdges(v, u, plan === Plan.Full, fromIdx)
    const origins = this.applyOrigins(v, u)
    const res = edges > origins ? edges : origins
    return res === Change.Significant ? ApplyResult.Significant : res === Change.Minor ? ApplyResult.Minor : ApplyResult.Unchanged
  }

  private applyEdges(v: number, u: MapUpdate, full: boolean, fromIdx: Int32Array | undefined): Change {
    const n = this.n
    const max = this.maxLossPct
    const wj = this.weighs.jitter
    const wl = this.weighs.loss
    let sig = false
    let moved = false
    const seen = this.seen
    const stamp = ++this.stamp
    const edges = u.edges
    const r = this.edge
    for (let i = 0; i < edges.length; i++) {
      const e = edges[i]
      const from = fromIdx !== undefined ? fromIdx[i] : (this.relayIndex.get(e[E_FROM]) ?? -1)
      if (from < 0) continue // a relay of another network version (control-message.ts FOREIGN_NAMES_TOLERATED)
      const o = EDGE_FIELDS * (from * n + v)
      seen[from] = stamp
      const up = e[E_UP] ? 1 : 0
      const theta = e[E_THETA] ?? NaN
      const pseudo = e[E_PSEUDO]
      const jitter = e[E_JITTER]
      const loss = e[E_LOSS]
      const oldLoss = r[o + F_LOSS]
      const oldPseudo = r[o + F_PSEUDO]
      const wasUp = r[o + F_UP] === 1 ? 1 : 0
      if (r[o + F_PRESENT] === 0 || wasUp !== up) {
        sig = true
        if (wasUp === 1) this.broke = true
      } else if (oldLoss > max !== loss > max) {
        sig = true
        if (loss > max) this.broke = true
      } else if (significantDelta(pseudo - oldPseudo, oldPseudo - theta)) sig = true
      else if (pseudo !== oldPseudo || (wj && jitter !== r[o + F_JITTER]) || (wl && loss !== oldLoss)) moved = true
      r[o + F_PRESENT] = 1
      if (wasUp !== up) this.setUp(from, v, up)
      r[o + F_PSEUDO] = pseudo
      r[o + F_MIN_PSEUDO] = e[E_MIN_PSEUDO]
      const rtt = e[E_RTT] ?? NaN
      if (!sameNumber(theta, r[o + F_THETA]) || !sameNumber(rtt, r[o + F_RTT])) this.offsetsMoved = true
      r[o + F_THETA] = theta
      r[o + F_RTT] = rtt
      r[o + F_JITTER] = jitter
      r[o + F_LOSS] = loss
    }
    if (full) {
      for (let from = 0; from < n; from++) {
        const o = EDGE_FIELDS * (from * n + v)
        if (seen[from] !== stamp && r[o + F_PRESENT] === 1) {
          r[o + F_PRESENT] = 0
          if (r[o + F_UP] === 1) {
            this.setUp(from, v, 0)
            this.broke = true
          }
          sig = true
        }
      }
    }
    return sig ? Change.Significant : moved ? Change.Minor : Change.None
  }

  /** Sets the up state of from->to (down after up is EVER_UP_DOWN) and the not-up counts. */
  private setUp(from: number, to: number, up: number): void {
    this.edge[EDGE_FIELDS * (from * this.n + to) + F_UP] = up === 1 ? 1 : EVER_UP_DOWN
    const d = up === 1 ? -1 : 1
    this.notUpOut[from] += d
    this.notUpIn[to] += d
  }

  private applyOrigins(exit: number, u: MapUpdate): Change {
    const n = this.n
    const max = this.maxLossPct
    let sig = false
    let moved = false
    const seen = this.oSeen
    const stamp = ++this.stamp
    for (const o of u.origins) {
      const s = this.serviceIndex.get(o[O_SERVICE])
      if (s === undefined) continue // a service of another network version (control-message.ts FOREIGN_NAMES_TOLERATED)
      const k = s * n + exit
      seen[s] = stamp
      const up = o[O_UP] ? 1 : 0
      const twamp = o[O_METHOD] === 'twamp' ? 1 : 0
      const theta = o[O_THETA] ?? NaN
      const trueNow = twamp ? this.oFwd[k] - this.oTheta[k] : this.oFwd[k]
      const loss = o[O_LOSS]
      if (!this.oPresent[k] || this.oUp[k] !== up || this.oTwamp[k] !== twamp || this.oLoss[k] > max !== loss > max) {
        sig = true
        if ((this.oUp[k] === 1 && up === 0) || (this.oUp[k] === 1 && loss > max && this.oLoss[k] <= max)) this.broke = true
      } else if (significantDelta(o[O_FWD] - this.oFwd[k], trueNow)) sig = true
      // The origin leg reads fwd, θ (TWAMP origin potential), jitter and loss.
      else if (o[O_FWD] !== this.oFwd[k] || !Object.is(theta, this.oTheta[k]) || o[O_JITTER] !== this.oJitter[k] || loss !== this.oLoss[k]) moved = true
      this.oPresent[k] = 1
      this.oUp[k] = up
      this.oTwamp[k] = twamp
      this.oFwd[k] = o[O_FWD]
      this.oRev[k] = o[O_REV]
      const rtt = o[O_RTT] ?? NaN
      if (!sameNumber(theta, this.oTheta[k]) || !sameNumber(rtt, this.oRtt[k])) this.offsetsMoved = true
      this.oTheta[k] = theta
      this.oRtt[k] = rtt
      this.oJitter[k] = o[O_JITTER]
      this.oLoss[k] = loss
    }
    for (let s = 0; s < this.serviceIndex.size; s++) {
      const k = s * n + exit
      if (seen[s] !== stamp && this.oPresent[k]) {
        this.oPresent[k] = 0
        if (this.oUp[k] === 1) this.broke = true
        this.oUp[k] = 0
        sig = true
      }
    }
    return sig ? Change.Significant : moved ? Change.Minor : Change.None
  }
}

/** Equal, or both NaN (no value). */
function sameNumber(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b)
}
