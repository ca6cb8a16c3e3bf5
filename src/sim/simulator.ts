/**
 * The simulation: every relay runs its own real Router (only the Router
 * interface is used) in a partition's event loop (partition.ts), over
 * simulated directed links with the true delay, optional jitter and loss;
 * this coordinator applies timed link events, samples convergence after
 * them and scores the chosen paths against the oracle.
 *
 * With `workers: 2` the relays are split in two halves (split.ts) whose
 * loops run side by side, in a worker thread when `routerModule` says
 * where the routers come from (hosts.ts), else both in this thread. They
 * advance in windows no longer than the lookahead, the smallest delay
 * between the halves, so whatever one half sends to the other during a
 * window arrives after it; the messages are handed over at the window's
 * end. Events and samples are barriers between windows. Each relay sees
 * the same inputs in the same order either way (partition.ts), so the
 * result is the same, byte for byte, with one loop or two.
 *
 * Each relay sees nowMs = simTime + its own clock offset (up to +-1 h by
 * default), so routers cannot lean on synchronised clocks; with `driftPpm`
 * its clock also runs at its own rate (simTime x (1 + e) + offset).
 */
import type { Router, RouterInit } from '../route/types.js'
import type { SimEvent } from './events.js'
import { SimConfigError } from './errors.js'
import { LocalHost, ThreadHost, type HostStats } from './hosts.js'
import type { LatencyMatrix } from './matrix.js'
import { oracleCosts } from './oracle.js'
import type { Outbox, PartitionInit } from './partition.js'
import { streamRng, type Rng } from './prng.js'
import { countBeyondSwitchMargin, gapsOutsideTolerancePct, scorePairs, statusOfPairs, type PairScore, type Scorable } from './score.js'
import { crossLookaheadMs, splitRelays } from './split.js'

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
  /**
   * Clock drift: each relay's clock runs at 1 + e of true time, e uniform in
   * [-D, +D] ppm (seeded); its timers and timestamps all use its own clock.
   * 0 (default): no drift.
   */
  driftPpm?: number
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
  /** Event loops (1 or 2) the relays are split over; the result is the same (default 1). */
  workers?: number
  /**
   * URL of a module whose `createRouter` export builds the same routers as
   * `createRouter`: with it the second loop runs in a worker thread
   * (functions cannot cross threads); without it both run in this thread.
   */
  routerModule?: string
  /**
   * Called every PROGRESS_EVERY_MS of simulated time with the simulated time
   * reached and the run's duration (progress bars). The result is the same
   * with or without it: the loops only pause at those instants.
   */
  onProgress?: (simMs: number, durationMs: number) => void
}

/** Simulated time between two onProgress calls. */
export const PROGRESS_EVERY_MS = 1000

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
  /** Present only when the run had clock drift (--drift-ppm > 0). */
  drift_ppm?: number
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

const DEFAULT_TICK_MS = 20
const DEFAULT_MAX_OFFSET_MS = 3_600_000
const DEFAULT_SAMPLE_MS = 10
const DEFAULT_WINDOW_MS = 10_000
const DEFAULT_STABLE_MS = 2_000
/**
 * Below this lookahead two loops would spend their time at barriers (and
 * at 0 could not advance): run one loop instead. The result is the same.
 */
const MIN_LOOKAHEAD_MS = 1

interface Watch {
  report: EventReport
  startMs: number
  endMs: number
  pairs: Int32Array
  goodSinceMs: number
  /** Since when every pair has been within the switching margin (-1: not now). */
  settledSinceMs: number
}

/** The chosen paths of some pairs at one sim time, scored against the simulation's current delays and oracle. */
class PathSnapshot implements Scorable {
  readonly paths = new Map<number, number[] | undefined>()
  constructor(private readonly sim: Simulation) {}
  get n(): number {
    return this.sim.n
  }
  get delayMs(): Float64Array {
    return this.sim.delayMs
  }
  get oracle(): Float64Array {
    return this.sim.oracle
  }
  get hopCostMs(): number {
    return this.sim.hopCostMs
  }
  chosenPath(s: number, t: number): number[] | undefined {
    return this.paths.get(s * this.sim.n + t)
  }
}

export class Simulation {
  readonly n: number
  readonly names: string[]
  /** Current true delay per directed link (NaN = no link, Infinity = cut). */
  readonly delayMs: Float64Array
  readonly offsetMs: Float64Array
  /** Each relay's clock rate (1 + drift). */
  readonly rate: Float64Array
  oracle: Float64Array
  simNowMs = 0
  readonly hopCostMs: number
  /** Loop (0 or 1) of each relay. */
  readonly owner: Uint8Array
  /** Smallest delay between the loops that any event can leave (Infinity with one loop): the window length. */
  readonly lookaheadMs: number
  /** Event loops in use. */
  readonly loops: number
  /** Windows run so far (each ends with a hand-over between the loops). */
  windows = 0
  /** Wall time each loop spent running windows, ms (filled in by run()). */
  loopBusyMs: number[] = []
  /** Wall time each loop waited for the other (worker thread runs only), ms. */
  loopWaitMs: number[] = []

