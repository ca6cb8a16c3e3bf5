/**
 * The discrete-event loop. Every relay runs its own real Router (only the
 * Router interface is used); the loop delivers the messages they emit over
 * simulated directed links with the true delay, optional jitter and loss,
 * calls each router's tick at its own cadence, and applies timed link events.
 *
 * Each relay sees nowMs = simTime + its own clock offset (up to +-1 h by
 * default), so routers cannot lean on synchronised clocks.
 *
 * Lean by design (~36M probes per minute for 246 relays): events live in a
 * typed-array heap, their fields in per-slot typed arrays, probe bytes are
 * copied into a per-slot line of one slab, and paths are scored only at the
 * end and at sample points after an event.
 */
import type { Router, RouterInit, RouterMessage } from '../route/types.js'
import { PROBE_LEN } from '../probe/probe-codec.js'
import { EventHeap } from './event-heap.js'
import type { SimEvent } from './events.js'
import { SimConfigError } from './errors.js'
import { deepFreeze } from './freeze.js'
import type { LatencyMatrix } from './matrix.js'
import { oracleCosts } from './oracle.js'
import { streamRng, type Rng } from './prng.js'
import { countBeyondSwitchMargin, gapsOutsideTolerancePct, scorePairs, statusOfPairs, type PairScore } from './score.js'

export interface SimInit {
  matrix: LatencyMatrix
  createRouter: (init: RouterInit) => Router
  seed?: number
  /** Cost per intermediate relay, ms (given to the routers and the oracle). */
  hopCostMs?: number
  durationS?: number
  /** Mean of the exponential extra delay per packet, ms (0 = none). */
  jitterMs?: number
  /** Loss probability per packet on every link, percent. */
  lossPct?: number
  /** Router tick cadence, ms (each relay gets its own random phase). */
  tickMs?: number
  /** Clock offsets are uniform in [-max, +max], ms; 0 turns them off. */
  maxClockOffsetMs?: number
  events?: SimEvent[]
  /** Sampling interval after an event, sim ms. */
  sampleMs?: number
  /** Longest time after an event to wait for convergence, ms. */
  convergeWindowMs?: number
  /** Stop sampling once every affected pair has been good this long, ms. */
  stableForMs?: number
  /**
   * Deep-freeze control messages on first send (default true) so a router
   * that mutates a received message fails loudly. Off saves ~20% of the run
   * time on large networks (frozen arrays are slower to read in V8).
   */
  freezeMessages?: boolean
}

export interface EventReport {
  at_s: number
  kind: string
  from: string
  to: string
  both: boolean
  /** Ordered pairs that were within tolerance just before and not just after. */
  affected_pairs: number
  /** Sim ms until every affected pair was within tolerance for good; null if not within the window. */
  converge_ms: number | null
  /**
   * Sim ms until no affected pair was left that the routers' switching rule
   * would still move (see beyond_margin_pairs), for good: what the damping
   * allows. At most converge_ms when that is set; null if not within the window.
   */
  settle_ms?: number | null
  /** When not converged: affected pairs still outside tolerance at the end of the window... */
  unconverged_pairs?: number
  /** ...and the worst of them, % above the oracle (Infinity = no usable path)... */
  worst_gap_pct?: number
  /**
   * ...and how many of them the router's own switching rule would still
   * move: the oracle's path better by more than max(1 ms, 5% of the chosen
   * path's cost). The others are left there by design (hysteresis): up to
   * 5.26% above the oracle, or more on paths under 20 ms (the 1 ms floor).
   */
  beyond_margin_pairs?: number
}

export interface SimResult extends PairScore {
  relays: number
  seed: number
  hop_cost_ms: number
  duration_s: number
  jitter_ms: number
  loss_pct: number
  missing_links: number
  messages: { probes: number; control: number; dropped_no_link: number; lost: number; bad_destination: number }
  /** Sum over relays of Router.counters() (floods sent, stale updates, switches...), when routers have it. */
  router_counters: Record<string, number>
  events: EventReport[]
  converge_ms_p50?: number | null
  converge_ms_max?: number | null
  /** The same per event kind (cut, degrade, restore). */
  converge_by_kind?: Record<string, { events: number; p50_ms: number | null; max_ms: number | null }>
}

const K_TICK = 1
const K_PROBE = 2
const K_CONTROL = 3
const K_EVENT = 4
const K_SAMPLE = 5
/** A probe of another length than the real one (stand-in routers in tests): bytes in `buf[slot]`. */
const K_PROBE_OTHER = 6

