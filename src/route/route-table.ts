import { denseDijkstra, spScratch } from './dijkstra.js'
import type { SpScratch } from './dijkstra.js'
import { RouteSlot, samePath, significantlyBetter } from './hysteresis.js'
import type { Candidate } from './hysteresis.js'
import type { LinkMap } from './link-map.js'
import { EdgeDemotions } from './demotions.js'
import { bestForward, bestTo, edgeDisjoint, pathCost, relayDisjoint, withoutPath } from './path-select.js'
import type { Tree } from './path-select.js'
import { computePotentials, originPotential, repairPotentials } from './potentials.js'
import { PROFILES } from './profiles.js'
import type { RoutingProfileName } from './types.js'
import { buildWeights, originDelay, originPenalty, usableMask } from './weights.js'

export interface ServiceInfo {
  name: string
  index: number
  ingress: number[]
  exits: number[]
  profile: RoutingProfileName
  redundant: boolean
}

/** One damped route (primary) plus its redundant backup. */
export interface RouteEntry {
  service: ServiceInfo
  /** Forward: -1. Reply: the ingress this route goes back to. */
  dst: number
  /** Forward routes held for one exit only (RouteTable.byExit): that exit. Default: any of the service's exits. */
  exits?: readonly number[]
  slot: RouteSlot
  backup: number[] | undefined
  /** The primary `backup` was computed against, and when. */
  backupFor?: number[]
  backupAtMs?: number
}

/** A working backup is recomputed after this long, not on every computation. */
export const BACKUP_REFRESH_MS = 1000
/** Non-urgent backup refreshes per computation (urgent: primary changed or backup broke). */
export const BACKUP_REFRESHES_PER_COMPUTE = 4
/**
 * Offsets drift slowly, so potentials are re-estimated from the thetas this
 * often (or when asked); in between, the last ones are reused. Either way
 * repairPotentials makes them exact for the current map, so this only
 * affects how readable the displayed delays are, never the routes.
 */
export const POTENTIAL_REFRESH_MS = 1000

/** The pseudo-service of relay-to-relay paths (pathTo): no origin, latency profile. */
export const RELAY_PATH_SERVICE: ServiceInfo = { name: '', index: -1, ingress: [], exits: [], profile: 'latency', redundant: false }

/** The profiles a relay computes trees for: latency (pathTo) and those of the services it is an ingress or exit of. */
export function profilesInUse(services: readonly ServiceInfo[], self: number): Set<RoutingProfileName> {
  const used = new Set<RoutingProfileName>(['latency'])
  for (const s of services) if (s.ingress.includes(self) || s.exits.includes(self)) used.add(s.profile)
  return used
}

export interface TableParams {
  self: number
  hopCostMs: number
  maxLossPct: number
  holdMs: number
}

/**
 * Route computation over the LinkMap, from this relay: potentials, one
 * weight matrix + Dijkstra tree per profile in use, then every forward
 * (this relay as ingress) and reply (this relay as exit) route, damped.
 * All buffers are allocated once; a computation allocates only paths.
 */
export class RouteTable {
  readonly forward: RouteEntry[] = []
  readonly reply: RouteEntry[] = []
  /**
   * Services with several exits: one forward route per exit, for flows that
   * keep their exit while it works (dataplane/flow-exits.ts). An entry holds
   * nothing while its exit is unreachable or its origin leg is unusable.
   */
  readonly byExit: RouteEntry[] = []
  /** Relay-to-relay paths asked for with pathTo, created on first use. */
  readonly relayPaths = new Map<number, RouteEntry>()
  readonly h: Float64Array
  readonly hOrigin: Float64Array
  /** The potentials as estimated, before any repair (see marginBase). */
  private readonly h0: Float64Array
  private readonly hOrigin0: Float64Array
  clampedEdges = 0
  /** Edges this relay demoted from its own traffic (demotions.ts): penalised in every tree. */
  readonly demotions: EdgeDemotions
  /** Potentials lowered by the last repair (-1: repair gave up and weights were clamped). */
  repairedPotentials = 0
  computations = 0
  private readonly n: number
  private readonly trees = new Map<RoutingProfileName, Tree>()
  private readonly potScratch: { dist: Float64Array; done: Uint8Array }
  private readonly queue: Int32Array
  private readonly inQueue: Uint8Array
  /** Edges that may carry traffic (profile-independent part of the weights). */
  private readonly usable: Uint8Array
  private refreshBudget = 0
  /** nowMs of the last estimate of the potentials from the thetas. */
  potentialsAtMs = -Infinity
  private forceBackups = false
  private readonly backupSp: SpScratch

