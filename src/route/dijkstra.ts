/**
 * Single-source shortest paths on a dense V x V weight matrix
 * (W[u * V + v], Infinity = no edge, all weights >= 0): the O(V^2) array
 * version of Dijkstra, which beats a heap on a dense graph. Scratch arrays
 * are preallocated by the caller and reused across runs.
 */
export interface SpScratch {
  dist: Float64Array
  prev: Int32Array
  hops: Int32Array
  done: Uint8Array
  /** Scratch for replacementTree (path-select.ts). */
  mark: Uint8Array
  list: Int32Array
}

export function spScratch(n: number): SpScratch {
  // Until the first run, nothing is reachable.
  return {
    dist: new Float64Array(n).fill(Infinity), prev: new Int32Array(n).fill(-1), hops: new Int32Array(n), done: new Uint8Array(n),
    mark: new Uint8Array(n), list: new Int32Array(n),
  }
}

/**
 * Fills s.dist / s.prev / s.hops (edges on the path) from `src`. Ties go to
 * the lower relay index. With `targets`, stops as soon as all of them are
 * settled (their entries are final; others may not be).
 */
export function denseDijkstra(w: Float64Array, n: number, src: number, s: SpScratch, targets?: readonly number[]): void {
  const { dist, prev, hops, done } = s
  let remaining = targets === undefined ? -1 : targets.length
  dist.fill(Infinity)
  prev.fill(-1)
  hops.fill(0)
  done.fill(0)
  dist[src] = 0
  for (let iter = 0; iter < n; iter++) {
    let u = -1
    let best = Infinity
    for (let i = 0; i < n; i++) {
      if (done[i] === 0 && dist[i] < best) {
        best = dist[i]
        u = i
      }
    }
    if (u < 0) break
    done[u] = 1
    if (remaining > 0 && targets!.includes(u) && --remaining === 0) break
    const row = u * n
    const nh = hops[u] + 1
    for (let v = 0; v < n; v++) {
      const d = best + w[row + v]
      if (d < dist[v] && done[v] === 0) {
        dist[v] = d
        prev[v] = u
        hops[v] = nh
      }
    }
  }
}

/** The path src..dst from a prev array, or undefined when dst is unreachable. */
export function tracePath(prev: Int32Array, src: number, dst: number, n: number): number[] | undefined {
  const path = [dst]
  let v = dst
  while (v !== src) {
    v = prev[v]
    if (v < 0 || path.length > n) return undefined
    path.push(v)
  }
  return path.reverse()
}

/**
 * Shortest path from src to dst using at most `maxEdges` edges (Bellman-Ford
 * by levels, O(maxEdges * V^2)). Only used when Dijkstra's unconstrained path
 * is longer than the relay limit, which is rare. With weights >= 0 a cheapest
 * bounded walk can always be shortened to a simple path, and we do.
 */
export function boundedPath(w: Float64Array, n: number, src: number, dst: number, maxEdges: number): { cost: number; path: number[] } | undefined {
  const levels: Float64Array[] = [new Float64Array(n).fill(Infinity)]
  const back: Int32Array[] = [new Int32Array(n).fill(-1)]
  levels[0][src] = 0
  for (let k = 1; k <= maxEdges; k++) {
    const prevL = levels[k - 1]
    const cur = Float64Array.from(prevL)
    const b = new Int32Array(n).fill(-1)
    for (let u = 0; u < n; u++) {
      const du = prevL[u]
      if (du === Infinity) continue
      const row = u * n
      for (let v = 0; v < n; v++) {
        const d = du + w[row + v]
        if (d < cur[v]) {
          cur[v] = d
          b[v] = u
        }
      }
    }
    levels.push(cur)
    back.push(b)
  }
  if (levels[maxEdges][dst] === Infinity) return undefined
  const walk = [dst]
  let v = dst
  for (let k = maxEdges; k > 0 && v !== src; k--) {
    // Find the level where v's value was set (b[v] >= 0), walking down.
    while (k > 0 && back[k][v] < 0) k--
    if (k === 0) break
    v = back[k][v]
    walk.push(v)
  }
  walk.reverse()
  const path = dropCycles(walk)
  return { cost: levels[maxEdges][dst], path }
}

function dropCycles(walk: number[]): number[] {
  const out: number[] = []
  const at = new Map<number, number>()
  for (const v of walk) {
    const i = at.get(v)
    if (i !== undefined) {
      for (const x of out.splice(i + 1)) at.delete(x)
    } else {
      at.set(v, out.length)
      out.push(v)
    }
  }
  return out
}