/** Probes of this length (the real encoding) are copied through the slab. */
const SLAB_PROBE_BYTES = PROBE_LEN
/** Bytes per slot in the slab: one cache line. */
const SLAB_STRIDE = 64

const DEFAULT_TICK_MS = 20
const DEFAULT_MAX_OFFSET_MS = 3_600_000
const DEFAULT_SAMPLE_MS = 10
const DEFAULT_WINDOW_MS = 10_000
const DEFAULT_STABLE_MS = 2_000

interface Watch {
  report: EventReport
  startMs: number
  endMs: number
  pairs: Int32Array
  goodSinceMs: number
  /** Since when every pair has been within the switching margin (-1: not now). */
  settledSinceMs: number
}

export class Simulation {
  readonly n: number
  readonly names: string[]
  readonly routers: Router[]
  /** Current true delay per directed link (NaN = no link, Infinity = cut). */
  readonly delayMs: Float64Array
  readonly offsetMs: Float64Array
  oracle: Float64Array
  simNowMs = 0

  private readonly base: Float64Array
  private readonly index = new Map<string, number>()
  private readonly heap = new EventHeap()
  private kind = new Uint8Array(1024)
  private dst = new Int32Array(1024)
  private src = new Int32Array(1024)
  private payload: unknown[] = []
  private buf: (Uint8Array | undefined)[] = []
  /**
   * Probe bytes in flight, SLAB_STRIDE bytes per slot, in one array: a send
   * writes one line and a delivery reads it, instead of a cold Uint8Array
   * object and its data per slot. A delivery copies them into `probeIn`
   * (one hot buffer) and hands that to the router, which decodes it before
   * returning (Router.onProbe does not keep `bytes`).
   */
  private slab = new Int32Array((1024 * SLAB_STRIDE) >> 2)
  /** The same memory as bytes, for copying a probe in. */
  private slabBytes = new Uint8Array(this.slab.buffer)
  private readonly probeIn = new Uint8Array(SLAB_PROBE_BYTES)
  private readonly probeIn32 = new Int32Array(this.probeIn.buffer)
  private free: number[] = []
  private nextSlot = 0
  private readonly lastAtMs: Float64Array
  private readonly jitterRng: Rng
  private readonly lossRng: Rng
  private readonly pickRng: Rng
  readonly hopCostMs: number
  private readonly tickMs: number
  private readonly jitterMs: number
  private readonly lossP: number
  private readonly freeze: boolean
  private readonly events: SimEvent[]
  private readonly reports: EventReport[] = []
  private watch: Watch | undefined
  private lastPicked: [number, number] | undefined
  private readonly counters = { probes: 0, control: 0, dropped_no_link: 0, lost: 0, bad_destination: 0 }

  constructor(private readonly init: SimInit) {
    const m = init.matrix
    const seed = init.seed ?? 1
    this.n = m.sites.length
    if (this.n < 2) throw new SimConfigError('matrix', 'needs at least 2 sites')
    this.names = m.sites
    this.names.forEach((s, i) => this.index.set(s, i))
    this.hopCostMs = init.hopCostMs ?? 0
    this.tickMs = init.tickMs ?? DEFAULT_TICK_MS
    this.jitterMs = init.jitterMs ?? 0
    this.lossP = (init.lossPct ?? 0) / 100
    this.freeze = init.freezeMessages ?? true
    this.events = [...(init.events ?? [])].sort((a, b) => a.atS - b.atS)
    this.base = Float64Array.from(m.oneWayMs)
    this.delayMs = Float64Array.from(m.oneWayMs)
    this.lastAtMs = new Float64Array(this.n * this.n)
    this.jitterRng = streamRng(seed, 'jitter')
    this.lossRng = streamRng(seed, 'loss')
    this.pickRng = streamRng(seed, 'pick')
    const maxOff = init.maxClockOffsetMs ?? DEFAULT_MAX_OFFSET_MS
    const offRng = streamRng(seed, 'clock-offset')
    // Shifted up by max so every relay's clock reads >= 0, like a real monotonic clock.
    this.offsetMs = Float64Array.from(this.names, () => maxOff + offRng.uniform(-maxOff, maxOff))
    this.routers = this.names.map((self, i) => {
      const rng = streamRng(seed, `router:${i}`)
      return init.createRouter({ self, relays: [...this.names], services: [], hopCostMs: this.hopCostMs, random: () => rng.next() })
    })
    this.oracle = oracleCosts(this.n, this.delayMs, this.hopCostMs)
  }