  constructor(
    private readonly map: LinkMap,
    private readonly services: readonly ServiceInfo[],
    private readonly p: TableParams,
  ) {
    const n = (this.n = map.n)
    this.h = new Float64Array(n)
    this.demotions = new EdgeDemotions(n)
    this.hOrigin = new Float64Array(services.length).fill(NaN)
    this.h0 = new Float64Array(n)
    this.hOrigin0 = new Float64Array(services.length).fill(NaN)
    this.potScratch = { dist: new Float64Array(n), done: new Uint8Array(n) }
    this.usable = new Uint8Array(n * n)
    this.queue = new Int32Array(n)
    this.inQueue = new Uint8Array(n)
    // The latency tree always exists: pathTo() uses it.
    this.trees.set('latency', { n, self: p.self, w: new Float64Array(n * n), sp: spScratch(n) })
    let redundant = false
    for (const s of services) {
      const isIngress = s.ingress.includes(p.self)
      const isExit = s.exits.includes(p.self)
      if (!isIngress && !isExit) continue
      if (!this.trees.has(s.profile)) this.trees.set(s.profile, { n, self: p.self, w: new Float64Array(n * n), sp: spScratch(n) })
      if (isIngress) this.forward.push({ service: s, dst: -1, slot: new RouteSlot(p.holdMs), backup: undefined })
      if (isIngress && s.exits.length > 1) {
        for (const e of s.exits) this.byExit.push({ service: s, dst: -1, exits: [e], slot: new RouteSlot(p.holdMs), backup: undefined })
      }
      if (isExit) for (const ing of s.ingress) this.reply.push({ service: s, dst: ing, slot: new RouteSlot(p.holdMs), backup: undefined })
      redundant ||= s.redundant
    }
    this.backupSp = spScratch(redundant ? n : 0)
  }

  /** Tree of a profile in use (after compute). */
  tree(profile: RoutingProfileName): Tree | undefined {
    return this.trees.get(profile)
  }

  /** Estimated true exit -> origin delay for service s; NaN when unusable. */
  originDelayMs(s: ServiceInfo, exit: number, fresh: Uint8Array): number {
    return originDelay(this.map, s.index, exit, this.h, this.hOrigin[s.index], fresh, this.p.maxLossPct)
  }

  /** Origin cost (delay + profile penalty) of `exit` for service s; NaN when unusable. */
  originCost(s: ServiceInfo, exit: number, fresh: Uint8Array): number {
    const d = originDelay(this.map, s.index, exit, this.h, this.hOrigin[s.index], fresh, this.p.maxLossPct)
    return Number.isNaN(d) ? NaN : d + originPenalty(this.map, s.index, exit, PROFILES[s.profile])
  }

