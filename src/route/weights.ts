import { EDGE_FIELDS, F_JITTER, F_LOSS, F_PRESENT, F_PSEUDO, F_UP } from './link-map.js'
import type { LinkMap } from './link-map.js'
import { penaltyMs } from './profiles.js'
import type { RoutingProfile } from './profiles.js'

export interface WeightParams {
  self: number
  profile: RoutingProfile
  hopCostMs: number
  maxLossPct: number
}

/**
 * Reweighted delay of u->v: pseudo(u->v) + h(u) - h(v). Exactly the true
 * delay when the potentials are exact; otherwise off by (err_v - err_u) where
 * err is each potential's error. A path's reweighted sum differs from its
 * pseudo sum by h(first) - h(last) only, so among paths with the same
 * endpoints the ranking is the exact pseudo ranking - except where the clamp
 * in buildWeights fires (see docs/one-way-latency.md: it adds at most the clamped
 * amount to a path's cost; after repairPotentials it never fires).
 * Returns NaN when the edge is unusable (absent, down, stale, too lossy,
 * or an endpoint without potential).
 */
export function edgeDelay(map: LinkMap, u: number, v: number, h: Float64Array, fresh: Uint8Array, maxLossPct: number): number {
  const k = u * map.n + v
  if (u === v || !fresh[v] || !map.usable(k, maxLossPct)) return NaN
  return Math.max(0, map.edge[EDGE_FIELDS * k + F_PSEUDO] + h[u] - h[v])
}

/**
 * Fills W (V x V) for one profile from the usable-edge mask (see
 * usableMask); returns how many edges needed clamping at 0. Arrays are
 * hoisted into locals: this loop runs V^2 times per profile.
 */
export function buildWeights(map: LinkMap, h: Float64Array, usable: Uint8Array, p: WeightParams, w: Float64Array): number {
  const n = map.n
  const r = map.edge
  const jw = p.profile.jitterWeight
  const lw = p.profile.lossMsPerPct
  let clamped = 0
  for (let u = 0; u < n; u++) {
    const row = u * n
    const hop = u === p.self ? 0 : p.hopCostMs
    const hu = h[u]
    for (let v = 0; v < n; v++) {
      const k = row + v
      if (usable[k] === 0) {
        w[k] = Infinity
        continue
      }
      const o = EDGE_FIELDS * k
      let d = r[o + F_PSEUDO] + hu - h[v]
      if (!(d >= 0)) {
        if (d !== d) {
          w[k] = Infinity
          continue
        }
        // After repairPotentials this is only float rounding (~1e-9); a real
        // clamp happens only if the repair gave up, and is counted.
        if (d < -1e-6) clamped++
        d = 0
      }
      w[k] = d + hop + jw * r[o + F_JITTER] + lw * r[o + F_LOSS]
    }
  }
  return clamped
}

/** Marks the edges that may carry traffic: present, up, measured by a fresh column, loss within the limit. */
export function usableMask(map: LinkMap, fresh: Uint8Array, maxLossPct: number, out: Uint8Array): void {
  const n = map.n
  const r = map.edge
  for (let u = 0; u < n; u++) {
    const row = u * n
    for (let v = 0; v < n; v++) {
      const k = row + v
      const o = EDGE_FIELDS * k
      out[k] = u !== v && fresh[v] === 1 && r[o + F_PRESENT] === 1 && r[o + F_UP] === 1 && r[o + F_LOSS] <= maxLossPct ? 1 : 0
    }
  }
}

/**
 * Estimated true delay of exit -> origin for service s, or NaN if unusable.
 * twamp: fwd pseudo reweighted with the service's single origin potential.
 * icmp: rtt/2 as flooded (assumes a symmetric CNI link; see the docs).
 */
export function originDelay(map: LinkMap, s: number, exit: number, h: Float64Array, hOrigin: number, fresh: Uint8Array, maxLossPct: number): number {
  const k = s * map.n + exit
  if (!fresh[exit] || !map.oPresent[k] || !map.oUp[k] || map.oLoss[k] > maxLossPct || !Number.isFinite(h[exit])) return NaN
  if (!map.oTwamp[k]) return map.oFwd[k]
  if (!Number.isFinite(hOrigin)) return NaN
  // Not clamped: the origin leg is added after Dijkstra, so a negative value
  // breaks nothing, and clamping would distort the comparison between exits.
  return map.oFwd[k] + h[exit] - hOrigin
}

export function originPenalty(map: LinkMap, s: number, exit: number, p: RoutingProfile): number {
  const k = s * map.n + exit
  return penaltyMs(p, map.oJitter[k], map.oLoss[k])
}