  /** Runs the whole simulation and scores it. */
  run(): SimResult {
    const durationMs = (this.init.durationS ?? 60) * 1000
    const phaseRng = streamRng(this.init.seed ?? 1, 'tick-phase')
    for (let r = 0; r < this.n; r++) this.schedule(phaseRng.uniform(0, this.tickMs), K_TICK, r, r)
    this.events.forEach((e, i) => this.schedule(e.atS * 1000, K_EVENT, i, 0))
    this.runUntil(durationMs)
    return this.result(durationMs)
  }

  /** Processes every event due up to `endMs` (sim time). */
  runUntil(endMs: number): void {
    const heap = this.heap
    while (heap.size > 0 && heap.peekTimeMs() <= endMs) {
      const t = heap.peekTimeMs()
      const slot = heap.pop()
      this.simNowMs = t
      const k = this.kind[slot]
      const to = this.dst[slot]
      if (k === K_TICK) {
        this.send(to, this.routers[to].tick(t + this.offsetMs[to]), t)
        this.heap.push(t + this.tickMs, slot)
        continue
      }
      if (k === K_PROBE || k === K_PROBE_OTHER) {
        this.counters.probes++
        let bytes: Uint8Array
        if (k === K_PROBE) {
          const from = (slot * SLAB_STRIDE) >> 2
          for (let j = 0; j < SLAB_PROBE_BYTES >> 2; j++) this.probeIn32[j] = this.slab[from + j]
          bytes = this.probeIn
        } else bytes = this.buf[slot]!
        const out = this.routers[to].onProbe(t + this.offsetMs[to], this.names[this.src[slot]], bytes)
        this.release(slot)
        if (out.length > 0) this.send(to, out, t)
      } else if (k === K_CONTROL) {
        this.counters.control++
        const msg = this.payload[slot]
        this.payload[slot] = undefined
        const out = this.routers[to].onControl(t + this.offsetMs[to], this.names[this.src[slot]], msg)
        this.release(slot)
        if (out.length > 0) this.send(to, out, t)
      } else if (k === K_EVENT) {
        this.release(slot)
        this.applyEvent(this.events[to], t)
      } else if (k === K_SAMPLE) {
        this.release(slot)
        this.sample(t)
      }
    }
    this.simNowMs = Math.max(this.simNowMs, endMs)
  }

  private send(from: number, out: RouterMessage[], tMs: number): void {
    const n = this.n
    for (let i = 0; i < out.length; i++) {
      const m = out[i]
      const to = this.index.get(m.to)
      if (to === undefined || to === from) {
        this.counters.bad_destination++
        continue
      }
      const link = from * n + to
      const d = this.delayMs[link]
      if (!(d === d) || d === Infinity) {
        this.counters.dropped_no_link++
        continue
      }
      if (this.lossP > 0 && this.lossRng.next() < this.lossP) {
        this.counters.lost++
        continue
      }
      let at = tMs + d
      if (this.jitterMs > 0) at += this.jitterRng.exponential(this.jitterMs)
      // One link is a FIFO: a late packet holds back the ones behind it.
      if (at < this.lastAtMs[link]) at = this.lastAtMs[link]
      this.lastAtMs[link] = at
      if (m.kind === 'probe' && m.bytes.length === SLAB_PROBE_BYTES) {
        const slot = this.schedule(at, K_PROBE, to, from)
        this.slabBytes.set(m.bytes, slot * SLAB_STRIDE)
      } else if (m.kind === 'probe') {
        const slot = this.schedule(at, K_PROBE_OTHER, to, from)
        let b = this.buf[slot]
        if (b === undefined || b.length !== m.bytes.length) b = this.buf[slot] = new Uint8Array(m.bytes.length)
        b.set(m.bytes)
      } else {
        const slot = this.schedule(at, K_CONTROL, to, from)
        this.payload[slot] = this.freeze ? deepFreeze(m.msg) : m.msg
      }
    }
  }

  private schedule(atMs: number, kind: number, to: number, from: number): number {
    let slot = this.free.pop()
    if (slot === undefined) {
      slot = this.nextSlot++
      if (slot >= this.kind.length) this.growSlots()
    }
    this.kind[slot] = kind
    this.dst[slot] = to
    this.src[slot] = from
    this.heap.push(atMs, slot)
    return slot
  }

