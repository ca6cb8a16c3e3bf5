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
 * `parseMapUpdate` returns a reason string instead of throwing. A message
 * is never used as it arrived: the parsers rebuild it from the fields they
 * checked (unknown keys are refused), so what the router stores and relays
 * is an object it built itself, whatever the peer's decoder produced.
 *
 * With column signing on (RouterInit.columnAuth), `sig` carries the origin
 * relay's Ed25519 signature of the column's canonical encoding
 * (column-signature.ts); relays pass it on unchanged.
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
  /** The origin's signature of `canonicalColumn(this)` (64 bytes), when the network signs columns. */
  sig?: Uint8Array
}

/** Every key a map update may have; any other key makes it malformed. */
const MAP_KEYS = new Set(['type', 'v', 'origin', 'boot', 'seq', 'full', 'edges', 'origins', 'sig'])
const RESYNC_KEYS = new Set(['type', 'v', 'origin'])
export const SIGNATURE_BYTES = 64

export interface MapSchema {
  /** A Set, or the router's RelayIndex (one shared lookup instead of a cold per-relay hash table). */
  relays: { readonly size: number; has(name: string): boolean }
  /** service name -> its exits */
  exits: ReadonlyMap<string, ReadonlySet<string>>
}

const U32 = 0x1_0000_0000

/**
 * Returns a new update built from the validated header fields and origin
 * tuples of `msg`, or a short reason it was rejected. Never throws. The
 * edge tuples are checked (and rebuilt) later by `checkEdges`, only when
 * the update is going to be applied.
 */
/**
 * Relay and service names a column may carry beyond the ones we know: while
 * a new network version spreads, peers on another version list relays or
 * services we do not have. Their entries are checked, kept (the signature
 * covers them) and relayed, but never applied; a column is not refused for
 * them. The bound keeps a column's size tied to ours.
 */
export const FOREIGN_NAMES_TOLERATED = 64

export function parseMapUpdate(msg: unknown, schema: MapSchema): MapUpdate | string {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return 'not_object'
  const m = msg as Record<string, unknown>
  if (m.type !== MAP_MSG_TYPE) return 'type'
  if (m.v !== MAP_MSG_VERSION) return 'version'
  for (const k in m) if (!MAP_KEYS.has(k)) return 'unknown_key'
  if (typeof m.origin !== 'string' || !schema.relays.has(m.origin)) return 'origin'
  if (!Number.isInteger(m.boot) || (m.boot as number) < 0 || (m.boot as number) >= U32) return 'boot'
  if (!Number.isSafeInteger(m.seq) || (m.seq as number) < 0) return 'seq'
  if (m.full !== undefined && typeof m.full !== 'boolean') return 'full'
  if (!Array.isArray(m.edges) || m.edges.length >= schema.relays.size + FOREIGN_NAMES_TOLERATED) return 'edges'
  if (!Array.isArray(m.origins) || m.origins.length > schema.exits.size + FOREIGN_NAMES_TOLERATED) return 'origins'
  if (m.sig !== undefined && !(m.sig instanceof Uint8Array && m.sig.length === SIGNATURE_BYTES)) return 'sig'
  const origins: OriginTuple[] = []
  const seen = new Set<string>()
  for (const o of m.origins) {
    const r = checkOrigin(o, m.origin, schema)
    if (r !== '') return r
    const t = o as OriginTuple
    if (seen.has(t[O_SERVICE])) return 'origin_duplicate'
    seen.add(t[O_SERVICE])
    origins.push([t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8]])
  }
  const u: MapUpdate = {
    type: MAP_MSG_TYPE, v: MAP_MSG_VERSION, origin: m.origin, boot: m.boot as number, seq: m.seq as number,
    // Checked by checkEdges, copied only if the update is relayed (relayCopy).
    edges: m.edges as EdgeTuple[], origins,
  }
  if (m.full !== undefined) u.full = m.full
  // A copy: a decoder may hand out a view of the receive buffer, which the next datagram overwrites.
  if (m.sig !== undefined) u.sig = new Uint8Array(m.sig as Uint8Array)
  return u
}

/** A resync request rebuilt from its validated fields, or undefined when `msg` is not a well-formed one. */
export function parseResync(msg: Record<string, unknown>): ResyncRequest | undefined {
  if (msg.type !== RESYNC_MSG_TYPE || msg.v !== MAP_MSG_VERSION || typeof msg.origin !== 'string') return undefined
  for (const k in msg) if (!RESYNC_KEYS.has(k)) return undefined
  return { type: RESYNC_MSG_TYPE, v: MAP_MSG_VERSION, origin: msg.origin }
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
    const e = edges[i] as unknown[]
    if (!Array.isArray(e) || e.length !== 8) return 'edge_shape'
    if (typeof e[E_FROM] !== 'string') return 'edge_from'
    const from = index.get(e[E_FROM])
    if (from === self) return 'edge_from'
    const r = checkEdgeValues(e)
    if (r !== '') return r
    if (from === undefined) {
      // A relay we do not know (yet, or any more): another network version's. Kept for the signature, never applied.
      fromIdx[i] = -1
      continue
    }
    if (seen[from] === stamp) return 'edge_duplicate'
    seen[from] = stamp
    fromIdx[i] = from
  }
  return ''
}

/**
 * A copy of an update that passed parseMapUpdate and checkEdges, built from
 * its checked fields only, for relaying: what a relay re-packs for another
 * relay is never the peer's own decoded object. (Applying reads the checked
 * tuples in place: copying every tuple on receipt cost the 60-relay
 * simulation ~20% more CPU, for updates almost never relayed.)
 */
export function relayCopy(u: MapUpdate): MapUpdate {
  const edges: EdgeTuple[] = new Array(u.edges.length)
  for (let i = 0; i < edges.length; i++) {
    const e = u.edges[i]
    edges[i] = [e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7]]
  }
  const origins = u.origins.map((o): OriginTuple => [o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7], o[8]])
  const c: MapUpdate = { type: MAP_MSG_TYPE, v: MAP_MSG_VERSION, origin: u.origin, boot: u.boot, seq: u.seq, edges, origins }
  if (u.full !== undefined) c.full = u.full
  if (u.sig !== undefined) c.sig = u.sig
  return c
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
  if (typeof o[O_SERVICE] !== 'string') return 'origin_service'
  const exits = schema.exits.get(o[O_SERVICE])
  // A service we do not know (yet, or any more) is another network version's: kept for the signature, never applied.
  if (exits !== undefined && !exits.has(origin)) return 'origin_service'
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
