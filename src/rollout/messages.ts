/**
 * The byte form of network-version messages: the body of a kind-4 overlay
 * plaintext (wire/data.ts KIND_NETWORK_VERSION), sealed and authenticated
 * like every overlay packet, so only a configured peer can send one. Fixed
 * big-endian layouts read at named offsets; a peer's bytes are hostile, so
 * `decodeVersionMessage` checks every length, reserved bit and range and
 * returns a drop reason instead of throwing (docs/wire-format.md).
 *
 *   announce (28 bytes)  what the sender holds and runs
 *     0 type=1 | 1 flags (bit 0: the running version is healthy) | 2 zero u16
 *     4 newest u64 (highest signature-checked version held; 0: none)
 *    12 newest bundle length u32 | 16 running u64 | 24 healthy for, ms u32
 *   request (1040 bytes) one chunk of a version's bundle; zero padded so that
 *     no reply is larger than its request
 *     0 type=2 | 1 zero | 2 chunk index u16 | 4 version u64 | 12 zeros
 *   chunk (16 + up to 1024 bytes)
 *     0 type=3 | 1 zero | 2 chunk index u16 | 4 version u64 | 12 bundle length u32 | 16 payload
 *
 * A bundle is the operator's 64-byte signature followed by the network
 * file's exact bytes; its chunks are CHUNK_BYTES long except the last.
 */
import { OPERATOR_SIGNATURE_LEN } from '../crypto/operator-signing.js'

export const MSG_ANNOUNCE = 1
export const MSG_REQUEST = 2
export const MSG_CHUNK = 3

/** Payload bytes per chunk: a chunk message plus the overlay's headers fits a 1280-byte IPv6 link. */
export const CHUNK_BYTES = 1024
/** Largest network file that spreads (about 3000 relays' entries); larger ones are refused, not truncated. */
export const MAX_NETWORK_FILE_BYTES = 1 << 20
export const MAX_BUNDLE_BYTES = OPERATOR_SIGNATURE_LEN + MAX_NETWORK_FILE_BYTES

export const ANNOUNCE_BYTES = 28
export const CHUNK_HEADER_BYTES = 16
export const REQUEST_BYTES = CHUNK_HEADER_BYTES + CHUNK_BYTES
const FLAG_HEALTHY = 0x01
/** Largest version the u64 fields may carry: versions are safe integers (config/signed-version.ts). */
const MAX_VERSION_HIGH_WORD = Math.floor(Number.MAX_SAFE_INTEGER / 2 ** 32)

const OFF_TYPE = 0
const OFF_FLAGS = 1
const OFF_INDEX = 2
const OFF_VERSION = 4
const OFF_ANN_NEWEST = 4
const OFF_ANN_NEWEST_LEN = 12
const OFF_ANN_RUNNING = 16
const OFF_ANN_HEALTHY_MS = 24
const OFF_CHUNK_TOTAL = 12

export interface Announce {
  type: 'announce'
  newest: number
  newestBytes: number
  running: number
  healthy: boolean
  healthyMs: number
}
export interface ChunkRequest {
  type: 'request'
  version: number
  index: number
}
export interface Chunk {
  type: 'chunk'
  version: number
  index: number
  total: number
  payload: Uint8Array
}
export type VersionMessage = Announce | ChunkRequest | Chunk

/** Why bytes were not a version message (counted as `version_malformed_<reason>`). */
export type MalformedReason = 'short' | 'bad_type' | 'bad_length' | 'reserved' | 'bad_version' | 'too_large' | 'bad_index'

export function chunkCount(bundleBytes: number): number {
  return Math.ceil(bundleBytes / CHUNK_BYTES)
}

export function encodeAnnounce(a: Omit<Announce, 'type'>): Uint8Array {
  const b = Buffer.alloc(ANNOUNCE_BYTES)
  b[OFF_TYPE] = MSG_ANNOUNCE
  b[OFF_FLAGS] = a.healthy ? FLAG_HEALTHY : 0
  writeVersion(b, OFF_ANN_NEWEST, a.newest)
  b.writeUInt32BE(a.newestBytes, OFF_ANN_NEWEST_LEN)
  writeVersion(b, OFF_ANN_RUNNING, a.running)
  b.writeUInt32BE(Math.min(Math.max(0, Math.floor(a.healthyMs)), 0xffffffff), OFF_ANN_HEALTHY_MS)
  return b
}