  private release(slot: number): void {
    this.free.push(slot)
  }

  private growSlots(): void {
    const cap = this.kind.length * 2
    const k = new Uint8Array(cap)
    const d = new Int32Array(cap)
    const s = new Int32Array(cap)
    k.set(this.kind)
    d.set(this.dst)
    s.set(this.src)
    this.kind = k
    this.dst = d
    this.src = s
    const slab = new Int32Array((cap * SLAB_STRIDE) >> 2)
    slab.set(this.slab)
    this.slab = slab
    this.slabBytes = new Uint8Array(slab.buffer)
  }

  /** Index path of router s's current choice towards t, or undefined. */
  chosenPath(s: number, t: number): number[] | undefined {
    const c = this.routers[s].pathTo(this.simNowMs + this.offsetMs[s], this.names[t])
    if (c === undefined) return undefined
    const out = new Array<number>(c.path.length)
    for (let i = 0; i < c.path.length; i++) {
      const j = this.index.get(c.path[i])
      if (j === undefined) return undefined
      out[i] = j
    }
    return out
  }

  private applyEvent(e: SimEvent, tMs: number): void {
    // The previous event's watch ends here, scored on the delays it was about
    // (closing it after the change measured its leftover gaps against this
    // event's oracle: pairs that had moved off a degraded edge looked 6.5%
    // off once the restore made the old path best again).
    this.closeWatch()
    const edge = this.resolveEdge(e)
    const before = statusOfPairs(this, undefined)
    const links = e.both ? [edge, [edge[1], edge[0]]] : [edge]
    for (const [a, b] of links) {
      const k = a * this.n + b
      const base = this.base[k]
      if (e.kind === 'cut') this.delayMs[k] = base === base ? Infinity : NaN
      else if (e.kind === 'restore') this.delayMs[k] = base
      else this.delayMs[k] = base * (e.factor ?? 1) + (e.addMs ?? 0)
    }
    this.oracle = oracleCosts(this.n, this.delayMs, this.hopCostMs)
    const after = statusOfPairs(this, undefined)
    const affected: number[] = []
    for (let p = 0; p < before.length; p++) if (before[p] === 1 && after[p] === 0) affected.push(p)
    const report: EventReport = {
      at_s: e.atS,
      kind: e.kind,
      from: this.names[edge[0]],
      to: this.names[edge[1]],
      both: e.both,
      affected_pairs: affected.length,
      converge_ms: affected.length === 0 ? 0 : null,
      settle_ms: affected.length === 0 ? 0 : null,
    }
    this.reports.push(report)
    if (affected.length === 0) return
    const next = this.events.find((x) => x.atS * 1000 > tMs)
    const windowMs = this.init.convergeWindowMs ?? DEFAULT_WINDOW_MS
    const endMs = Math.min(tMs + windowMs, next === undefined ? Infinity : next.atS * 1000)
    this.watch = { report, startMs: tMs, endMs, pairs: Int32Array.from(affected), goodSinceMs: -1, settledSinceMs: -1 }
    this.schedule(tMs + (this.init.sampleMs ?? DEFAULT_SAMPLE_MS), K_SAMPLE, 0, 0)
  }

  private sample(tMs: number): void {
    const w = this.watch
    if (w === undefined) return
    const status = statusOfPairs(this, w.pairs)
    const allGood = status.every((v) => v === 1)
    if (!allGood) w.goodSinceMs = -1
    else if (w.goodSinceMs < 0) w.goodSinceMs = tMs
    // Within tolerance implies within the switching margin; only check when not.
    const settled = allGood || countBeyondSwitchMargin(this, w.pairs) === 0
    if (!settled) w.settledSinceMs = -1
    else if (w.settledSinceMs < 0) w.settledSinceMs = tMs
    const stableMs = this.init.stableForMs ?? DEFAULT_STABLE_MS
    const next = tMs + (this.init.sampleMs ?? DEFAULT_SAMPLE_MS)
    if ((w.goodSinceMs >= 0 && tMs - w.goodSinceMs >= stableMs) || next > w.endMs) {
      this.closeWatch()
      return
    }
    this.schedule(next, K_SAMPLE, 0, 0)
  }

