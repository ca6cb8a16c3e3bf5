/**
 * What the scenario's WAN promises, from its base link delays: the direct
 * path's one-way delay each way and the best overlay path (any detour
 * between the client's PoP and one of the origin's exits), by brute-force
 * shortest paths. The lab's checks compare measurements with these.
 */
import type { Scenario } from '../scenario/index.js'

export interface Expected {
  directForwardMs: number
  directReverseMs: number
  bestForwardMs: number
  bestForwardPath: string[]
  bestReverseMs: number
  bestReversePath: string[]
}

/** All-pairs shortest one-way paths (Floyd-Warshall with path reconstruction). */
export function shortestPaths(s: Scenario): { ms: (a: string, b: string) => number; path: (a: string, b: string) => string[] } {
  const n = s.pops.length
  const idx = new Map(s.pops.map((p, i) => [p, i]))
  const d = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 0 : Infinity)))
  const next = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => j + 0 * i))
  for (const l of s.links) d[idx.get(l.from)!][idx.get(l.to)!] = l.delayMs
  for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    if (d[i][k] + d[k][j] < d[i][j] - 1e-9) {
      d[i][j] = d[i][k] + d[k][j]
      next[i][j] = next[i][k]
    }
  }
  return {
    ms: (a, b) => d[idx.get(a)!][idx.get(b)!],
    path: (a, b) => {
      const out = [a]
      for (let i = idx.get(a)!, j = idx.get(b)!, guard = 0; i !== j && guard < n; guard++) {
        i = next[i][j]
        out.push(s.pops[i])
      }
      return out
    },
  }
}

export function expectedFor(s: Scenario, clientName: string, originName: string): Expected {
  const sp = shortestPaths(s)
  const pop = s.clients.find((c) => c.name === clientName)!.pop
  const o = s.origins.find((x) => x.name === originName)!
  const link = (a: string, b: string): number => (a === b ? 0 : s.links.find((l) => l.from === a && l.to === b)!.delayMs)
  const fwdExit = [...o.exits].sort((a, b) => sp.ms(pop, a) - sp.ms(pop, b))[0]
  const revExit = [...o.exits].sort((a, b) => sp.ms(a, pop) - sp.ms(b, pop))[0]
  return {
    directForwardMs: link(pop, o.wanPop),
    directReverseMs: link(o.wanPop, pop),
    bestForwardMs: sp.ms(pop, fwdExit),
    bestForwardPath: sp.path(pop, fwdExit),
    bestReverseMs: sp.ms(revExit, pop),
    bestReversePath: sp.path(revExit, pop),
  }
}
