/**
 * Per-packet series of a measured flow and the figures read from them
 * around an event: one-way delay percentiles in a window, packets lost in a
 * window, the longest run without delivery, and how often a flow's path
 * changed. Pure: run.ts builds the series from the client's and the
 * origin's records, writes them beside result.json (series.json), and
 * fills the per-event figures of the JSON with these functions.
 *
 * Times are ms since traffic t0 on the shared CLOCK_MONOTONIC, so one-way
 * delays are exact (docs/lab.md).
 */
import { percentile } from '../traffic/index.js'
import type { PathSample } from './paths.js'

/**
 * One packet that reached the origin: [seq, sent, forward delay, reverse
 * delay or null when the reply was lost, origin receive time, client
 * receive time or null]. Packets lost on the way out have no row.
 */
export type SeriesRow = [number, number, number, number | null, number, number | null]
export const SERIES_COLUMNS = ['seq', 'sent_ms', 'forward_ms', 'reverse_ms', 'origin_rx_ms', 'client_rx_ms'] as const

export interface FlowSeries {
  /** Packets the client sent (seq 0 .. sent - 1). */
  sent: number
  /** One row per distinct seq that reached the origin, by seq. */
  rows: SeriesRow[]
  /** Copies the origin received beyond the first of a seq (redundant paths must make this 0). */
  originDuplicates: number
  /** Echoes the client received beyond the first of a seq (likewise). */
  clientDuplicates: number
}

/** The origin's record of one copy it received: [seq, client send time, origin receive time] (absolute ms). */
export type OriginRecord = [number, number, number]
/** The client's record of one echoed packet: [seq, sent, forward, reverse, client receive] (ms since t0). */
export type ClientRecord = [number, number, number, number, number]

