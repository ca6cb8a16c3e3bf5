import { describe, expect, it } from 'vitest'
import { denseDijkstra, spScratch, tracePath } from '../../src/route/dijkstra.js'
import { replacementTree } from '../../src/route/path-select.js'
import type { Tree } from '../../src/route/path-select.js'
import { seededRandom } from '../../src/route/seeded-random.js'

describe('replacementTree', () => {
  it('matches a full Dijkstra after removing a tree path (seeded, dense and sparse)', () => {
    const rnd = seededRandom(5)
    for (let trial = 0; trial < 200; trial++) {
      const n = 3 + Math.floor(rnd() * 40)
      const density = trial % 2 === 0 ? 1 : 0.3
      const w = new Float64Array(n * n).fill(Infinity)
      for (let u = 0; u < n; u++) for (let v = 0; v < n; v++) if (u !== v && rnd() < density) w[u * n + v] = Math.floor(rnd() * 50) + rnd()
      const self = Math.floor(rnd() * n)
      const t: Tree = { n, self, w, sp: spScratch(n) }
      denseDijkstra(w, n, self, t.sp)
      const dst = Math.floor(rnd() * n)
      const path = tracePath(t.sp.prev, self, dst, n)
      if (path === undefined || path.length < 2) continue
      // Remove the tree path to dst, and sometimes an edge off the tree too.
      const cut = [...path.keys()].slice(0, -1).map((i) => path[i] * n + path[i + 1])
      if (trial % 3 === 0) cut.push(Math.floor(rnd() * n) * n + Math.floor(rnd() * n))
      for (const k of cut) w[k] = Infinity
      const ref = spScratch(n)
      denseDijkstra(w, n, self, ref)
      const out = spScratch(n)
      replacementTree(t, out, Array.from({ length: n }, (_, i) => i))
      for (let v = 0; v < n; v++) {
        expect(out.dist[v]).toBeCloseTo(ref.dist[v], 9)
        if (ref.dist[v] === Infinity) {
          expect(out.dist[v]).toBe(Infinity)
          continue
        }
        // The path it gives costs what it says, avoids the cut, and has the hop count it says.
        const p = tracePath(out.prev, self, v, n)!
        let c = 0
        for (let i = 0; i + 1 < p.length; i++) c += w[p[i] * n + p[i + 1]]
        expect(c).toBeCloseTo(out.dist[v], 9)
        expect(out.hops[v]).toBe(p.length - 1)
      }
    }
  })
})
