/**
 * Latency matrices: parsed from CSV, cut down to a subset of sites, and split
 * asymmetrically. A matrix holds the TRUE one-way delay of every directed
 * link; the simulator delivers packets with it and the oracle scores with it.
 */
import { MatrixParseError, SimConfigError } from './errors.js'
import type { Rng } from './prng.js'

export type MatrixFormat = 'rtt_ms' | 'one_way_ms'

export interface LatencyMatrix {
  sites: string[]
  /** d(i -> j) at [i * n + j], ms; NaN where there is no link (and on the diagonal). */
  oneWayMs: Float64Array
  format: MatrixFormat
  /** Directed links filled in from the opposite direction's row. */
  filledFromReverse: number
  /** Unordered pairs with no row in either direction (no link). */
  missingPairs: number
}

const HEADERS: Record<string, MatrixFormat> = {
  'src,dst,rtt_ms': 'rtt_ms',
  'src,dst,one_way_ms': 'one_way_ms',
}

/**
 * Parses `src,dst,rtt_ms` (one-way = rtt/2 per direction) or
 * `src,dst,one_way_ms` (directed). A link present one way only is used for
 * both; a pair absent both ways has no link. Throws MatrixParseError naming
 * the line and column of the first bad row.
 */
export function parseMatrixCsv(text: string, source = 'matrix'): LatencyMatrix {
  const lines = text.split(/\r?\n/)
  const header = (lines[0] ?? '').trim().replace(/^\uFEFF/, '').replace(/\s+/g, '')
  const format = HEADERS[header]
  if (format === undefined) {
    throw new MatrixParseError(source, 1, undefined, `header must be "src,dst,rtt_ms" or "src,dst,one_way_ms", got "${header}"`)
  }
  const index = new Map<string, number>()
  const rows: { a: number; b: number; ms: number; line: number }[] = []
  const site = (name: string): number => {
    let i = index.get(name)
    if (i === undefined) index.set(name, (i = index.size))
    return i
  }
  for (let ln = 1; ln < lines.length; ln++) {
    const raw = lines[ln].trim()
    if (raw === '' || raw.startsWith('#')) continue
    const cols = raw.split(',').map((c) => c.trim())
    const line = ln + 1
    if (cols.length !== 3) throw new MatrixParseError(source, line, undefined, `expected 3 columns, got ${cols.length}`)
    if (cols[0] === '') throw new MatrixParseError(source, line, '1 (src)', 'empty site name')
    if (cols[1] === '') throw new MatrixParseError(source, line, '2 (dst)', 'empty site name')
    if (cols[0] === cols[1]) throw new MatrixParseError(source, line, '2 (dst)', `self pair "${cols[0]}"`)
    const v = Number(cols[2])
    if (cols[2] === '' || !Number.isFinite(v) || v < 0) {
      throw new MatrixParseError(source, line, `3 (${format})`, `"${cols[2]}" is not a non-negative number`)
    }
    rows.push({ a: site(cols[0]), b: site(cols[1]), ms: format === 'rtt_ms' ? v / 2 : v, line })
  }
  const n = index.size
  const d = new Float64Array(n * n).fill(NaN)
  const seenAt = new Int32Array(n * n)
  for (const r of rows) {
    const k = r.a * n + r.b
    if (seenAt[k] !== 0) {
      throw new MatrixParseError(source, r.line, undefined, `duplicate row for ${[...index.keys()][r.a]} -> ${[...index.keys()][r.b]} (first at line ${seenAt[k]})`)
    }
    seenAt[k] = r.line
    d[k] = r.ms
  }
  let filled = 0
  let missing = 0
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const ij = d[i * n + j]
      const ji = d[j * n + i]
      if (Number.isNaN(ij) && Number.isNaN(ji)) missing++
      else if (Number.isNaN(ij)) (d[i * n + j] = ji), filled++
      else if (Number.isNaN(ji)) (d[j * n + i] = ij), filled++
    }
  }
  return { sites: [...index.keys()], oneWayMs: d, format, filledFromReverse: filled, missingPairs: missing }
}

/**
 * Splits each unordered pair's round trip asymmetrically:
 * d(x->y) = rtt/2 * (1+u), d(y->x) = rtt/2 * (1-u), u uniform in [-a, a],
 * where rtt = d(x->y) + d(y->x). Pairs are visited in (i < j) order, so the
 * same seed always gives the same split.
 */
export function applyAsymmetry(m: LatencyMatrix, fraction: number, rng: Rng): LatencyMatrix {
  if (!(fraction >= 0 && fraction <= 1)) throw new SimConfigError('--asymmetry', `must be in [0, 1], got ${fraction}`)
  const n = m.sites.length
  const d = Float64Array.from(m.oneWayMs)
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const rtt = d[i * n + j] + d[j * n + i]
      if (Number.isNaN(rtt)) continue
      const u = rng.uniform(-fraction, fraction)
      d[i * n + j] = (rtt / 2) * (1 + u)
      d[j * n + i] = (rtt / 2) * (1 - u)
    }
  }
  return { ...m, oneWayMs: d }
}

/** The sub-matrix of the named sites, in the order given. */
export function selectSites(m: LatencyMatrix, names: string[]): LatencyMatrix {
  const pos = new Map(m.sites.map((s, i) => [s, i]))
  const idx = names.map((s) => {
    const i = pos.get(s)
    if (i === undefined) throw new SimConfigError('--sites', `unknown site "${s}"`)
    return i
  })
  if (new Set(idx).size !== idx.length) throw new SimConfigError('--sites', 'a site is named twice')
  const n = idx.length
  const d = new Float64Array(n * n)
  let missing = 0
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) d[a * n + b] = a === b ? NaN : m.oneWayMs[idx[a] * m.sites.length + idx[b]]
  }
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) if (Number.isNaN(d[a * n + b])) missing++
  return { sites: idx.map((i) => m.sites[i]), oneWayMs: d, format: m.format, filledFromReverse: m.filledFromReverse, missingPairs: missing }
}

/** `count` sites drawn without replacement by `rng`, kept in file order. */
export function sampleSites(m: LatencyMatrix, count: number, rng: Rng): LatencyMatrix {
  if (!(Number.isInteger(count) && count >= 2 && count <= m.sites.length)) {
    throw new SimConfigError('--relays', `must be an integer in [2, ${m.sites.length}], got ${count}`)
  }
  const order = m.sites.map((_, i) => i)
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[order[i], order[j]] = [order[j], order[i]]
  }
  const picked = order.slice(0, count).sort((a, b) => a - b)
  return selectSites(m, picked.map((i) => m.sites[i]))
}
