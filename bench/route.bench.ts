/**
 * Route computation on dense maps. Baseline: one plain single-source dense
 * Dijkstra on a prebuilt 330-relay matrix. The full computation adds the
 * potentials (min-RTT tree + repair), one weight matrix + Dijkstra per
 * profile in use (3), every forward/reply route with damping (and a route
 * per exit for the 3-exit services), and relay-disjoint backups. Budget: <= 20 ms for 330 relays.
 */
import { ratioSuite } from './lib.js'
import { MAP_MSG_TYPE, MAP_MSG_VERSION } from '../src/route/control-message.js'
import type { EdgeTuple, OriginTuple } from '../src/route/control-message.js'
import { denseDijkstra, spScratch } from '../src/route/dijkstra.js'
import { EDGE_FIELDS, F_PRESENT, F_PSEUDO, F_THETA, LinkMap } from '../src/route/link-map.js'
import { RouteTable } from '../src/route/route-table.js'
import type { ServiceInfo } from '../src/route/route-table.js'
import { seededRandom } from '../src/route/seeded-random.js'

const HOUR = 3_600_000

export function denseMap(n: number, services: ServiceInfo[]): LinkMap {
  const rnd = seededRandom(n)
  const names = Array.from({ length: n }, (_, i) => `r${i}`)
  const offset = Array.from({ length: n }, () => (rnd() * 2 - 1) * HOUR)
  // Relays on a plane; delay ~ distance plus a little asymmetry.
  const xy = Array.from({ length: n }, () => [rnd() * 100, rnd() * 60])
  const delay = (u: number, v: number) => 1 + Math.hypot(xy[u][0] - xy[v][0], xy[u][1] - xy[v][1]) * (1 + 0.3 * rnd())
  const d = new Float64Array(n * n)
  for (let u = 0; u < n; u++) for (let v = 0; v < n; v++) if (u !== v) d[u * n + v] = delay(u, v)
  const map = new LinkMap(new Map(names.map((r, i) => [r, i])), new Map(services.map((s) => [s.name, s.index])), 5)
  for (let v = 0; v < n; v++) {
    const edges: EdgeTuple[] = []
    for (let u = 0; u < n; u++) {
      if (u === v) continue
      const p = d[u * n + v] + offset[v] - offset[u]
      const theta = offset[v] - offset[u] + (d[u * n + v] - d[v * n + u]) / 2
      edges.push([names[u], p, p, theta, d[u * n + v] + d[v * n + u], rnd() * 2, rnd() * 2, true])
    }
    const origins: OriginTuple[] = []
    for (const s of services) {
      if (s.exits.includes(v)) origins.push([s.name, 'twamp', 2 + rnd() * 5 - offset[v], 2 - offset[v], -offset[v], 4, 0.2, 0, true])
    }
    map.apply(0, { type: MAP_MSG_TYPE, v: MAP_MSG_VERSION, origin: names[v], boot: 1, seq: 1, edges, origins })
  }
  return map
}

export function services(n: number): ServiceInfo[] {
  const profiles = ['latency', 'gaming', 'rtc'] as const
  return Array.from({ length: 6 }, (_, i) => ({
    name: `svc${i}`,
    index: i,
    ingress: Array.from({ length: 20 }, (_, k) => (k * 7 + i) % n).concat([0]),
    exits: [(n - 1 - i) % n, (n - 20 - i) % n, 0],
    profile: profiles[i % 3],
    redundant: i % 2 === 0,
  }))
}

function fullComputation(n: number, forceBackups = false): () => void {
  const svcs = services(n)
  const map = denseMap(n, svcs)
  const table = new RouteTable(map, svcs, { self: 0, hopCostMs: 0.5, maxLossPct: 5, holdMs: 1000 })
  const fresh = new Uint8Array(n).fill(1)
  let now = 0
  return () => table.compute((now += 100), fresh, forceBackups)
}

export async function run(): Promise<void> {
  const n = 330
  const map = denseMap(n, [])
  const w = new Float64Array(n * n)
  const r = map.edge
  for (let k = 0; k < n * n; k++) {
    const o = EDGE_FIELDS * k
    w[k] = r[o + F_PRESENT] ? Math.max(0, r[o + F_PSEUDO] - r[o + F_THETA]) : Infinity
  }
  const sp = spScratch(n)
  await ratioSuite('route: computation on dense maps', [
    { name: 'plain dense Dijkstra, 330 relays (baseline)', fn: () => denseDijkstra(w, n, 0, sp) },
    { name: 'full route computation, 100 relays', fn: fullComputation(100) },
    { name: 'full route computation, 330 relays', fn: fullComputation(330) },
    { name: 'full computation, 330 relays, all 66 backups', fn: fullComputation(330, true) },
  ])
}
