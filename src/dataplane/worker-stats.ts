/**
 * `overpass status` of a multi-worker relay: the totals an operator reads
 * (service traffic and flows, drops, peer traffic) summed over all workers,
 * plus each worker's own counters, so an uneven spread of flows shows.
 */
import type { RelayStats } from '../dataplane/relay.js'

type Tree = Record<string, unknown>

/** Adds every number of `src` into `dst` at the same key, recursively; keys only in `src` are copied. Non-numbers keep dst's value. */
export function addCounters(dst: Tree, src: Tree): void {
  for (const [key, value] of Object.entries(src)) {
    const have = dst[key]
    if (typeof value === 'number') dst[key] = typeof have === 'number' ? have + value : have === undefined ? value : have
    else if (isTree(value)) {
      if (have === undefined) dst[key] = structuredClone(value)
      else if (isTree(have)) addCounters(have, value)
    }
  }
}

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** One worker's line in `status`: its flows and traffic, drops, crypto totals and overlay socket. */
export interface WorkerSummary {
  worker: number
  services: Record<string, { ingress_flows: number; exit_flows: number; client: Record<string, number>; origin: Record<string, number> }>
  drops: Record<string, number>
  crypto?: { rxPackets: number; txPackets: number } & Record<string, unknown>
  overlay_socket?: Record<string, number>
  /** This worker's native transit table (its own lane), when it has one. */
  native_transit?: { forwarded: number; peers_matched: number; opened_local?: number; delivered_local?: number }
}

/** What one worker contributes, for the per-worker list. */
function workerSummary(index: number, s: RelayStats): WorkerSummary {
  const crypto = (s.crypto as { total?: WorkerSummary['crypto'] } | undefined)?.total
  return {
    worker: index,
    services: Object.fromEntries(Object.entries(s.services).map(([name, v]) => [name, { ingress_flows: v.ingress_flows, exit_flows: v.exit_flows, client: v.client, origin: v.origin }])),
    drops: s.drops,
    ...(crypto !== undefined ? { crypto } : {}),
    ...(s.overlay_socket !== undefined ? { overlay_socket: s.overlay_socket } : {}),
    ...(s.native_transit !== undefined ? { native_transit: s.native_transit } : {}),
  }
}

/** Worker 0's stats with the other workers' counters added in, and a `workers` list; unchanged with one worker. */
export function statsWithWorkers(main: RelayStats, others: Map<number, RelayStats>, count: number): RelayStats & { workers?: WorkerSummary[]; worker_count?: number } {
  if (count <= 1) return main
  const total = structuredClone(main)
  const list = [workerSummary(0, main)]
  for (const [index, s] of [...others].sort((a, b) => a[0] - b[0])) {
    addCounters(total.services as Tree, s.services as Tree)
    addCounters(total.drops, s.drops)
    addCounters(total.peers, s.peers)
    // A peer's crypto index is a name, not a counter: worker 0's stands.
    for (const [id, p] of Object.entries(main.peers)) if (total.peers[id] !== undefined) total.peers[id].index = p.index
    // Datagrams forwarded natively by any worker; peers_matched is a count of peers, worker 0's stands.
    const nt = s.native_transit
    if (nt !== undefined) {
      const have = total.native_transit
      total.native_transit = { forwarded: (have?.forwarded ?? 0) + nt.forwarded, peers_matched: have?.peers_matched ?? nt.peers_matched, opened_local: (have?.opened_local ?? 0) + (nt.opened_local ?? 0), delivered_local: (have?.delivered_local ?? 0) + (nt.delivered_local ?? 0) }
    }
    list.push(workerSummary(index, s))
  }
  return { ...total, worker_count: count, workers: list }
}
