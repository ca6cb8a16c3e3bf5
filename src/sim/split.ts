/**
 * Splitting the relays over two event loops (threads) for the parallel run.
 * The two halves advance in windows as long as the smallest one-way delay
 * between them (the lookahead): a message sent across during a window
 * arrives after it ends. So the split wants (1) halves of near-equal size,
 * since every relay costs about the same, and (2) the largest smallest
 * delay between them, since each window ends with a barrier.
 *
 * Exact for that objective: join relays along links in increasing delay
 * order (single linkage); the lookahead L is achievable by a split iff the
 * groups formed by every link shorter than L can be put into two halves of
 * allowed sizes (a subset sum over group sizes). The largest such L is
 * found by bisection over the sorted links.
 */

/** Each half holds at least this fraction of the relays. */
export const DEFAULT_MIN_SHARE = 0.48

export interface RelaySplit {
  /** Half (0 or 1) of each relay. */
  owner: Uint8Array
  /** Smallest one-way delay between the halves, ms (Infinity when nothing crosses). */
  lookaheadMs: number
}

/**
 * The split of n relays into two halves of at least minShare * n relays
 * with the largest lookahead over `delayMs` (row-major n x n, NaN = no
 * link, both directions count). Deterministic: ties go to lower indices.
 */
export function splitRelays(n: number, delayMs: Float64Array, minShare = DEFAULT_MIN_SHARE): RelaySplit {
  const lo = Math.max(1, Math.floor(minShare * n))
  const hi = n - lo
  if (n < 2 || lo > hi) return { owner: new Uint8Array(n), lookaheadMs: Infinity }
  // Undirected links by their smaller direction, ascending.
  const links: number[] = []
  const w = new Float64Array(n * n)
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const x = delayMs[a * n + b]
      const y = delayMs[b * n + a]
      const m = x === x ? (y === y ? Math.min(x, y) : x) : y
      if (m === m) {
        w[a * n + b] = m
        links.push(a * n + b)
      }
    }
  }
  links.sort((p, q) => w[p] - w[q] || p - q)
  // The largest k such that joining links[0..k) still allows a balanced split.
  let ok = 0
  let bad = links.length + 1
  while (bad - ok > 1) {
    const mid = (ok + bad) >> 1
    if (balancedHalves(n, links, mid, lo, hi) === undefined) bad = mid
    else ok = mid
  }
  const owner = balancedHalves(n, links, ok, lo, hi)!
  return { owner, lookaheadMs: crossLookaheadMs(n, delayMs, owner) }
}

/** Smallest delay of a link (either direction) whose ends are in different halves. */
export function crossLookaheadMs(n: number, delayMs: Float64Array, owner: Uint8Array): number {
  let min = Infinity
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      if (owner[a] === owner[b]) continue
      const d = delayMs[a * n + b]
      if (d < min) min = d
    }
  }
  return min
}

/** Halves of sizes in [lo, hi] that keep every one of the first k links inside a half, or undefined. */
function balancedHalves(n: number, links: number[], k: number, lo: number, hi: number): Uint8Array | undefined {
  const parent = Int32Array.from({ length: n }, (_, i) => i)
  const find = (x: number): number => {
    while (parent[x] !== x) x = parent[x] = parent[parent[x]]
    return x
  }
  for (let i = 0; i < k; i++) {
    const a = find(Math.floor(links[i] / n))
    const b = find(links[i] % n)
    if (a !== b) parent[Math.max(a, b)] = Math.min(a, b)
  }
  const roots: number[] = []
  const size = new Int32Array(n)
  for (let v = 0; v < n; v++) {
    const r = find(v)
    if (size[r]++ === 0) roots.push(r)
  }
  // Subset sum over group sizes; from[s] = the group that first reached sum s.
  const from = new Int32Array(n + 1).fill(-1)
  const reach = new Uint8Array(n + 1)
  reach[0] = 1
  for (let g = 0; g < roots.length; g++) {
    const sz = size[roots[g]]
    for (let s = n; s >= sz; s--) {
      if (reach[s] === 0 && reach[s - sz] === 1) {
        reach[s] = 1
        from[s] = g
      }
    }
  }
  // The most even reachable size.
  let best = -1
  for (let s = lo; s <= hi; s++) if (reach[s] === 1 && (best < 0 || Math.abs(2 * s - n) < Math.abs(2 * best - n))) best = s
  if (best < 0) return undefined
  const inOne = new Uint8Array(n)
  for (let s = best; s > 0; s -= size[roots[from[s]]]) inOne[roots[from[s]]] = 1
  const owner = new Uint8Array(n)
  for (let v = 0; v < n; v++) owner[v] = inOne[find(v)]
  return owner
}
