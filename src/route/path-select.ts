import { boundedPath, denseDijkstra, tracePath } from './dijkstra.js'
import type { SpScratch } from './dijkstra.js'
import { samePath } from './hysteresis.js'
import type { Candidate } from './hysteresis.js'

/** A path may visit at most this many relays (ingress and exit included). */
export const MAX_PATH_RELAYS = 8

/** Shortest-path tree from `self` over one weight matrix (after denseDijkstra). */
export interface Tree {
  n: number
  self: number
  w: Float64Array
  sp: SpScratch
}

/** Cheapest path self -> dst with at most MAX_PATH_RELAYS relays, or undefined. */
export function bestTo(t: Tree, dst: number): Candidate | undefined {
  if (dst === t.self) return { path: [t.self], costMs: 0 }
  if (!(t.sp.dist[dst] < Infinity)) return undefined
  if (t.sp.hops[dst] + 1 <= MAX_PATH_RELAYS) {
    const path = tracePath(t.sp.prev, t.self, dst, t.n)
    return path && { path, costMs: t.sp.dist[dst] }
  }
  // Dijkstra's unconstrained path is too long: the hop-bounded optimum for this target.
  const b = boundedPath(t.w, t.n, t.self, dst, MAX_PATH_RELAYS - 1)
  return b && { path: b.path, costMs: b.cost }
}

/**
 * Best (exit, path) for a forward route: minimises path cost + the exit's
 * origin cost (NaN = exit unusable). `exclude` skips one exact path (used when
 * looking for a backup). Ties go to the earlier exit in `exits`.
 */
export function bestForward(t: Tree, exits: readonly number[], originCost: (exit: number) => number, exclude?: readonly number[]): Candidate | undefined {
  let best: Candidate | undefined
  for (const e of exits) {
    const oc = originCost(e)
    if (Number.isNaN(oc)) continue
    const c = bestTo(t, e)
    if (c === undefined || samePath(c.path, exclude)) continue
    const cost = c.costMs + oc
    if (best === undefined || cost < best.costMs) best = { path: c.path, costMs: cost }
  }
  return best
}

/** Sum of weights along `path` (+ the origin cost of its last relay if given); Infinity when any part is unusable. */
export function pathCost(w: Float64Array, n: number, path: readonly number[], originCost?: (exit: number) => number): number {
  let c = 0
  for (let i = 0; i + 1 < path.length; i++) c += w[path[i] * n + path[i + 1]]
  if (originCost !== undefined) {
    const oc = originCost(path[path.length - 1])
    c += Number.isNaN(oc) ? Infinity : oc
  }
  return Number.isNaN(c) ? Infinity : c
}

export function edgeDisjoint(a: readonly number[], b: readonly number[]): boolean {
  const used = new Set<number>()
  for (let i = 0; i + 1 < a.length; i++) used.add(a[i] * 65536 + a[i + 1])
  for (let i = 0; i + 1 < b.length; i++) if (used.has(b[i] * 65536 + b[i + 1])) return false
  return true
}

/**
 * Runs `fn` on a tree over `t.w` with the primary path's edges removed, for
 * the best edge-disjoint second path. The removed weights are put back
 * afterwards (cheaper than copying a V x V matrix); `t`'s own shortest-path
 * arrays are left untouched (the search uses `scratchSp`).
 */
export function withoutPath<T>(t: Tree, primary: readonly number[], scratchSp: SpScratch, targets: readonly number[], fn: (t2: Tree) => T): T {
  const saved: number[] = []
  for (let i = 0; i + 1 < primary.length; i++) {
    const k = primary[i] * t.n + primary[i + 1]
    saved.push(t.w[k])
    t.w[k] = Infinity
  }
  try {
    denseDijkstra(t.w, t.n, t.self, scratchSp, targets)
    return fn({ n: t.n, self: t.self, w: t.w, sp: scratchSp })
  } finally {
    for (let i = 0; i + 1 < primary.length; i++) t.w[primary[i] * t.n + primary[i + 1]] = saved[i]
  }
}