export function buildSeries(sent: number, origin: readonly OriginRecord[], client: readonly ClientRecord[], t0Ms: number): FlowSeries {
  const bySeq = new Map<number, SeriesRow>()
  let dup = 0
  for (const [seq, sentAbs, rxAbs] of origin) {
    if (bySeq.has(seq)) {
      dup++
      continue
    }
    bySeq.set(seq, [seq, round3(sentAbs - t0Ms), round3(rxAbs - sentAbs), null, round3(rxAbs - t0Ms), null])
  }
  let clientDup = 0
  for (const [seq, sentMs, fwd, rev, rx] of client) {
    let row = bySeq.get(seq)
    if (row && row[5] !== null) clientDup++
    // An echo can only come from a copy the origin saw; keep it even if the origin's record is missing.
    if (!row) bySeq.set(seq, (row = [seq, sentMs, fwd, null, round3(sentMs + fwd), null]))
    if (row[5] === null) {
      row[3] = rev
      row[5] = rx
    }
  }
  return { sent, rows: [...bySeq.values()].sort((a, b) => a[0] - b[0]), originDuplicates: dup, clientDuplicates: clientDup }
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000

export interface DirectionLoss {
  /** Packets sent that never reached the origin, percent of those sent. */
  forward_loss_pct: number
  /** Packets that reached the origin whose reply never came back, percent of those. */
  reverse_loss_pct: number
  origin_received: number
  origin_duplicates: number
  client_duplicates: number
}

export function directionLoss(s: FlowSeries): DirectionLoss {
  const atOrigin = s.rows.length
  const back = s.rows.filter((r) => r[5] !== null).length
  return {
    forward_loss_pct: s.sent > 0 ? round3((100 * (s.sent - atOrigin)) / s.sent) : 0,
    reverse_loss_pct: atOrigin > 0 ? round3((100 * (atOrigin - back)) / atOrigin) : 0,
    origin_received: atOrigin,
    origin_duplicates: s.originDuplicates,
    client_duplicates: s.clientDuplicates,
  }
}

export interface WindowDelay {
  /** Packets sent in the window whose delay in this direction is known. */
  count: number
  p50_ms: number
  p99_ms: number
}

/** p50/p99 one-way delay of the packets sent in [fromMs, toMs). */
export function delayInWindow(s: FlowSeries, dir: 'forward' | 'reverse', fromMs: number, toMs: number): WindowDelay {
  const col = dir === 'forward' ? 2 : 3
  const d = s.rows.filter((r) => r[1] >= fromMs && r[1] < toMs && r[col] !== null).map((r) => r[col] as number).sort((a, b) => a - b)
  return { count: d.length, p50_ms: percentile(d, 50), p99_ms: percentile(d, 99) }
}

/**
 * Packets sent in [fromMs, toMs) lost on the way out (never at the origin)
 * and on the way back (at the origin, never back at the client). A packet
 * lost on the way out has no row, so its send time is interpolated from
 * the rows around its seq (packets are sent at a steady rate).
 */
export function lostInWindow(s: FlowSeries, fromMs: number, toMs: number): { forward: number; reverse: number } {
  let forward = 0
  let reverse = 0
  const rows = s.rows
  let i = 0
  for (let seq = 0; seq < s.sent; seq++) {
    while (i < rows.length && rows[i][0] < seq) i++
    if (i < rows.length && rows[i][0] === seq) {
      const r = rows[i]
      if (r[1] >= fromMs && r[1] < toMs && r[5] === null) reverse++
      continue
    }
    const t = sendTimeOf(rows, i, seq)
    if (t >= fromMs && t < toMs) forward++
  }
  return { forward, reverse }
}

/** Send time of a seq without a row, between rows[i - 1] and rows[i] (either may be absent). */
function sendTimeOf(rows: readonly SeriesRow[], i: number, seq: number): number {
  const a = rows[i - 1]
  const b = rows[i]
  if (a && b) return a[1] + ((b[1] - a[1]) * (seq - a[0])) / (b[0] - a[0])
  const [p, q] = a ? [rows[i - 2], a] : [b, rows[i + 1]]
  if (!p || !q) return a ? Infinity : -Infinity
  const perSeq = (q[1] - p[1]) / (q[0] - p[0])
  return (a ?? b)[1] + perSeq * (seq - (a ?? b)[0])
}

export interface Gap {
  gap_ms: number
  /** Last delivery before the gap and first after it (ms since t0). */
  from_ms: number
  to_ms: number
  /** True when nothing was delivered after the gap up to `toMs`: the gap is at least this long. */
  open: boolean
}

/**
 * The longest time without a delivery that overlaps [fromMs, toMs], given
 * the delivery times (any order). A gap still open at `toMs` (nothing
 * delivered after it) counts up to `toMs`. No delivery at all before or in
 * the window: a gap from `fromMs`.
 */
export function maxGapAround(deliveries: readonly number[], fromMs: number, toMs: number): Gap {
  const t = [...deliveries].sort((a, b) => a - b)
  let best: Gap = { gap_ms: 0, from_ms: fromMs, to_ms: fromMs, open: false }
  const consider = (a: number, b: number, open: boolean): void => {
    if (b < fromMs || a > toMs || b - a <= best.gap_ms) return
    best = { gap_ms: round3(b - a), from_ms: round3(a), to_ms: round3(b), open }
  }
  if (t.length === 0 || t[0] >= fromMs) consider(fromMs, t.length === 0 ? toMs : Math.min(t[0], toMs), t.length === 0 || t[0] > toMs)
  for (let k = 1; k < t.length; k++) consider(t[k - 1], t[k], false)
  if (t.length > 0 && t[t.length - 1] < toMs) consider(t[t.length - 1], toMs, true)
  return best
}

/** Delivery times of a series: at the origin (forward) or back at the client (the echo's round trip). */
export function deliveries(s: FlowSeries, at: 'origin' | 'client'): number[] {
  return at === 'origin' ? s.rows.map((r) => r[4]) : s.rows.filter((r) => r[5] !== null).map((r) => r[5] as number)
}

/**
 * Path changes of a flow from `fromMs` on (default: traffic start), per
 * direction: each time the path differs from the one before it. The path
 * in force at `fromMs` is the baseline. Empty samples (no route, or a
 * relay's control socket not answering, e.g. while it is killed) are
 * skipped: A, none, A is no change; A, none, B is one.
 */
export function countPathChanges(paths: readonly PathSample[], fromMs = 0): { forward: number; reply: number } {
  const count = (pick: (p: PathSample) => string[]): number => {
    let last: string | undefined
    let changes = 0
    for (const p of paths) {
      const path = pick(p)
      if (path.length === 0) continue
      const key = path.join('>')
      if (last !== undefined && key !== last && p.t_ms >= fromMs) changes++
      last = key
    }
    return changes
  }
  return { forward: count((p) => p.forward), reply: count((p) => p.reply) }
}

/** Whether `path` crosses one of the PoP pairs in `links`, in either direction. */
export function crossesAny(path: readonly string[], links: readonly (readonly [string, string])[]): boolean {
  for (let i = 1; i < path.length; i++) {
    for (const [a, b] of links) if ((path[i - 1] === a && path[i] === b) || (path[i - 1] === b && path[i] === a)) return true
  }
  return false
}

/**
 * When a direction's path stopped crossing `links` after `fromMs`: the
 * first sample at or after `fromMs` whose path avoids them, or `fromMs`
 * itself when the path in force then already did; null when it never left.
 * Samples without a path are skipped.
 */
export function leftLinksAt(paths: readonly PathSample[], dir: 'forward' | 'reply', fromMs: number, links: readonly (readonly [string, string])[]): number | null {
  const withPath = paths.filter((p) => p[dir].length > 0)
  const before = withPath.filter((p) => p.t_ms <= fromMs).at(-1)
  if (before && !crossesAny(before[dir], links)) return fromMs
  return withPath.find((p) => p.t_ms > fromMs && !crossesAny(p[dir], links))?.t_ms ?? null
}

/**
 * How often a direction's path went back onto `links` after `fromMs`
 * (changes from a path avoiding them to one crossing them).
 */
export function reentries(paths: readonly PathSample[], dir: 'forward' | 'reply', fromMs: number, links: readonly (readonly [string, string])[]): number {
  let on: boolean | undefined
  let count = 0
  for (const p of paths) {
    if (p[dir].length === 0) continue
    const crosses = crossesAny(p[dir], links)
    if (p.t_ms > fromMs && on === false && crosses) count++
    on = crosses
  }
  return count
}
