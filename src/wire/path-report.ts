/**
 * Path reports: what an exit saw of the data an ingress sent it, per relay
 * path, sent back to that ingress every REPORT_INTERVAL_MS (dataplane/
 * path-meter.ts) so the ingress can check the map against the traffic
 * (docs/routing.md, "Path reports"). A report travels as its own plaintext
 * kind (KIND_PATH_REPORT) directly from the exit to the ingress, sealed like
 * every overlay packet. Fixed layout, big-endian; docs/wire-format.md is the
 * byte-by-byte reference.
 *
 *   0 version | 1 entry count | 2..3 reserved (0) | 4 reporter id | 8 report seq
 *   12 + 24*i: path key | slot id | received | samples u16 | rsvd u16 | min diff | mean diff
 *
 * The decoder never throws: it returns a negative ReportError that the
 * receiver counts.
 */
import { STAMP_MODULUS } from './data.js'

/** Plaintext kind of a path report (byte 0; wire/data.ts has kinds 1..4). */
export const KIND_PATH_REPORT = 5
export const REPORT_VERSION = 1
export const REPORT_HEADER_LEN = 12
export const REPORT_ENTRY_LEN = 24
/** Entries per report: an ingress uses a primary and a backup path per service, so this is many services' worth. */
export const MAX_REPORT_ENTRIES = 16
export const MAX_REPORT_LEN = REPORT_HEADER_LEN + MAX_REPORT_ENTRIES * REPORT_ENTRY_LEN

const OFF_VERSION = 0
const OFF_COUNT = 1
const OFF_RESERVED = 2
const OFF_REPORTER = 4
const OFF_SEQ = 8
// Within an entry:
const E_PATH_KEY = 0
const E_SLOT = 4
const E_RECEIVED = 8
const E_SAMPLES = 12
const E_RESERVED = 14
const E_MIN = 16
const E_MEAN = 20

/** `minDiff`/`meanDiff` when the interval had no delay sample. */
export const NO_DIFF = 0xffffffff

export const enum ReportError {
  Truncated = -1,
  BadVersion = -2,
  BadReserved = -3,
  TooManyEntries = -4,
  BadLength = -5,
  BadDiff = -6,
}

export const REPORT_ERROR_NAMES: Record<number, string> = {
  [-1]: 'truncated',
  [-2]: 'bad_version',
  [-3]: 'bad_reserved',
  [-4]: 'too_many_entries',
  [-5]: 'bad_length',
  [-6]: 'bad_diff',
}

export interface ReportEntry {
  /** pathKey() of the relay path, ingress first. */
  pathKey: number
  /** Which counter at the exit: a new id means `received` restarted from 0. */
  slotId: number
  /** Packets received on this path since the slot was made (wraps at 2^32). */
  received: number
  /** Delay samples in the last interval (saturates at 65535). */
  samples: number
  /** Minimum and mean of (exit receive stamp - send stamp) mod 2^24 in the interval; NO_DIFF without samples. */
  minDiff: number
  meanDiff: number
}

export interface PathReport {
  reporter: number
  seq: number
  entries: ReportEntry[]
}

/** FNV-1a over the relay ids of a path: the key both ends use for it. */
export function pathKey(nodes: Uint32Array, len: number): number {
  let h = 0x811c9dc5
  for (let i = 0; i < len; i++) {
    const id = nodes[i]
    for (let s = 24; s >= 0; s -= 8) {
      h ^= (id >>> s) & 0xff
      h = Math.imul(h, 0x01000193)
    }
  }
  return h >>> 0
}

/** Writes a report into out[0..]; returns its length. Entries beyond MAX_REPORT_ENTRIES are the caller's to split. */
export function encodePathReport(out: Buffer, r: PathReport): number {
  const n = Math.min(r.entries.length, MAX_REPORT_ENTRIES)
  out[OFF_VERSION] = REPORT_VERSION
  out[OFF_COUNT] = n
  out.writeUInt16BE(0, OFF_RESERVED)
  out.writeUInt32BE(r.reporter >>> 0, OFF_REPORTER)
  out.writeUInt32BE(r.seq >>> 0, OFF_SEQ)
  for (let i = 0; i < n; i++) {
    const e = r.entries[i]
    const o = REPORT_HEADER_LEN + i * REPORT_ENTRY_LEN
    out.writeUInt32BE(e.pathKey >>> 0, o + E_PATH_KEY)
    out.writeUInt32BE(e.slotId >>> 0, o + E_SLOT)
    out.writeUInt32BE(e.received >>> 0, o + E_RECEIVED)
    out.writeUInt16BE(Math.min(e.samples, 0xffff), o + E_SAMPLES)
    out.writeUInt16BE(0, o + E_RESERVED)
    out.writeUInt32BE(e.minDiff >>> 0, o + E_MIN)
    out.writeUInt32BE(e.meanDiff >>> 0, o + E_MEAN)
  }
  return REPORT_HEADER_LEN + n * REPORT_ENTRY_LEN
}

/** Parses a report body (after the kind byte). Returns the report or a negative ReportError; never throws. */
export function decodePathReport(buf: Uint8Array): PathReport | ReportError {
  if (buf.length < REPORT_HEADER_LEN) return ReportError.Truncated
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  if (buf[OFF_VERSION] !== REPORT_VERSION) return ReportError.BadVersion
  if (v.getUint16(OFF_RESERVED) !== 0) return ReportError.BadReserved
  const n = buf[OFF_COUNT]
  if (n > MAX_REPORT_ENTRIES) return ReportError.TooManyEntries
  if (buf.length !== REPORT_HEADER_LEN + n * REPORT_ENTRY_LEN) return ReportError.BadLength
  const entries: ReportEntry[] = []
  for (let i = 0; i < n; i++) {
    const o = REPORT_HEADER_LEN + i * REPORT_ENTRY_LEN
    if (v.getUint16(o + E_RESERVED) !== 0) return ReportError.BadReserved
    const samples = v.getUint16(o + E_SAMPLES)
    const minDiff = v.getUint32(o + E_MIN)
    const meanDiff = v.getUint32(o + E_MEAN)
    // With samples both are 24-bit stamp differences; without, both are NO_DIFF.
    const valid = samples > 0 ? minDiff < STAMP_MODULUS && meanDiff < STAMP_MODULUS : minDiff === NO_DIFF && meanDiff === NO_DIFF
    if (!valid) return ReportError.BadDiff
    entries.push({
      pathKey: v.getUint32(o + E_PATH_KEY),
      slotId: v.getUint32(o + E_SLOT),
      received: v.getUint32(o + E_RECEIVED),
      samples,
      minDiff,
      meanDiff,
    })
  }
  return { reporter: v.getUint32(OFF_REPORTER), seq: v.getUint32(OFF_SEQ), entries }
}