  private readonly base: Float64Array
  private readonly index = new Map<string, number>()
  /** Loops run here in windows (one, or two in this thread)... */
  private readonly hosts: LocalHost[]
  /** ...or loop 1 in a worker thread, in step with loop 0 (hosts[0]) by progress. */
  private readonly thread: ThreadHost | undefined
  private inbox: (Outbox | undefined)[]
  /** Delay changes not yet sent to the loops: [link, delayMs, ...]. */
  private pendingDelays: number[] = []
  private readonly pickRng: Rng
  private readonly tickMs: number
  private readonly jitterMs: number
  private readonly lossP: number
  private readonly events: SimEvent[]
  private readonly reports: EventReport[] = []
  private watch: Watch | undefined
  private nextSampleMs = Infinity
  private lastPicked: [number, number] | undefined
  private closed = false

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
    this.events = [...(init.events ?? [])].sort((a, b) => a.atS - b.atS)
    this.base = Float64Array.from(m.oneWayMs)
    this.delayMs = Float64Array.from(m.oneWayMs)
    this.pickRng = streamRng(seed, 'pick')
    const maxOff = init.maxClockOffsetMs ?? DEFAULT_MAX_OFFSET_MS
    const offRng = streamRng(seed, 'clock-offset')
    // Shifted up by max so every relay's clock reads >= 0, like a real monotonic clock.
    this.offsetMs = Float64Array.from(this.names, () => maxOff + offRng.uniform(-maxOff, maxOff))
    // Its own stream: drawing it leaves every other random choice as it was.
    const drift = (init.driftPpm ?? 0) * 1e-6
    const driftRng = streamRng(seed, 'clock-drift')
    this.rate = Float64Array.from(this.names, () => (drift > 0 ? 1 + driftRng.uniform(-drift, drift) : 1))
    this.oracle = oracleCosts(this.n, this.delayMs, this.hopCostMs)

