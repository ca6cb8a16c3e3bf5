/**
 * Builds a LinkMap straight from true delays and clock offsets (no probing),
 * for testing route computation against a brute-force oracle.
 */
import { MAP_MSG_TYPE, MAP_MSG_VERSION } from '../../../src/route/control-message.js'
import type { EdgeTuple } from '../../../src/route/control-message.js'
import { LinkMap } from '../../../src/route/link-map.js'

export interface Matrix {
  n: number
  names: string[]
  /** True one-way delay [u*n+v]; Infinity = no edge. */
  delay: Float64Array
  offset: Float64Array
}

export function randomMatrix(rnd: () => number, n: number, density: number, offsetSpanMs: number): Matrix {
  const delay = new Float64Array(n * n).fill(Infinity)
  for (let u = 0; u < n; u++) for (let v = 0; v < n; v++) if (u !== v && rnd() < density) delay[u * n + v] = 1 + rnd() * 99
  const offset = Float64Array.from({ length: n }, () => (rnd() * 2 - 1) * offsetSpanMs)
  return { n, names: Array.from({ length: n }, (_, i) => `r${i}`), delay, offset }
}

/** pseudo(u->v) = true delay + offset_v - offset_u */
export function pseudo(m: Matrix, u: number, v: number): number {
  return m.delay[u * m.n + v] + m.offset[v] - m.offset[u]
}

/** A LinkMap holding every finite edge, with thetas off by up to +-thetaNoiseMs. */
export function mapOf(m: Matrix, rnd: () => number, thetaNoiseMs: number): LinkMap {
  const idx = new Map(m.names.map((r, i) => [r, i]))
  const map = new LinkMap(idx, new Map(), 5)
  for (let v = 0; v < m.n; v++) {
    const edges: EdgeTuple[] = []
    for (let u = 0; u < m.n; u++) {
      const d = m.delay[u * m.n + v]
      if (u === v || d === Infinity) continue
      const back = m.delay[v * m.n + u]
      const theta = m.offset[v] - m.offset[u] + (rnd() * 2 - 1) * thetaNoiseMs
      const rtt = back === Infinity ? null : d + back
      edges.push([m.names[u], pseudo(m, u, v), pseudo(m, u, v), rtt === null ? null : theta, rtt, 0, 0, true])
    }
    map.apply(0, { type: MAP_MSG_TYPE, v: MAP_MSG_VERSION, origin: m.names[v], boot: 1, seq: 1, edges, origins: [] })
  }
  return map
}

/** Brute force: the cheapest simple path src -> dst by summed pseudo delay, at most maxRelays relays. */
export function bruteForce(m: Matrix, src: number, dst: number, maxRelays: number): { cost: number; path: number[] } | undefined {
  let best: { cost: number; path: number[] } | undefined
  const path = [src]
  const on = new Uint8Array(m.n)
  on[src] = 1
  const walk = (u: number, cost: number): void => {
    if (u === dst) {
      if (best === undefined || cost < best.cost - 1e-9) best = { cost, path: [...path] }
      return
    }
    if (path.length >= maxRelays) return
    for (let v = 0; v < m.n; v++) {
      if (on[v] || m.delay[u * m.n + v] === Infinity) continue
      on[v] = 1
      path.push(v)
      walk(v, cost + pseudo(m, u, v))
      path.pop()
      on[v] = 0
    }
  }
  walk(src, 0)
  return best
}

export function pseudoCost(m: Matrix, path: number[]): number {
  let c = 0
  for (let i = 0; i + 1 < path.length; i++) c += pseudo(m, path[i], path[i + 1])
  return c
}