  /**
   * `reestimate` rebuilds the potentials from the thetas (after reachability
   * changed); `forceBackups` recomputes every backup now (benchmarks: worst case).
   */
  compute(nowMs: number, fresh: Uint8Array, forceBackups = false, reestimate = false): void {
    this.computations++
    this.refreshBudget = BACKUP_REFRESHES_PER_COMPUTE
    this.forceBackups = forceBackups
    usableMask(this.map, fresh, this.p.maxLossPct, this.usable)
    if (reestimate || nowMs - this.potentialsAtMs >= POTENTIAL_REFRESH_MS) {
      computePotentials(this.map, this.p.self, fresh, this.h, this.potScratch)
      this.map.offsetsMoved = false
      this.h0.set(this.h)
      this.potentialsAtMs = nowMs
    }
    this.repairedPotentials = repairPotentials(this.map, this.h, this.usable, this.queue, this.inQueue)
    for (const s of this.services) {
      this.hOrigin[s.index] = originPotential(this.map, s.index, s.exits, fresh, this.h)
      this.hOrigin0[s.index] = originPotential(this.map, s.index, s.exits, fresh, this.h0)
    }
    this.clampedEdges = 0
    for (const [name, t] of this.trees) {
      const params = { self: this.p.self, profile: PROFILES[name], hopCostMs: this.p.hopCostMs, maxLossPct: this.p.maxLossPct }
      this.clampedEdges += buildWeights(this.map, this.h, this.usable, params, t.w)
      this.demotions.apply(t.w)
      denseDijkstra(t.w, this.n, this.p.self, t.sp)
    }
    for (const r of this.forward) this.updateEntry(nowMs, r, fresh)
    for (const r of this.reply) this.updateEntry(nowMs, r, fresh)
    for (const r of this.byExit) this.updateEntry(nowMs, r, fresh)
    for (const r of this.relayPaths.values()) this.updateEntry(nowMs, r, fresh)
  }

  /** The damped self -> dst relay path (latency profile, no origin leg), created on first use. */
  relayPath(nowMs: number, dst: number, fresh: Uint8Array): RouteEntry {
    let r = this.relayPaths.get(dst)
    if (r === undefined) {
      r = { service: RELAY_PATH_SERVICE, dst, slot: new RouteSlot(this.p.holdMs), backup: undefined }
      this.relayPaths.set(dst, r)
      this.updateEntry(nowMs, r, fresh)
    }
    return r
  }

  /** True when some held route (primary or backup) has an edge that is no longer usable. */
  anyBroken(fresh: Uint8Array): boolean {
    for (const list of [this.forward, this.reply, this.byExit, this.relayPaths.values()]) {
      for (const r of list) {
        const a = r.slot.active
        if (a !== undefined && this.costOf(r, a.path, fresh) === Infinity) return true
        if (r.backup !== undefined && this.costOf(r, r.backup, fresh) === Infinity) return true
      }
    }
    return false
  }

  /** Cost of `path` for entry r under the current map, without rebuilding weights. */
  private costOf(r: RouteEntry, path: readonly number[], fresh: Uint8Array): number {
    const n = this.n
    for (let i = 0; i + 1 < path.length; i++) {
      const k = path[i] * n + path[i + 1]
      if (!fresh[path[i + 1]] || !this.map.usable(k, this.p.maxLossPct)) return Infinity
    }
    if (r.dst < 0) {
      const k = r.service.index * n + path[path.length - 1]
      if (!fresh[path[path.length - 1]] || !this.map.oPresent[k] || !this.map.oUp[k] || this.map.oLoss[k] > this.p.maxLossPct) return Infinity
    }
    return 0
  }

  private updateEntry(nowMs: number, r: RouteEntry, fresh: Uint8Array): void {
    const t = this.trees.get(r.service.profile)!
    const oc = r.dst < 0 ? (e: number) => this.originCost(r.service, e, fresh) : undefined
    const best = r.dst < 0 ? bestForward(t, r.exits ?? r.service.exits, oc!) : bestTo(t, r.dst)
    const active = r.slot.active
    let activeCost = active === undefined ? Infinity : pathCost(t.w, this.n, active.path, oc)
    // A held path through a demoted edge is left at once (like a broken one) when a path without one exists.
    if (active !== undefined && best !== undefined && this.demotions.onPath(active.path) && !this.demotions.onPath(best.path)) activeCost = Infinity
    const base = active === undefined ? activeCost : this.marginBase(r, active.path, activeCost)
    r.slot.update(nowMs, best, activeCost, base)
    r.backup = r.service.redundant ? this.pickBackup(nowMs, r, t, oc) : undefined
  }

