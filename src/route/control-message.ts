/**
 * The map flood: one relay's inbound column (every edge it measures, and for
 * an exit its origin edges), sent as a plain object that the transport
 * msgpacks. docs/routing.md describes it. Entries are tuples, not objects,
 * because in a full mesh of N relays every relay sends N-1 of these per
 * second, each with N-1 entries.
 *
 *   { type: 'overpass.map', v: 1, origin, boot, seq, edges: EdgeTuple[], origins: OriginTuple[] }
 *
 * Anything arriving over the overlay is still validated field by field:
 * `parseMapUpdate` returns a reason string instead of throwing.
 */

import type { NameIndex } from '../probe/relay-index.js'

export const MAP_MSG_TYPE = 'overpass.map'
export const MAP_MSG_VERSION = 1
/** `{ type, v, origin }`: "my copy of your column has a gap: send me a full update". */
export const RESYNC_MSG_TYPE = 'overpass.resync'

export interface ResyncRequest {
  type: typeof RESYNC_MSG_TYPE
  v: typeof MAP_MSG_VERSION
  /** The relay asking (must be the overlay peer it came from). */
  origin: string
}

/** [from, pseudoMs, minPseudoMs, thetaMs|null, rttMs|null, jitterMs, lossPct, up] for the edge from -> origin. */
export type EdgeTuple = [string, number, number, number | null, number | null, number, number, boolean]
export const E_FROM = 0
export const E_PSEUDO = 1
export const E_MIN_PSEUDO = 2
export const E_THETA = 3
export const E_RTT = 4
export const E_JITTER = 5
export const E_LOSS = 6
export const E_UP = 7

/**
 * [service, method, fwdMs, revMs, thetaMs|null, rttMs|null, jitterMs, lossPct, up] for the exit's CNI link.
 * twamp: fwdMs/revMs are pseudo one-way delays, thetaMs = offset_origin - offset_exit.
 * icmp: fwdMs = revMs = rtt/2 (true delay, link assumed symmetric), thetaMs = null.
 */
export type OriginTuple = [string, 'twamp' | 'icmp', number, number, number | null, number | null, number, number, boolean]
export const O_SERVICE = 0
export const O_METHOD = 1
export const O_FWD = 2
export const O_REV = 3
export const O_THETA = 4
export const O_RTT = 5
export const O_JITTER = 6
export const O_LOSS = 7
export const O_UP = 8

export interface MapUpdate {
  type: typeof MAP_MSG_TYPE
  v: typeof MAP_MSG_VERSION
  /** The relay that measured these edges (all edges end at it). */
  origin: string
  /** The origin's random boot id (u32): a new one means it restarted and its seq starts over. */
  boot: number
  /** Increases by exactly 1 with every flood from this origin within one boot. */
  seq: number
  /**
   * false: a delta, holding only the edges that changed since update seq - 1
   * (every other edge is unchanged). true: the whole column as a periodic
   * refresh, which a receiver already in sync (it applied seq - 1) may skip.
   * Absent: the whole column, always applied.
   */
  full?: boolean
  edges: EdgeTuple[]
  origins: OriginTuple[]
}

export interface MapSchema {
  /** A Set, or the router's RelayIndex (one shared lookup instead of a cold per-relay hash table). */
  relays: { readonly size: number; has(name: string): boolean }
  /** service name -> its exits */
  exits: ReadonlyMap<string, ReadonlySet<string>>
}

const U32 = 0x1_0000_0000

