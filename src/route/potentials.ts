import { EDGE_FIELDS, F_PRESENT, F_PSEUDO, F_RTT, F_THETA, F_UP } from './link-map.js'
import type { LinkMap } from './link-map.js'

/**
 * Johnson potentials: h(v) estimates offset_v - offset_self (ms), so the
 * reweighted weight pseudo(u->v) + h(u) - h(v) estimates the true delay of
 * u->v and is >= 0 up to estimation error.
 *
 * Each measured edge u->v carries theta(u->v), the receiver's min-RTT NTP
 * estimate of offset_v - offset_u (error: half the delay asymmetry of the
 * exchange it came from). We chain thetas along a minimum-RTT spanning tree
 * rooted at self (Dijkstra on RTT, which is clock-free), so each potential
 * comes from the shortest, least-queued chain of exchanges. Either direction
 * of a pair can serve: u's estimate of v->u gives offset_v - offset_u = -theta(v->u).
 *
 * Relays the tree does not reach get NaN, and their edges are unusable.
 * `fresh[v]` says whether v's column may be used (not stale).
 */
export function computePotentials(map: LinkMap, self: number, fresh: Uint8Array, h: Float64Array, scratch: { dist: Float64Array; done: Uint8Array }): void {
  const n = map.n
  const { dist, done } = scratch
  const r = map.edge
  h.fill(NaN)
  dist.fill(Infinity)
  done.fill(0)
  dist[self] = 0
  h[self] = 0
  for (let iter = 0; iter < n; iter++) {
    let u = -1
    let best = Infinity
    for (let i = 0; i < n; i++) if (!done[i] && dist[i] < best) { best = dist[i]; u = i }
    if (u < 0) break
    done[u] = 1
    for (let v = 0; v < n; v++) {
      if (done[v]) continue
      // u->v measured at v, or v->u measured at u.
      const f = EDGE_FIELDS * (u * n + v)
      const b = EDGE_FIELDS * (v * n + u)
      let rtt = Infinity
      let dh = NaN
      // NaN theta/rtt fail the comparisons, so unmeasured pairs are skipped.
      if (fresh[v] === 1 && r[f + F_PRESENT] === 1 && r[f + F_UP] === 1 && r[f + F_RTT] < rtt && r[f + F_THETA] === r[f + F_THETA]) {
        rtt = r[f + F_RTT]
        dh = r[f + F_THETA]
      }
      if (fresh[u] === 1 && r[b + F_PRESENT] === 1 && r[b + F_UP] === 1 && r[b + F_RTT] < rtt && r[b + F_THETA] === r[b + F_THETA]) {
        rtt = r[b + F_RTT]
        dh = -r[b + F_THETA]
      }
      if (best + rtt < dist[v]) {
        dist[v] = best + rtt
        h[v] = h[u] + dh
      }
    }
  }
}

/**
 * One potential per service origin, from the TWAMP exit with the smallest
 * CNI round trip: h(origin) = h(exit) + theta(exit->origin). One value for all
 * exits keeps the telescoping exact: every forward path ends at the same node.
 * NaN when no TWAMP exit is usable (ICMP exits do not need it).
 */
export function originPotential(map: LinkMap, service: number, exits: readonly number[], fresh: Uint8Array, h: Float64Array): number {
  let bestRtt = Infinity
  let ho = NaN
  for (const e of exits) {
    const k = service * map.n + e
    if (!fresh[e] || !map.oPresent[k] || !map.oUp[k] || !map.oTwamp[k] || !Number.isFinite(h[e])) continue
    if (!Number.isFinite(map.oTheta[k])) continue
    const rtt = Number.isFinite(map.oRtt[k]) ? map.oRtt[k] : Infinity
    if (Number.isNaN(ho) || rtt < bestRtt) {
      bestRtt = rtt
      ho = h[e] + map.oTheta[k]
    }
  }
  return ho
}

/**
 * Makes `h` an exact Johnson potential for the usable edges: afterwards
 * pseudo(u->v) + h(u) - h(v) >= 0 on every usable edge, so Dijkstra is exact
 * with no clamping. Estimated potentials are off by up to half the delay
 * asymmetry of the exchanges they came from, enough to push a short edge
 * negative. We repair them Bellman-Ford style (SPFA), lowering h(v) to
 * h(u) + pseudo(u->v) wherever an edge is violated. Starting from good
 * estimates only a few relays move, and the result is a shortest-distance
 * function from a virtual source (with edges of weight h0 to every relay),
 * which is feasible whenever the graph has no negative cycle - and pseudo
 * delays have none: around any cycle the offsets telescope to 0, leaving the
 * sum of true delays. Relays without an estimate (NaN) start at +Infinity and
 * get a potential through any usable edge into them.
 *
 * `usable[k]` (see usableMask) says whether edge k = u*n+v will get a finite weight. Returns
 * the number of potentials lowered, or -1 if the pop budget ran out (only on
 * inconsistent input; the caller then clamps).
 */
export function repairPotentials(map: LinkMap, h: Float64Array, usable: Uint8Array, queue: Int32Array, inQueue: Uint8Array): number {
  const n = map.n
  const r = map.edge
  let head = 0
  let size = 0
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(h[i])) h[i] = Infinity
    queue[size++] = i
    inQueue[i] = 1
  }
  let lowered = 0
  let budget = n * n + n
  while (size > 0) {
    if (--budget < 0) return -1
    const u = queue[head]
    head = (head + 1) % n
    size--
    inQueue[u] = 0
    const hu = h[u]
    if (hu === Infinity) continue
    const row = u * n
    for (let v = 0; v < n; v++) {
      const k = row + v
      if (usable[k] === 0) continue
      const cand = hu + r[EDGE_FIELDS * k + F_PSEUDO]
      if (cand < h[v] - 1e-9) {
        if (h[v] !== Infinity) lowered++
        h[v] = cand
        if (!inQueue[v]) {
          queue[(head + size) % n] = v
          size++
          inQueue[v] = 1
        }
      }
    }
  }
  for (let i = 0; i < n; i++) if (h[i] === Infinity) h[i] = NaN
  return lowered
}