  /**
   * What the 5% of the switching margin is taken of: the active route's
   * cost as the estimated potentials put it, before the repair. Ranking
   * needs no estimate (every path between the same endpoints shifts by the
   * same potentials), but the margin is relative, and the repair only ever
   * lowers potentials, each to the smallest value its neighbours allow: it
   * takes the most negative error around, so repaired costs read high
   * (by up to ~7 ms at 120 relays with --asymmetry 0.3, on top of the
   * estimates' own error of half an asymmetry either way), the margin
   * widened, and pairs stayed up to 5.8% above the best path
   * (docs/simulator.md, Failover). The repair exists to make Dijkstra safe,
   * not to move the margin. A cost is sum(pseudo) + h(first) - h(last)
   * (forward: - h(origin)); with the estimates instead, it changes by
   * (h0 - h) of the last minus that of the first.
   */
  private marginBase(r: RouteEntry, path: readonly number[], costMs: number): number {
    const first = path[0]
    let last = (this.h0[path[path.length - 1]] - this.h[path[path.length - 1]])
    if (r.dst < 0) {
      const ho = this.hOrigin[r.service.index]
      const ho0 = this.hOrigin0[r.service.index]
      // TWAMP: the origin's potential comes from one exit's; ICMP: the path's exit.
      if (Number.isFinite(ho) && Number.isFinite(ho0)) last = ho0 - ho
    }
    const shift = last - (this.h0[first] - this.h[first])
    return Number.isFinite(shift) ? costMs - shift : costMs
  }

  /**
   * Best path relay-disjoint from the active primary (no relay in common but
   * its two ends), else edge-disjoint: a redundant service's second copy
   * must survive a relay failure, not just a link's. A forward backup ends at
   * the primary's exit, so both copies of a datagram reach the same exit,
   * whose sequence window delivers one (dataplane/flow-exits.ts; docs/routing.md).
   * The current backup is kept while it still works and the new one is not
   * significantly better, so the second copy of each packet does not hop
   * around either. Each backup
   * costs a Dijkstra of its own, so a working one is only re-examined after
   * BACKUP_REFRESH_MS, a few per computation; a changed primary or a broken
   * backup is handled at once.
   */
  private pickBackup(nowMs: number, r: RouteEntry, t: Tree, oc: ((e: number) => number) | undefined): number[] | undefined {
    const primary = r.slot.active?.path
    if (primary === undefined) return undefined
    const old = r.backup
    const oldCost = old === undefined ? Infinity : pathCost(t.w, this.n, old, oc)
    const oldValid = old !== undefined && samePath(r.backupFor, primary) && Number.isFinite(oldCost)
    if (oldValid && !this.forceBackups) {
      if (nowMs - (r.backupAtMs ?? -Infinity) < BACKUP_REFRESH_MS || this.refreshBudget <= 0) return old
      this.refreshBudget--
    }
    r.backupFor = primary
    r.backupAtMs = nowMs
    const last = primary[primary.length - 1]
    const targets = r.dst < 0 ? [last] : [r.dst]
    const search = (relays: boolean): Candidate | undefined =>
      withoutPath(t, primary, this.backupSp, targets, (t2) => {
        if (r.dst < 0) return bestForward(t2, targets, oc!, primary)
        return primary.length > 1 ? bestTo(t2, r.dst) : undefined
      }, relays)
    const cand = search(true) ?? search(false)
    const candRelayDisjoint = cand !== undefined && relayDisjoint(cand.path, primary)
    if (old !== undefined && !samePath(old, primary) && old[old.length - 1] === last && Number.isFinite(oldCost)) {
      // An edge-disjoint backup gives way to a relay-disjoint one even when it is not cheaper.
      const oldOk = relayDisjoint(old, primary) || (edgeDisjoint(old, primary) && !candRelayDisjoint)
      if (oldOk && (cand === undefined || !significantlyBetter(cand.costMs, oldCost))) return old
    }
    return cand?.path
  }
}