    const workers = init.workers ?? 1
    if (!(workers === 1 || workers === 2)) throw new SimConfigError('--workers', `must be 1 or 2, got ${workers}`)
    let owner: Uint8Array = new Uint8Array(this.n)
    let lookaheadMs = Infinity
    if (workers === 2) {
      const low = lowestDelays(this.base, this.events)
      const split = splitRelays(this.n, low)
      lookaheadMs = crossLookaheadMs(this.n, low, split.owner)
      if (lookaheadMs >= MIN_LOOKAHEAD_MS) owner = split.owner
      else lookaheadMs = Infinity
    }
    this.owner = owner
    this.lookaheadMs = lookaheadMs
    this.loops = lookaheadMs === Infinity ? 1 : 2
    const partInit = (part: number): Omit<PartitionInit, 'createRouter'> => ({
      names: this.names,
      delayMs: this.delayMs,
      offsetMs: this.offsetMs,
      rate: this.rate,
      owner,
      part,
      seed,
      hopCostMs: this.hopCostMs,
      tickMs: this.tickMs,
      jitterMs: this.jitterMs,
      lossPct: this.lossP * 100,
      freezeMessages: init.freezeMessages ?? true,
    })
    // The worker first, so it builds its routers while this thread builds loop 0's.
    this.thread = this.loops === 2 && init.routerModule !== undefined ? new ThreadHost(partInit(1), init.routerModule, lookaheadMs) : undefined
    const local = new LocalHost({ ...partInit(0), createRouter: init.createRouter }, this.loops === 2 && this.thread === undefined)
    this.thread?.attach(local.partition)
    this.hosts = [local]
    if (this.loops === 2 && this.thread === undefined) this.hosts[1] = new LocalHost({ ...partInit(1), createRouter: init.createRouter }, true)
    this.inbox = this.hosts.map(() => undefined)
  }

  /** Runs the whole simulation and scores it. */
  run(): SimResult {
    const durationMs = (this.init.durationS ?? 60) * 1000
    try {
      let next = 0
      for (;;) {
        const te = next < this.events.length ? this.events[next].atS * 1000 : Infinity
        const ts = this.nextSampleMs
        const t = Math.min(te, ts)
        if (t > durationMs) break
        this.advance(t)
        // A sample due at an event's time sees the state just before it.
        if (ts === t) this.sample(t)
        else this.applyEvent(this.events[next++], t)
      }
      this.advance(durationMs)
      return this.result(durationMs)
    } finally {
      this.close()
    }
  }

  /** Stops the worker thread, if any (chosenPath then works only for relays of this thread). */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.thread?.close()
  }

  /** Processes every event due before `endMs` (sim time), in windows of at most the lookahead. */
  private advance(endMs: number): void {
    const report = this.init.onProgress
    if (report === undefined) return this.advanceTo(endMs)
    const durationMs = (this.init.durationS ?? 60) * 1000
    while (this.simNowMs < endMs) {
      this.advanceTo(Math.min(endMs, (Math.floor(this.simNowMs / PROGRESS_EVERY_MS) + 1) * PROGRESS_EVERY_MS))
      report(this.simNowMs, durationMs)
    }
  }

  private advanceTo(endMs: number): void {
    if (this.thread !== undefined) {
      if (this.simNowMs >= endMs) return
      const delays = this.pendingDelays
      this.pendingDelays = []
      this.thread.runTo(endMs, delays)
      this.simNowMs = endMs
      this.windows++
      return
    }
    while (this.simNowMs < endMs) {
      const to = Math.min(endMs, this.simNowMs + this.lookaheadMs)
      this.runWindow(to)
      this.simNowMs = to
    }
  }

  private runWindow(endMs: number): void {
    const h = this.hosts
    const delays = this.pendingDelays
    this.pendingDelays = []
    // The thread (1) starts first and works while this thread runs loop 0.
    for (let i = h.length - 1; i >= 0; i--) h[i].begin(endMs, delays, this.inbox[i])
    const out = h.map((x) => x.finish())
    // Two loops: each one's outbox is the other's inbox.
    this.inbox = h.length === 2 ? [out[1], out[0]] : [undefined]
    this.windows++
  }

  /** The chosen paths of `pairs` (all when undefined) at the current sim time. */
  private snapshot(pairs: Int32Array | undefined): PathSnapshot {
    if (this.closed && this.thread !== undefined) throw new SimConfigError('--workers', 'the worker thread has stopped: ask for paths before run() returns, or use one loop')
    const snap = new PathSnapshot(this)
    // The thread first, so both loops look their paths up at once.
    this.thread?.requestPaths(this.simNowMs, pairs)
    const recs = this.hosts.map((h) => h.paths(this.simNowMs, pairs))
    if (this.thread !== undefined) recs.push(this.thread.takePaths())
    for (const rec of recs) {
      for (let i = 0; i < rec.length; ) {
        const p = rec[i]
        const len = rec[i + 1]
        i += 2
        if (len < 0) snap.paths.set(p, undefined)
        else {
          snap.paths.set(p, Array.from(rec.subarray(i, i + len)))
          i += len
        }
      }
    }
    return snap
  }

  /** Index path of router s's current choice towards t, or undefined. */
  chosenPath(s: number, t: number): number[] | undefined {
    return this.snapshot(Int32Array.of(s * this.n + t)).chosenPath(s, t)
  }

  private applyEvent(e: SimEvent, tMs: number): void {
    const snap = this.snapshot(undefined)
    // The previous event's watch ends here, scored on the delays it was about
    // (closing it after the change measured its leftover gaps against this
    // event's oracle: pairs that had moved off a degraded edge looked 6.5%
    // off once the restore made the old path best again).
    this.closeWatch(snap)
    const edge = this.resolveEdge(e, snap)
    const before = statusOfPairs(snap, undefined)
    const links = e.both ? [edge, [edge[1], edge[0]]] : [edge]
    for (const [a, b] of links) {
      const k = a * this.n + b
      const base = this.base[k]
      if (e.kind === 'cut') this.delayMs[k] = base === base ? Infinity : NaN
      else if (e.kind === 'restore') this.delayMs[k] = base
      else this.delayMs[k] = base * (e.factor ?? 1) + (e.addMs ?? 0)
      this.pendingDelays.push(k, this.delayMs[k])
    }
    this.oracle = oracleCosts(this.n, this.delayMs, this.hopCostMs)
    // The same paths (no time passed), against the new delays.
    const after = statusOfPairs(snap, undefined)
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
    this.nextSampleMs = tMs + (this.init.sampleMs ?? DEFAULT_SAMPLE_MS)
  }

  private sample(tMs: number): void {
    this.nextSampleMs = Infinity
    const w = this.watch
    if (w === undefined) return
    const snap = this.snapshot(w.pairs)
    const status = statusOfPairs(snap, w.pairs)
    const allGood = status.every((v) => v === 1)
    if (!allGood) w.goodSinceMs = -1
    else if (w.goodSinceMs < 0) w.goodSinceMs = tMs
    // Within tolerance implies within the switching margin; only check when not.
    const settled = allGood || countBeyondSwitchMargin(snap, w.pairs) === 0
    if (!settled) w.settledSinceMs = -1
    else if (w.settledSinceMs < 0) w.settledSinceMs = tMs
    const stableMs = this.init.stableForMs ?? DEFAULT_STABLE_MS
    const next = tMs + (this.init.sampleMs ?? DEFAULT_SAMPLE_MS)
    if ((w.goodSinceMs >= 0 && tMs - w.goodSinceMs >= stableMs) || next > w.endMs) {
      this.closeWatch(snap)
      return
    }
    this.nextSampleMs = next
  }

  /** Ends the current convergence watch, recording its result (`snap` holds at least its pairs). */
  private closeWatch(snap: PathSnapshot): void {
    const w = this.watch
    if (w === undefined) return
    this.watch = undefined
    this.nextSampleMs = Infinity
    w.report.converge_ms = w.goodSinceMs >= 0 ? w.goodSinceMs - w.startMs : null
    w.report.settle_ms = w.settledSinceMs >= 0 ? w.settledSinceMs - w.startMs : null
    if (w.report.converge_ms === null) {
      // Says whether the pairs are stuck just outside tolerance (damping) or truly off.
      const gaps = gapsOutsideTolerancePct(snap, w.pairs)
      w.report.unconverged_pairs = gaps.length
      w.report.worst_gap_pct = gaps.length === 0 ? 0 : Math.round(100 * Math.max(...gaps)) / 100
      w.report.beyond_margin_pairs = countBeyondSwitchMargin(snap, w.pairs)
    }
  }

  private resolveEdge(e: SimEvent, snap: PathSnapshot): [number, number] {
    if (e.pick === 'previous') {
      if (this.lastPicked === undefined) throw new SimConfigError('events', `event at ${e.atS}s picks "previous" but no edge came before`)
      return this.lastPicked
    }
    let edge: [number, number]
    if (e.pick === 'active') edge = this.pickActiveEdge(snap)
    else {
      const a = this.index.get(e.from!)
      const b = this.index.get(e.to!)
      if (a === undefined || b === undefined) throw new SimConfigError('events', `event at ${e.atS}s names an unknown relay (${e.from} -> ${e.to})`)
      edge = [a, b]
    }
    this.lastPicked = edge
    return edge
  }

  /** A random directed edge used by some chosen multi-hop path right now (any up edge when there is none). */
  private pickActiveEdge(snap: PathSnapshot): [number, number] {
    const n = this.n
    const used = new Uint8Array(n * n)
    for (let s = 0; s < n; s++) {
      for (let t = 0; t < n; t++) {
        if (s === t) continue
        const p = snap.chosenPath(s, t)
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

  private result(durationMs: number): SimResult {
    const snap = this.snapshot(undefined)
    this.closeWatch(snap)
    const score = scorePairs(snap)
    const messages = { probes: 0, control: 0, dropped_no_link: 0, lost: 0, bad_destination: 0 }
    const routers: Record<string, number> = {}
    const stats: HostStats[] = this.hosts.map((h) => h.stats())
    if (this.thread !== undefined) {
      const t = this.thread.localTimes()
      stats[0].busyMs = t.busyMs
      stats[0].waitMs = t.waitMs
      stats.push(this.thread.stats())
    }
    for (const st of stats) {
      this.loopBusyMs.push(st.busyMs)
      this.loopWaitMs.push(st.waitMs ?? 0)
      for (const k of Object.keys(messages) as (keyof typeof messages)[]) messages[k] += st.counters[k]
      for (const k of Object.keys(st.routers)) routers[k] = (routers[k] ?? 0) + st.routers[k]
    }
    const conv = this.reports.map((r) => r.converge_ms)
    const res: SimResult = {
      relays: this.n,
      ...score,
      seed: this.init.seed ?? 1,
      hop_cost_ms: this.hopCostMs,
      duration_s: durationMs / 1000,
      jitter_ms: this.jitterMs,
      loss_pct: this.lossP * 100,
      ...((this.init.driftPpm ?? 0) > 0 ? { drift_ppm: this.init.driftPpm } : {}),
      missing_links: this.init.matrix.missingPairs,
      messages,
      // Sorted keys keep the JSON identical from run to run.
      router_counters: Object.fromEntries(Object.entries(routers).sort(([a], [b]) => (a < b ? -1 : 1))),
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

/**
 * The lowest delay each directed link can have during the run: the matrix,
 * or lower where some degrade event (whose edge may be picked at run time)
 * would lower it. Cuts and restores never go below the matrix, and jitter
 * and FIFO order only add, so the lookahead over these holds for the run.
 */
function lowestDelays(base: Float64Array, events: SimEvent[]): Float64Array {
  const low = Float64Array.from(base)
  for (const e of events) {
    if (e.kind !== 'degrade') continue
    const f = e.factor ?? 1
    const a = e.addMs ?? 0
    if (f >= 1 && a >= 0) continue
    for (let k = 0; k < low.length; k++) {
      const v = Math.max(0, base[k] * f + a)
      if (v < low[k]) low[k] = v
    }
  }
  return low
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