export function encodeRequest(version: number, index: number): Uint8Array {
  const b = Buffer.alloc(REQUEST_BYTES)
  b[OFF_TYPE] = MSG_REQUEST
  b.writeUInt16BE(index, OFF_INDEX)
  writeVersion(b, OFF_VERSION, version)
  return b
}

/** Chunk `index` of `bundle` (the signature, then the file). */
export function encodeChunk(version: number, bundle: Uint8Array, index: number): Uint8Array {
  const start = index * CHUNK_BYTES
  const payload = bundle.subarray(start, Math.min(bundle.length, start + CHUNK_BYTES))
  const b = Buffer.alloc(CHUNK_HEADER_BYTES + payload.length)
  b[OFF_TYPE] = MSG_CHUNK
  b.writeUInt16BE(index, OFF_INDEX)
  writeVersion(b, OFF_VERSION, version)
  b.writeUInt32BE(bundle.length, OFF_CHUNK_TOTAL)
  b.set(payload, CHUNK_HEADER_BYTES)
  return b
}

/** Never throws: a message, or why the bytes are not one. The chunk payload is a copy. */
export function decodeVersionMessage(bytes: Uint8Array): VersionMessage | MalformedReason {
  if (bytes.length < 4) return 'short'
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
  switch (b[OFF_TYPE]) {
    case MSG_ANNOUNCE: {
      if (b.length !== ANNOUNCE_BYTES) return 'bad_length'
      if ((b[OFF_FLAGS] & ~FLAG_HEALTHY) !== 0 || b.readUInt16BE(2) !== 0) return 'reserved'
      const newest = readVersion(b, OFF_ANN_NEWEST)
      const running = readVersion(b, OFF_ANN_RUNNING)
      if (newest < 0 || running < 0) return 'bad_version'
      const newestBytes = b.readUInt32BE(OFF_ANN_NEWEST_LEN)
      if (newestBytes > MAX_BUNDLE_BYTES) return 'too_large'
      // A held version has a bundle of at least the signature and one byte; none has none.
      if ((newest === 0) !== (newestBytes === 0) || (newest > 0 && newestBytes <= OPERATOR_SIGNATURE_LEN)) return 'bad_length'
      const healthy = (b[OFF_FLAGS] & FLAG_HEALTHY) !== 0
      const healthyMs = b.readUInt32BE(OFF_ANN_HEALTHY_MS)
      if (!healthy && healthyMs !== 0) return 'reserved'
      return { type: 'announce', newest, newestBytes, running, healthy, healthyMs }
    }
    case MSG_REQUEST: {
      if (b.length !== REQUEST_BYTES) return 'bad_length'
      if (b[OFF_FLAGS] !== 0) return 'reserved'
      for (let i = CHUNK_HEADER_BYTES - 4; i < b.length; i++) if (b[i] !== 0) return 'reserved'
      const version = readVersion(b, OFF_VERSION)
      if (version <= 0) return 'bad_version'
      const index = b.readUInt16BE(OFF_INDEX)
      if (index >= chunkCount(MAX_BUNDLE_BYTES)) return 'bad_index'
      return { type: 'request', version, index }
    }
    case MSG_CHUNK: {
      if (b.length < CHUNK_HEADER_BYTES + 1) return 'bad_length'
      if (b[OFF_FLAGS] !== 0) return 'reserved'
      const version = readVersion(b, OFF_VERSION)
      if (version <= 0) return 'bad_version'
      const total = b.readUInt32BE(OFF_CHUNK_TOTAL)
      if (total > MAX_BUNDLE_BYTES) return 'too_large'
      if (total <= OPERATOR_SIGNATURE_LEN) return 'bad_length'
      const index = b.readUInt16BE(OFF_INDEX)
      if (index >= chunkCount(total)) return 'bad_index'
      const expected = Math.min(CHUNK_BYTES, total - index * CHUNK_BYTES)
      if (b.length !== CHUNK_HEADER_BYTES + expected) return 'bad_length'
      return { type: 'chunk', version, index, total, payload: new Uint8Array(b.subarray(CHUNK_HEADER_BYTES)) }
    }
    default:
      return 'bad_type'
  }
}

function writeVersion(b: Buffer, off: number, v: number): void {
  b.writeUInt32BE(Math.floor(v / 2 ** 32), off)
  b.writeUInt32BE(v >>> 0, off + 4)
}

/** The version at `off` (0 allowed), or -1 when it is beyond a safe integer. */
function readVersion(b: Buffer, off: number): number {
  const high = b.readUInt32BE(off)
  if (high > MAX_VERSION_HIGH_WORD) return -1
  return high * 2 ** 32 + b.readUInt32BE(off + 4)
}