  /** Ends the current convergence watch, recording its result. */
  private closeWatch(): void {
    const w = this.watch
    if (w === undefined) return
    this.watch = undefined
    w.report.converge_ms = w.goodSinceMs >= 0 ? w.goodSinceMs - w.startMs : null
    w.report.settle_ms = w.settledSinceMs >= 0 ? w.settledSinceMs - w.startMs : null
    if (w.report.converge_ms === null) {
      // Says whether the pairs are stuck just outside tolerance (damping) or truly off.
      const gaps = gapsOutsideTolerancePct(this, w.pairs)
      w.report.unconverged_pairs = gaps.length
      w.report.worst_gap_pct = gaps.length === 0 ? 0 : Math.round(100 * Math.max(...gaps)) / 100
      w.report.beyond_margin_pairs = countBeyondSwitchMargin(this, w.pairs)
    }
  }

  private resolveEdge(e: SimEvent): [number, number] {
    if (e.pick === 'previous') {
      if (this.lastPicked === undefined) throw new SimConfigError('events', `event at ${e.atS}s picks "previous" but no edge came before`)
      return this.lastPicked
    }
    let edge: [number, number]
    if (e.pick === 'active') edge = this.pickActiveEdge()
    else {
      const a = this.index.get(e.from!)
      const b = this.index.get(e.to!)
      if (a === undefined || b === undefined) throw new SimConfigError('events', `event at ${e.atS}s names an unknown relay (${e.from} -> ${e.to})`)
      edge = [a, b]
    }
    this.lastPicked = edge
    return edge
  }

  /** A random directed edge used by some chosen multi-hop or direct path right now. */
  private pickActiveEdge(): [number, number] {
    const n = this.n
    const used = new Uint8Array(n * n)
    for (let s = 0; s < n; s++) {
      for (let t = 0; t < n; t++) {
        if (s === t) continue
        const p = this.chosenPath(s, t)
        if (p === undefined || p.length < 3) continue
        for (let i = 0; i + 1 < p.length; i++) used[p[i] * n + p[i + 1]] = 1
      }
    }
    const list: number[] = []
    for (let k = 0; k < n * n; k++) if (used[k] === 1) list.push(k)
    if (list.length === 0) {
      for (let k = 0; k < n * n; k++) if (Math.floor(k / n) !== k % n && this.delayMs[k] < Infinity) list.push(k)
    }
    const k = list[this.pickRng.int(list.length)]
    return [Math.floor(k / n), k % n]
  }

  private routerCounters(): Record<string, number> {
    const sum: Record<string, number> = {}
    for (const r of this.routers) {
      const c = r.counters?.()
      if (c === undefined) continue
      for (const k of Object.keys(c)) sum[k] = (sum[k] ?? 0) + c[k]
    }
    // Sorted keys keep the JSON identical from run to run.
    return Object.fromEntries(Object.entries(sum).sort(([a], [b]) => (a < b ? -1 : 1)))
  }

  private result(durationMs: number): SimResult {
    this.closeWatch()
    const score = scorePairs(this)
    const conv = this.reports.map((r) => r.converge_ms)
    const res: SimResult = {
      relays: this.n,
      ...score,
      seed: this.init.seed ?? 1,
      hop_cost_ms: this.hopCostMs,
      duration_s: durationMs / 1000,
      jitter_ms: this.jitterMs,
      loss_pct: this.lossP * 100,
      missing_links: this.init.matrix.missingPairs,
      messages: { ...this.counters },
      router_counters: this.routerCounters(),
      events: this.reports,
    }
    if (this.reports.length > 0) {
      ;[res.converge_ms_p50, res.converge_ms_max] = convergeStats(conv)
      res.converge_by_kind = {}
      for (const kind of ['cut', 'degrade', 'restore']) {
        const of = this.reports.filter((r) => r.kind === kind).map((r) => r.converge_ms)
        if (of.length === 0) continue
        const [p50, max] = convergeStats(of)
        res.converge_by_kind[kind] = { events: of.length, p50_ms: p50, max_ms: max }
      }
    }
    return res
  }
}

/** [p50, max] of convergence times; an event that never converged counts as infinitely slow (null). */
function convergeStats(conv: (number | null)[]): [number | null, number | null] {
  const done = conv.filter((c): c is number => c !== null).sort((a, b) => a - b)
  const mid = Math.ceil(conv.length / 2) - 1
  return [mid < done.length ? done[mid] : null, done.length < conv.length ? null : done[done.length - 1]]
}

/** Convenience: build and run a simulation in one call. */
export function runSimulation(init: SimInit): SimResult {
  return new Simulation(init).run()
}
