/**
 * NTP-format timestamps (RFC 5905: 32-bit seconds, 32-bit fraction) as TWAMP
 * carries them. In code a timestamp is a float "ntpMs": milliseconds on the
 * stamping host's own clock, modulo the 2^32 s NTP era. Timestamps from two
 * hosts are only ever subtracted (pseudo one-way delays, offset included).
 */

/** Milliseconds between the NTP epoch (1900) and the Unix epoch (1970). */
export const NTP_UNIX_OFFSET_MS = 2_208_988_800_000
const ERA_MS = 4294967296 * 1000
const FRAC = 4294967296

/** Writes `ntpMs` at `off` as 8 bytes (seconds, fraction), big-endian. */
export function writeNtp(view: DataView, off: number, ntpMs: number): void {
  let ms = ntpMs % ERA_MS
  if (ms < 0) ms += ERA_MS
  const sec = Math.floor(ms / 1000)
  const frac = Math.min(FRAC - 1, Math.round(((ms - sec * 1000) / 1000) * FRAC))
  view.setUint32(off, sec >>> 0)
  view.setUint32(off + 4, frac >>> 0)
}

export function readNtp(view: DataView, off: number): number {
  return view.getUint32(off) * 1000 + (view.getUint32(off + 4) * 1000) / FRAC
}

/** a - b in ms, wrapped into (-era/2, era/2] so differences survive the era rollover. */
export function ntpDiffMs(a: number, b: number): number {
  let d = (a - b) % ERA_MS
  if (d > ERA_MS / 2) d -= ERA_MS
  else if (d <= -ERA_MS / 2) d += ERA_MS
  return d
}

/**
 * The TWAMP error estimate (RFC 4656 §4.1.2): S (synchronised to UTC), Z (0 =
 * NTP format), 6-bit scale and 8-bit multiplier; error = multiplier * 2^(scale-32) s.
 */
export interface ErrorEstimate {
  synced: boolean
  scale: number
  multiplier: number
}

/** Unsynchronised clock, ~1 ms (2^-10 s) error: what Overpass stamps. */
export const UNSYNCED_1MS: ErrorEstimate = { synced: false, scale: 22, multiplier: 1 }

export function encodeErrorEstimate(e: ErrorEstimate): number {
  return ((e.synced ? 1 : 0) << 15) | ((e.scale & 0x3f) << 8) | (e.multiplier & 0xff)
}

export function decodeErrorEstimate(v: number): ErrorEstimate {
  return { synced: (v & 0x8000) !== 0, scale: (v >> 8) & 0x3f, multiplier: v & 0xff }
}

/** The error bound in ms an estimate stands for. */
export function errorEstimateMs(e: ErrorEstimate): number {
  return e.multiplier * 2 ** (e.scale - 32) * 1000
}
