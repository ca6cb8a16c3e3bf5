/**
 * The oracle: best one-way latency between every ordered pair of relays,
 * computed from the TRUE delays with the same hop cost and the same limit on
 * relays per path as the routers use. Paths are scored with `pathCostMs`.
 */

import { MAX_PATH_RELAYS } from '../wire/data.js'

/** Relays per path the routers may use (first and last included): the data header's limit. */
export { MAX_PATH_RELAYS }

/**
 * Hop-limited Bellman-Ford from every source: cost[s * n + t] is the least
 * sum of edge delays plus hopCostMs per intermediate relay over paths of at
 * most maxRelays relays (Infinity when unreachable, 0 on the diagonal).
 * Non-negative weights make the best walk a simple path, so walks are fine.
 * `delayMs` uses NaN or Infinity for a missing or cut link.
 */
export function oracleCosts(n: number, delayMs: Float64Array, hopCostMs: number, maxRelays = MAX_PATH_RELAYS): Float64Array {
  const out = new Float64Array(n * n)
  // Each edge costs delay + hopCost; the last edge's hop cost is taken off at the end.
  const w = new Float64Array(n * n)
  for (let k = 0; k < n * n; k++) {
    const v = delayMs[k]
    w[k] = v === v && v !== Infinity ? v + hopCostMs : Infinity
  }
  let cur = new Float64Array(n)
  let nxt = new Float64Array(n)
  // Only a relay whose cost improved in the last round can improve others in
  // this one (the rest were relaxed from with the same cost already).
  let moved = new Uint8Array(n)
  let moves = new Uint8Array(n)
  for (let s = 0; s < n; s++) {
    for (let t = 0; t < n; t++) cur[t] = w[s * n + t]
    cur[s] = 0
    moved.fill(1)
    for (let edges = 2; edges < maxRelays; edges++) {
      let changed = false
      nxt.set(cur)
      moves.fill(0)
      for (let u = 0; u < n; u++) {
        const du = cur[u]
        if (moved[u] === 0 || du === Infinity || u === s) continue
        const row = u * n
        for (let t = 0; t < n; t++) {
          const c = du + w[row + t]
          if (c < nxt[t]) {
            nxt[t] = c
            moves[t] = 1
            changed = true
          }
        }
      }
      const tmp = cur
      cur = nxt
      nxt = tmp
      const m = moved
      moved = moves
      moves = m
      if (!changed) break
    }
    for (let t = 0; t < n; t++) out[s * n + t] = t === s ? 0 : cur[t] - hopCostMs
  }
  return out
}

/** True one-way latency of a path of relay indices: delays plus hopCostMs per intermediate relay. */
export function pathCostMs(n: number, delayMs: Float64Array, hopCostMs: number, path: ArrayLike<number>): number {
  if (path.length < 2) return Infinity
  let sum = hopCostMs * (path.length - 2)
  for (let i = 0; i + 1 < path.length; i++) {
    const v = delayMs[path[i] * n + path[i + 1]]
    if (!(v === v) || v === Infinity) return Infinity
    sum += v
  }
  return sum
}

/** The tolerance a chosen path must meet: within max(0.5 ms, 2%) of the oracle. */
export function withinTolerance(chosenMs: number, oracleMs: number): boolean {
  return chosenMs <= oracleMs + Math.max(0.5, 0.02 * oracleMs)
}
