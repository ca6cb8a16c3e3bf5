import { MAX_PATH_RELAYS } from '../wire/data.js'
import { boundedPath, tracePath } from './dijkstra.js'
import type { SpScratch } from './dijkstra.js'
import { samePath } from './hysteresis.js'
import type { Candidate } from './hysteresis.js'

/** A path may visit at most this many relays (ingress and exit included): the data header's path field (wire/data.ts). */
export { MAX_PATH_RELAYS }

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

/** True when `a` and `b` share no relay but their first and last (a redundant pair's common ingress and exit). */
export function relayDisjoint(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 1; i + 1 < a.length; i++) if (b.includes(a[i])) return false
  for (let i = 1; i + 1 < b.length; i++) if (a.includes(b[i])) return false
  return edgeDisjoint(a, b)
}

/**
 * Runs `fn` on a tree over `t.w` with the primary path's edges removed, for
 * the best edge-disjoint second path; with `relays`, every edge into the
 * primary's intermediate relays too, for a relay-disjoint one. The removed weights are put back
 * afterwards (cheaper than copying a V x V matrix); `t`'s own shortest-path
 * arrays are left untouched (the search uses `scratchSp`). `t.sp` must be
 * the tree of `t.w` as it is (see replacementTree). `targets` are the relays
 * `fn` will read: the search may stop once they are final.
 */
export function withoutPath<T>(t: Tree, primary: readonly number[], scratchSp: SpScratch, targets: readonly number[], fn: (t2: Tree) => T, relays = false): T {
  const keys: number[] = []
  const saved: number[] = []
  const remove = (k: number): void => {
    keys.push(k)
    saved.push(t.w[k])
    t.w[k] = Infinity
  }
  for (let i = 0; i + 1 < primary.length; i++) remove(primary[i] * t.n + primary[i + 1])
  if (relays) for (let i = 1; i + 1 < primary.length; i++) for (let u = 0; u < t.n; u++) remove(u * t.n + primary[i])
  try {
    replacementTree(t, scratchSp, targets)
    return fn({ n: t.n, self: t.self, w: t.w, sp: scratchSp })
  } finally {
    // Backwards: a weight removed twice gets its original value last.
    for (let i = keys.length - 1; i >= 0; i--) t.w[keys[i]] = saved[i]
  }
}

const UNKNOWN = 0
const AFFECTED = 1
const KEPT = 2

/**
 * Shortest paths over `t.w` after some edges of `t.sp`'s tree were set to
 * Infinity, into `out`. Removing edges only lengthens paths, so a relay
 * whose tree path uses no removed edge keeps its distance and path; only
 * the affected relays (below a removed tree edge) are searched again: each
 * starts from its best edge out of the kept part, then Dijkstra runs among
 * the affected relays alone. O(V + |A| x V) instead of O(V^2) for a full
 * run, and a backup's primary usually cuts off a small subtree. Stops once
 * every affected target is final.
 */
export function replacementTree(t: Tree, out: SpScratch, targets: readonly number[]): void {
  const { n, w } = t
  const { dist: d0, prev: p0, hops: h0 } = t.sp
  const { dist, prev, hops, done, mark, list } = out
  dist.set(d0)
  prev.set(p0)
  hops.set(h0)
  mark.fill(UNKNOWN)
  mark[t.self] = KEPT
  let na = 0
  for (let v = 0; v < n; v++) {
    if (mark[v] !== UNKNOWN) continue
    // Walk up to a classified relay (or the root / an unreachable one), then classify the way back down.
    let x = v
    let depth = 0
    while (mark[x] === UNKNOWN && p0[x] >= 0 && depth < n) {
      list[n - 1 - depth++] = x
      x = p0[x]
    }
    let m = mark[x] === UNKNOWN ? KEPT : mark[x]
    if (mark[x] === UNKNOWN) mark[x] = KEPT
    for (let i = n - depth; i < n; i++) {
      const y = list[i]
      if (m === KEPT && w[p0[y] * n + y] === Infinity) m = AFFECTED
      mark[y] = m
    }
  }
  for (let v = 0; v < n; v++) {
    if (mark[v] !== AFFECTED) continue
    list[na++] = v
    dist[v] = Infinity
    prev[v] = -1
    hops[v] = 0
    done[v] = 0
  }
  if (na === 0) return
  // Best entry into each affected relay from the kept part.
  for (let u = 0; u < n; u++) {
    const du = dist[u]
    if (mark[u] !== KEPT || !(du < Infinity)) continue
    const row = u * n
    const nh = hops[u] + 1
    for (let i = 0; i < na; i++) {
      const a = list[i]
      const d = du + w[row + a]
      if (d < dist[a]) {
        dist[a] = d
        prev[a] = u
        hops[a] = nh
      }
    }
  }
  let remaining = 0
  for (const x of targets) if (mark[x] === AFFECTED) remaining++
  if (remaining === 0) return
  for (let iter = 0; iter < na; iter++) {
    let u = -1
    let best = Infinity
    for (let i = 0; i < na; i++) {
      const a = list[i]
      if (done[a] === 0 && dist[a] < best) {
        best = dist[a]
        u = a
      }
    }
    if (u < 0) return
    done[u] = 1
    if (targets.includes(u) && --remaining === 0) return
    const row = u * n
    const nh = hops[u] + 1
    for (let i = 0; i < na; i++) {
      const a = list[i]
      const d = best + w[row + a]
      if (d < dist[a] && done[a] === 0) {
        dist[a] = d
        prev[a] = u
        hops[a] = nh
      }
    }
  }
}
