/**
 * Scoring a run: every ordered relay pair's chosen path (router_s.pathTo(t))
 * is costed with the TRUE delays and compared with the oracle and with the
 * direct edge.
 */
import { pathCostMs, withinTolerance } from './oracle.js'

/** The routers' switching margin: max(1 ms, 5%) of the active path's cost. */
const SWITCH_MARGIN_MS = 1
const SWITCH_MARGIN_REL = 0.05

/** What scoring needs from a simulation. */
export interface Scorable {
  readonly n: number
  readonly delayMs: Float64Array
  readonly oracle: Float64Array
  readonly hopCostMs: number
  chosenPath(s: number, t: number): number[] | undefined
}

export interface PairScore {
  /** Ordered pairs (s, t) that the oracle can connect. */
  pairs: number
  /** Ordered pairs the oracle cannot connect at all (no links). */
  unreachable_pairs: number
  /** Reachable pairs whose router holds no usable path (or one over a cut/missing link). */
  no_path_pairs: number
  within_tolerance: number
  /** Improvement of the chosen path over the direct edge, % (pairs with a direct link and a path). */
  mean_improvement_pct: number
  median_improvement_pct: number
  p90_improvement_pct: number
  oracle_mean_improvement_pct: number
  oracle_median_improvement_pct: number
  /** Pairs whose chosen path uses at least one intermediate relay. */
  multi_hop_fraction: number
  /** Unordered pairs whose forward path is not the reverse of the reverse path. */
  reverse_paths_differ: number
  reverse_paths_differ_fraction: number
}

/**
 * 1 when pair p = s * n + t is within tolerance of the oracle (or the oracle
 * cannot reach t either), else 0. With `pairs`, only those pair ids, in order.
 */
export function statusOfPairs(sim: Scorable, pairs: Int32Array | undefined): Uint8Array {
  const n = sim.n
  const count = pairs === undefined ? n * n : pairs.length
  const out = new Uint8Array(count)
  for (let i = 0; i < count; i++) {
    const p = pairs === undefined ? i : pairs[i]
    const s = Math.floor(p / n)
    const t = p % n
    const best = sim.oracle[p]
    if (s === t || best === Infinity) {
      out[i] = 1
      continue
    }
    const path = sim.chosenPath(s, t)
    const cost = path === undefined ? Infinity : pathCostMs(n, sim.delayMs, sim.hopCostMs, path)
    out[i] = withinTolerance(cost, best) ? 1 : 0
  }
  return out
}

export function scorePairs(sim: Scorable): PairScore {
  const n = sim.n
  const paths: (number[] | undefined)[] = new Array(n * n)
  let pairs = 0
  let unreachable = 0
  let noPath = 0
  let within = 0
  let multiHop = 0
  const gain: number[] = []
  const oracleGain: number[] = []
  for (let s = 0; s < n; s++) {
    for (let t = 0; t < n; t++) {
      if (s === t) continue
      const p = s * n + t
      const best = sim.oracle[p]
      if (best === Infinity) {
        unreachable++
        continue
      }
      pairs++
      const path = (paths[p] = sim.chosenPath(s, t))
      const cost = path === undefined ? Infinity : pathCostMs(n, sim.delayMs, sim.hopCostMs, path)
      if (cost === Infinity) noPath++
      if (withinTolerance(cost, best)) within++
      if (path !== undefined && path.length > 2) multiHop++
      const direct = sim.delayMs[p]
      if (direct === direct && direct > 0 && direct < Infinity && cost < Infinity) {
        gain.push((100 * (direct - cost)) / direct)
        oracleGain.push((100 * (direct - best)) / direct)
      }
    }
  }
  let differ = 0
  let unordered = 0
  for (let s = 0; s < n; s++) {
    for (let t = s + 1; t < n; t++) {
      const f = paths[s * n + t]
      const r = paths[t * n + s]
      if (f === undefined || r === undefined) continue
      unordered++
      if (!isReverse(f, r)) differ++
    }
  }
  return {
    pairs,
    unreachable_pairs: unreachable,
    no_path_pairs: noPath,
    within_tolerance: pairs === 0 ? 1 : within / pairs,
    mean_improvement_pct: mean(gain),
    median_improvement_pct: quantile(gain, 0.5),
    p90_improvement_pct: quantile(gain, 0.9),
    oracle_mean_improvement_pct: mean(oracleGain),
    oracle_median_improvement_pct: quantile(oracleGain, 0.5),
    multi_hop_fraction: pairs === 0 ? 0 : multiHop / pairs,
    reverse_paths_differ: differ,
    reverse_paths_differ_fraction: unordered === 0 ? 0 : differ / unordered,
  }
}

function isReverse(f: number[], r: number[]): boolean {
  if (f.length !== r.length) return false
  for (let i = 0; i < f.length; i++) if (f[i] !== r[r.length - 1 - i]) return false
  return true
}

function mean(xs: number[]): number {
  return xs.length === 0 ? 0 : round(xs.reduce((a, b) => a + b, 0) / xs.length)
}

/** Nearest-rank quantile. */
function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return 0
  const sorted = [...xs].sort((a, b) => a - b)
  return round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))])
}

/** Four decimals keep the JSON readable and stable. */
function round(x: number): number {
  return Math.round(x * 1e4) / 1e4
}

/** How far (%) above the oracle each listed pair that is outside tolerance is (Infinity = no usable path). */
export function gapsOutsideTolerancePct(sim: Scorable, pairs: Int32Array): number[] {
  const n = sim.n
  const out: number[] = []
  for (const p of pairs) {
    const path = sim.chosenPath(Math.floor(p / n), p % n)
    const cost = path === undefined ? Infinity : pathCostMs(n, sim.delayMs, sim.hopCostMs, path)
    const best = sim.oracle[p]
    if (!withinTolerance(cost, best)) out.push(best > 0 ? (100 * (cost - best)) / best : Infinity)
  }
  return out
}

/**
 * How many of the listed pairs the routers' switching rule (docs/routing.md,
 * Hysteresis) would still move if their estimates were exact: the oracle's
 * path is better than the chosen one by more than max(1 ms, 5% of the
 * chosen path's cost). The rule is restated here, not imported, because
 * the simulator sees routers only through the Router interface.
 */
export function countBeyondSwitchMargin(sim: Scorable, pairs: Int32Array): number {
  const n = sim.n
  let count = 0
  for (const p of pairs) {
    const path = sim.chosenPath(Math.floor(p / n), p % n)
    const cost = path === undefined ? Infinity : pathCostMs(n, sim.delayMs, sim.hopCostMs, path)
    if (beyondSwitchMargin(cost, sim.oracle[p])) count++
  }
  return count
}

/** No usable path (a cut) is beyond any margin: routers replace a broken route at once. */
function beyondSwitchMargin(chosenMs: number, oracleMs: number): boolean {
  if (oracleMs === Infinity) return false
  return chosenMs === Infinity || oracleMs < chosenMs - Math.max(SWITCH_MARGIN_MS, SWITCH_MARGIN_REL * chosenMs)
}
