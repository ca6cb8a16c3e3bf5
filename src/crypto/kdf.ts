/**
 * Hashing for the handshake (control path, so allocation is fine here):
 * SHA-256 as the transcript hash, HKDF-SHA256 as the chaining-key KDF, and
 * HMAC-SHA256 for mac1, mac2 and cookies. All from node:crypto (OpenSSL).
 */
import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'

export const HASH_LEN = 32
export const MAC1_LEN = 16
export const MAC2_LEN = 16

const EMPTY = Buffer.alloc(0)

/** SHA-256 over the concatenation of `parts`. */
export function hash(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}

export function hmac(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac('sha256', key)
  for (const p of parts) h.update(p)
  return h.digest()
}

/**
 * HKDF with the chaining key as salt and `input` as keying material, split into
 * `n` 32-byte outputs. With an empty info string this is exactly the Noise
 * HKDF(ck, input) construction: output 1 becomes the next chaining key.
 */
export function kdf(ck: Uint8Array, input: Uint8Array, n: 1 | 2 | 3): Buffer[] {
  const out = Buffer.from(hkdfSync('sha256', input, ck, EMPTY, HASH_LEN * n))
  const keys: Buffer[] = []
  for (let i = 0; i < n; i++) keys.push(out.subarray(i * HASH_LEN, (i + 1) * HASH_LEN))
  return keys
}

/** Key for mac1 on messages sent TO the holder of `publicKey`. */
export function mac1Key(label: Uint8Array, publicKey: Uint8Array): Buffer {
  return hash(label, publicKey)
}

/** Truncated HMAC of `msg[0, end)`. */
export function mac1(key: Uint8Array, msg: Uint8Array, end: number): Buffer {
  return hmac(key, msg.subarray(0, end)).subarray(0, MAC1_LEN)
}

/** Constant-time check of the mac1 field at `msg[off, off + 16)`. */
export function mac1Valid(key: Uint8Array, msg: Buffer, off: number): boolean {
  const expected = mac1(key, msg, off)
  return timingSafeEqual(expected, msg.subarray(off, off + MAC1_LEN))
}
