/**
 * A tiny Router used to test the simulator machinery independently of the
 * real control plane: one-way probes carrying the sender's clock, pseudo
 * delays (offset included) flooded to everyone, and exact hop-limited
 * Bellman-Ford over pseudo delays (offsets cancel along any s->t path, and
 * Bellman-Ford copes with the negative pseudo weights). No smoothing, no
 * hysteresis: with zero jitter it must match the oracle exactly.
 */
import type { PathChoice, Router, RouterInit, RouterMessage } from '../../src/route/types.js'
import { idleRouter } from '../route/helpers/idle-router.js'

const PROBE_MS = 100
const FLOOD_MS = 300
const MAX_RELAYS = 8

interface MapMsg {
  origin: string
  seq: number
  /** Pseudo delay of each edge INTO origin, by sender name; Infinity = down. */
  inbound: Record<string, number>
}

export function createStandInRouter(init: RouterInit): Router {
  const self = init.self
  const others = init.relays.filter((r) => r !== self)
  const hopCostMs = init.hopCostMs ?? 0
  const lastHeard = new Map<string, number>()
  const inbound: Record<string, number> = {}
  const maps = new Map<string, MapMsg>()
  let seq = 0
  let nextProbeMs = -Infinity
  let nextFloodMs = -Infinity

  const flood = (): RouterMessage[] => {
    const msg: MapMsg = { origin: self, seq: ++seq, inbound: { ...inbound } }
    maps.set(self, msg)
    return others.map((to) => ({ to, kind: 'control' as const, msg }))
  }

  const weight = (from: string, to: string): number => {
    const v = maps.get(to)?.inbound[from]
    return v === undefined ? Infinity : v + hopCostMs
  }

  const pathTo = (dest: string): string[] | undefined => {
    let best = new Map<string, { cost: number; path: string[] }>([[self, { cost: 0, path: [self] }]])
    for (let edges = 1; edges < MAX_RELAYS; edges++) {
      const next = new Map(best)
      for (const [u, bu] of best) {
        if (bu.path.length !== edges) continue
        for (const v of init.relays) {
          if (bu.path.includes(v)) continue
          const c = bu.cost + weight(u, v)
          const cur = next.get(v)
          if (c < Infinity && (cur === undefined || c < cur.cost)) next.set(v, { cost: c, path: [...bu.path, v] })
        }
      }
      best = next
    }
    return best.get(dest)?.path
  }

  return idleRouter({
    tick(nowMs) {
      const out: RouterMessage[] = []
      let changed = false
      for (const r of others) {
        const heard = lastHeard.get(r)
        if (heard !== undefined && nowMs - heard > 3.5 * PROBE_MS && inbound[r] !== Infinity) {
          inbound[r] = Infinity
          changed = true
        }
      }
      if (nowMs >= nextProbeMs) {
        nextProbeMs = nowMs + PROBE_MS
        const bytes = new Uint8Array(8)
        new DataView(bytes.buffer).setFloat64(0, nowMs)
        for (const to of others) out.push({ to, kind: 'probe', bytes })
      }
      if (changed || nowMs >= nextFloodMs) {
        nextFloodMs = nowMs + FLOOD_MS
        out.push(...flood())
      }
      return out
    },
    onProbe(nowMs, from, bytes) {
      const tx = new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0)
      const was = inbound[from]
      inbound[from] = nowMs - tx
      lastHeard.set(from, nowMs)
      return was === undefined || was === Infinity ? flood() : []
    },
    onControl(_nowMs, from, raw) {
      const msg = raw as MapMsg
      const have = maps.get(msg.origin)
      if (msg.origin === self || (have !== undefined && have.seq >= msg.seq)) return []
      maps.set(msg.origin, msg)
      return others.filter((r) => r !== from && r !== msg.origin).map((to) => ({ to, kind: 'control' as const, msg }))
    },
    pathTo(nowMs, dest): PathChoice | undefined {
      const path = pathTo(dest)
      return path === undefined ? undefined : { service: '', path, delayMs: NaN, sinceMs: nowMs }
    },
  })
}
