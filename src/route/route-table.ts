import { denseDijkstra, spScratch } from './dijkstra.js'
import type { SpScratch } from './dijkstra.js'
import { RouteSlot, samePath, significantlyBetter } from './hysteresis.js'
import type { Candidate } from './hysteresis.js'
import type { LinkMap } from './link-map.js'
import { bestForward, bestTo, edgeDisjoint, pathCost, treeWithout } from './path-select.js'
import type { Tree } from './path-select.js'
import { computePotentials, originPotential, repairPotentials } from './potentials.js'
import { PROFILES } from './profiles.js'
import type { RoutingProfileName } from './types.js'
import { buildWeights, originDelay, originPenalty } from './weights.js'

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
  slot: RouteSlot
  backup: number[] | undefined
}

/** The pseudo-service of relay-to-relay paths (pathTo): no origin, latency profile. */
export const RELAY_PATH_SERVICE: ServiceInfo = { name: '', index: -1, ingress: [], exits: [], profile: 'latency', redundant: false }

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
  /** Relay-to-relay paths asked for with pathTo, created on first use. */
  readonly relayPaths = new Map<number, RouteEntry>()
  readonly h: Float64Array
  readonly hOrigin: Float64Array
  clampedEdges = 0
  /** Potentials lowered by the last repair (-1: repair gave up and weights were clamped). */
  repairedPotentials = 0
  computations = 0
  private readonly n: number
  private readonly trees = new Map<RoutingProfileName, Tree>()
  private readonly potScratch: { dist: Float64Array; done: Uint8Array }
  private readonly queue: Int32Array
  private readonly inQueue: Uint8Array
  private fresh: Uint8Array = new Uint8Array(0)
  /** Edge k = u*n+v will get a finite weight (profile-independent part of buildWeights). */
  private readonly usable = (k: number): boolean => {
    const m = this.map
    return this.fresh[k % this.n] === 1 && m.present[k] === 1 && m.up[k] === 1 && m.loss[k] <= this.p.maxLossPct
  }
  private readonly backupW: Float64Array
  private readonly backupSp: SpScratch

  constructor(
    private readonly map: LinkMap,
    private readonly services: readonly ServiceInfo[],
    private readonly p: TableParams,
  ) {
    const n = (this.n = map.n)
    this.h = new Float64Array(n)
    this.hOrigin = new Float64Array(services.length).fill(NaN)
    this.potScratch = { dist: new Float64Array(n), done: new Uint8Array(n) }
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
      if (isExit) for (const ing of s.ingress) this.reply.push({ service: s, dst: ing, slot: new RouteSlot(p.holdMs), backup: undefined })
      redundant ||= s.redundant
    }
    this.backupW = new Float64Array(redundant ? n * n : 0)
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

  compute(nowMs: number, fresh: Uint8Array): void {
    this.computations++
    this.fresh = fresh
    computePotentials(this.map, this.p.self, fresh, this.h, this.potScratch)
    this.repairedPotentials = repairPotentials(this.map, this.h, this.usable, this.queue, this.inQueue)
    for (const s of this.services) this.hOrigin[s.index] = originPotential(this.map, s.index, s.exits, fresh, this.h)
    this.clampedEdges = 0
    for (const [name, t] of this.trees) {
      const params = { self: this.p.self, profile: PROFILES[name], hopCostMs: this.p.hopCostMs, maxLossPct: this.p.maxLossPct }
      this.clampedEdges += buildWeights(this.map, this.h, fresh, params, t.w)
      denseDijkstra(t.w, this.n, this.p.self, t.sp)
    }
    for (const r of this.forward) this.updateEntry(nowMs, r, fresh)
    for (const r of this.reply) this.updateEntry(nowMs, r, fresh)
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
    for (const list of [this.forward, this.reply, this.relayPaths.values()]) {
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
      if (!fresh[path[i + 1]] || !this.map.present[k] || !this.map.up[k] || this.map.loss[k] > this.p.maxLossPct) return Infinity
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
    const best = r.dst < 0 ? bestForward(t, r.service.exits, oc!) : bestTo(t, r.dst)
    const active = r.slot.active
    const activeCost = active === undefined ? Infinity : pathCost(t.w, this.n, active.path, oc)
    r.slot.update(nowMs, best, activeCost)
    r.backup = r.service.redundant ? this.pickBackup(r, t, oc) : undefined
  }

  /**
   * Best path edge-disjoint from the active primary. The current backup is
   * kept while it still works and the new one is not significantly better, so
   * the second copy of each packet does not hop around either.
   */
  private pickBackup(r: RouteEntry, t: Tree, oc: ((e: number) => number) | undefined): number[] | undefined {
    const primary = r.slot.active?.path
    if (primary === undefined) return undefined
    const t2 = treeWithout(t, primary, this.backupW, this.backupSp)
    let cand: Candidate | undefined
    if (r.dst < 0) cand = bestForward(t2, r.service.exits, oc!, primary)
    else if (primary.length > 1) cand = bestTo(t2, r.dst)
    const old = r.backup
    if (old !== undefined && !samePath(old, primary) && edgeDisjoint(old, primary)) {
      const oldCost = pathCost(t.w, this.n, old, oc)
      if (Number.isFinite(oldCost) && (cand === undefined || !significantlyBetter(cand.costMs, oldCost))) return old
    }
    return cand?.path
  }
}
