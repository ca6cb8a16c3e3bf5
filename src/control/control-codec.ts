/**
 * The byte form of control messages (kind-2 plaintexts): msgpack, decoded
 * strictly because a peer's bytes are hostile input.
 *
 * msgpackr on its own is not safe here, whatever its options say:
 * - its extension types (structured clone, records, bundled strings...) are
 *   decoded unless each is switched off, and some cannot be: `useRecords:
 *   false` only affects encoding, so a record definition from a peer is
 *   still decoded (and remembered by the decoder for later messages);
 * - structured clone turns 120 bytes into a cyclic object, and shared
 *   references into an object graph that is exponentially large once walked
 *   or re-packed;
 * - its decoder recurses, so deep nesting overflows the stack.
 *
 * So `scanControl` first walks the bytes once, iteratively, and rejects any
 * extension type (which covers records, structured clone and every other
 * msgpackr extension), the reserved byte 0xc1, nesting deeper than
 * `maxDepth`, more than `maxItems` values in total, strings or binaries over
 * their caps, truncation and trailing bytes. What is left is a plain tree of
 * maps, arrays and scalars, at most `maxItems` nodes, which msgpackr then
 * decodes with extensions off. The router rebuilds every message from its
 * validated fields (control-message.ts), so nothing a peer built is ever
 * re-packed.
 */
import { Packr, Unpackr } from 'msgpackr'

/** Largest control plaintext body we send or accept (a whole column of ~1000 relays fits). */
export const MAX_CONTROL_BYTES = 60_000
/**
 * Deepest container nesting of any control message: the map update's root
 * map, its `edges` array, an edge tuple. Anything deeper is not ours.
 */
export const MAX_CONTROL_DEPTH = 3
/** Longest string (relay and service names, message types). */
export const MAX_CONTROL_STRING = 255
/** Longest binary (an Ed25519 signature is 64 bytes). */
export const MAX_CONTROL_BINARY = 64

export interface ControlLimits {
  maxBytes: number
  maxDepth: number
  /** Values in total, containers and scalars (a map entry counts its key and its value). */
  maxItems: number
  maxString: number
  maxBinary: number
}

/**
 * Limits for a network of `relays` relays and `services` services: a whole
 * column holds at most relays-1 edge tuples of 9 values (the tuple and its
 * 8 fields) and one origin tuple of 10 per service, plus a few header fields.
 */
export function controlLimits(relays: number, services: number): ControlLimits {
  return {
    maxBytes: MAX_CONTROL_BYTES,
    maxDepth: MAX_CONTROL_DEPTH,
    maxItems: 64 + 9 * relays + 10 * services,
    maxString: MAX_CONTROL_STRING,
    maxBinary: MAX_CONTROL_BINARY,
  }
}

/** Why `scanControl` / `decodeControl` refused some bytes (counted as `control_malformed_<reason>`). */
export type ControlScanReason =
  | 'too_large' | 'truncated' | 'trailing' | 'ext_type' | 'reserved_byte' | 'too_deep' | 'too_many_items' | 'string_too_long'
  | 'binary_too_long' | 'decode'

/**
 * Walks one msgpack value in `bytes` without building it. Returns '' when
 * it is a plain tree within `limits` that spans the bytes exactly, else the
 * reason. Never throws; iterative, so no input can exhaust the stack.
 */
export function scanControl(bytes: Uint8Array, limits: ControlLimits): ControlScanReason | '' {
  const len = bytes.length
  if (len > limits.maxBytes) return 'too_large'
  // remaining[d]: values still to read in the container open at depth d (depth 0: the root, 1 value).
  const remaining = new Float64Array(limits.maxDepth + 1)
  remaining[0] = 1
  let depth = 0
  let items = 0
  let p = 0
  while (depth >= 0) {
    if (remaining[depth] === 0) {
      depth--
      continue
    }
    remaining[depth]--
    if (++items > limits.maxItems) return 'too_many_items'
    if (p >= len) return 'truncated'
    const b = bytes[p++]
    let skip = 0
    let children = -1
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) skip = 0
    else if (b <= 0x8f) children = 2 * (b & 0x0f)
    else if (b <= 0x9f) children = b & 0x0f
    else if (b <= 0xbf) {
      skip = b & 0x1f
      if (skip > limits.maxString) return 'string_too_long'
    } else {
      switch (b) {
        case 0xc1: return 'reserved_byte'
        case 0xc4: case 0xc5: case 0xc6: {
          const n = readLength(bytes, p, b - 0xc4)
          if (n < 0) return 'truncated'
          p += 1 << (b - 0xc4)
          if (n > limits.maxBinary) return 'binary_too_long'
          skip = n
          break
        }
        case 0xc7: case 0xc8: case 0xc9: case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
          return 'ext_type'
        case 0xca: skip = 4; break
        case 0xcb: skip = 8; break
        case 0xcc: case 0xd0: skip = 1; break
        case 0xcd: case 0xd1: skip = 2; break
        case 0xce: case 0xd2: skip = 4; break
        case 0xcf: case 0xd3: skip = 8; break
        case 0xd9: case 0xda: case 0xdb: {
          const n = readLength(bytes, p, b - 0xd9)
          if (n < 0) return 'truncated'
          p += 1 << (b - 0xd9)
          if (n > limits.maxString) return 'string_too_long'
          skip = n
          break
        }
        case 0xdc: case 0xdd: case 0xde: case 0xdf: {
          const width = b === 0xdc || b === 0xde ? 1 : 2
          const n = readLength(bytes, p, width)
          if (n < 0) return 'truncated'
          p += 1 << width
          // Compared before it is used: a declared count beyond what the bytes can hold is refused here.
          if (n > limits.maxItems) return 'too_many_items'
          children = b >= 0xde ? 2 * n : n
          break
        }
      }
    }
    if (p + skip > len) return 'truncated'
    p += skip
    if (children > 0) {
      if (depth + 1 > limits.maxDepth) return 'too_deep'
      remaining[++depth] = children
    }
  }
  return p === len ? '' : 'trailing'
}

/** Big-endian length of 2^width bytes at p (width 0, 1 or 2), or -1 when the bytes end first. */
function readLength(bytes: Uint8Array, p: number, width: number): number {
  const size = 1 << width
  if (p + size > bytes.length) return -1
  let n = 0
  for (let i = 0; i < size; i++) n = n * 256 + bytes[p + i]
  return n
}

// Extensions off for decoding (the scan has already refused every ext byte;
// this is the second line). Plain maps become plain objects, which the
// router's parsers read field by field and rebuild.
const unpackr = new Unpackr({ useRecords: false, structuredClone: false, mapsAsObjects: true, moreTypes: false, bundleStrings: false })
// Encoding: plain maps and arrays, floats as float64 (so a signed column's numbers cross exactly).
const packr = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, bundleStrings: false, useFloat32: 0 })

export type ControlDecode = { ok: true; value: unknown } | { ok: false; reason: ControlScanReason }

/** Scans, then decodes one control message. Never throws. */
export function decodeControl(bytes: Uint8Array, limits: ControlLimits): ControlDecode {
  const bad = scanControl(bytes, limits)
  if (bad !== '') return { ok: false, reason: bad }
  try {
    return { ok: true, value: unpackr.unpack(bytes) }
  } catch {
    return { ok: false, reason: 'decode' }
  }
}

/** Encodes a control message the router built (never one a peer sent: see control-message.ts). */
export function encodeControl(msg: unknown): Buffer {
  return packr.pack(msg)
}