/** Returns the validated update, or a short reason it was rejected. Never throws. */
export function parseMapUpdate(msg: unknown, schema: MapSchema): MapUpdate | string {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return 'not_object'
  const m = msg as Record<string, unknown>
  if (m.type !== MAP_MSG_TYPE) return 'type'
  if (m.v !== MAP_MSG_VERSION) return 'version'
  if (typeof m.origin !== 'string' || !schema.relays.has(m.origin)) return 'origin'
  if (!Number.isInteger(m.boot) || (m.boot as number) < 0 || (m.boot as number) >= U32) return 'boot'
  if (!Number.isSafeInteger(m.seq) || (m.seq as number) < 0) return 'seq'
  if (m.full !== undefined && typeof m.full !== 'boolean') return 'full'
  if (!Array.isArray(m.edges) || m.edges.length >= schema.relays.size) return 'edges'
  if (!Array.isArray(m.origins) || m.origins.length > schema.exits.size) return 'origins'
  const seen = new Set<string>()
  for (const o of m.origins) {
    const r = checkOrigin(o, m.origin, schema)
    if (r !== '') return r
    const svc = (o as OriginTuple)[O_SERVICE]
    if (seen.has(svc)) return 'origin_duplicate'
    seen.add(svc)
  }
  return m as unknown as MapUpdate
}

/**
 * Validates the edge tuples of an update `parseMapUpdate` accepted. Kept
 * apart because a full update that finds the receiver already in sync is
 * not read past its header, so its edges need no checking. Returns '' or
 * the reason. `seen` is scratch indexed like the relays (length n): it is
 * stamped with `stamp` (unique per call) instead of being cleared.
 * `fromIdx[i]` receives the relay index of edge i, so applying the update
 * needs no second lookup.
 */
export function checkEdges(
  u: MapUpdate, index: NameIndex, seen: Uint32Array, stamp: number, fromIdx: Int32Array,
): string {
  const edges = u.edges as unknown[]
  const self = index.get(u.origin)
  for (let i = 0; i < edges.length; i++) {
    const e = edges[i]
    if (!Array.isArray(e) || e.length !== 8) return 'edge_shape'
    const from = typeof e[E_FROM] === 'string' ? index.get(e[E_FROM]) : undefined
    if (from === undefined || from === self) return 'edge_from'
    const r = checkEdgeValues(e)
    if (r !== '') return r
    if (seen[from] === stamp) return 'edge_duplicate'
    seen[from] = stamp
    fromIdx[i] = from
  }
  return ''
}

function checkEdgeValues(e: unknown[]): string {
  if (!isNum(e[E_PSEUDO]) || !isNum(e[E_MIN_PSEUDO])) return 'edge_delay'
  if (!isNumOrNull(e[E_THETA])) return 'edge_theta'
  if (!(e[E_RTT] === null || (isNum(e[E_RTT]) && e[E_RTT] >= 0))) return 'edge_rtt'
  if (!isNum(e[E_JITTER]) || e[E_JITTER] < 0) return 'edge_jitter'
  if (!isNum(e[E_LOSS]) || e[E_LOSS] < 0 || e[E_LOSS] > 100) return 'edge_loss'
  if (typeof e[E_UP] !== 'boolean') return 'edge_up'
  return ''
}

function checkOrigin(o: unknown, origin: string, schema: MapSchema): string {
  if (!Array.isArray(o) || o.length !== 9) return 'origin_shape'
  const exits = typeof o[O_SERVICE] === 'string' ? schema.exits.get(o[O_SERVICE]) : undefined
  if (exits === undefined || !exits.has(origin)) return 'origin_service'
  if (o[O_METHOD] !== 'twamp' && o[O_METHOD] !== 'icmp') return 'origin_method'
  if (!isNum(o[O_FWD]) || !isNum(o[O_REV])) return 'origin_delay'
  if (!isNumOrNull(o[O_THETA])) return 'origin_theta'
  if (!(o[O_RTT] === null || (isNum(o[O_RTT]) && o[O_RTT] >= 0))) return 'origin_rtt'
  if (!isNum(o[O_JITTER]) || o[O_JITTER] < 0) return 'origin_jitter'
  if (!isNum(o[O_LOSS]) || o[O_LOSS] < 0 || o[O_LOSS] > 100) return 'origin_loss'
  if (typeof o[O_UP] !== 'boolean') return 'origin_up'
  return ''
}

function isNum(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x)
}

function isNumOrNull(x: unknown): boolean {
  return x === null || isNum(x)
}
