/**
 * X25519 key helpers for relay identities: generation, derivation and the
 * base64 text form used in config files and `overpass keygen`.
 */
import nacl from 'tweetnacl'
import { KeyFormatError } from './errors.js'

export const KEY_LEN = 32

export interface KeyPair {
  privateKey: Uint8Array
  publicKey: Uint8Array
}

/**
 * A fresh random X25519 key pair (tweetnacl draws from the OS CSPRNG). The
 * private key is stored clamped, as X25519 uses it, so its text form is canonical.
 */
export function generateKeyPair(): KeyPair {
  const privateKey = nacl.randomBytes(KEY_LEN)
  privateKey[0] &= 248
  privateKey[31] = (privateKey[31] & 127) | 64
  return { privateKey, publicKey: nacl.scalarMult.base(privateKey) }
}

/** The public key of `privateKey` (X25519 base-point multiplication; clamping is done inside). */
export function publicKeyFromPrivate(privateKey: Uint8Array): Uint8Array {
  if (privateKey.length !== KEY_LEN) {
    throw new KeyFormatError('private key', 'wrong_length', `expected ${KEY_LEN} bytes, got ${privateKey.length}`, privateKey.length)
  }
  return nacl.scalarMult.base(privateKey)
}

/** Standard base64 (44 characters for a 32-byte key). */
export function encodeKey(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64')
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/

/**
 * Parses a base64 key. `what` names the key in the error ("peers[1].public_key")
 * so the operator knows which line to fix. Node's decoder silently skips junk,
 * so the alphabet and padding are checked first.
 */
export function decodeKey(text: string, what: string): Uint8Array {
  const trimmed = text.trim()
  if (trimmed.length === 0 || !BASE64_RE.test(trimmed) || trimmed.length % 4 !== 0) {
    throw new KeyFormatError(what, 'not_base64', `not base64 (expected ${KEY_LEN} bytes as 44 base64 characters)`)
  }
  const bytes = Buffer.from(trimmed, 'base64')
  // Non-canonical padding bits decode "successfully" to the same bytes as
  // another text; accept only the canonical form so one key has one spelling.
  if (bytes.toString('base64') !== trimmed) {
    throw new KeyFormatError(what, 'not_base64', `not canonical base64 (expected ${KEY_LEN} bytes as 44 base64 characters)`)
  }
  if (bytes.length !== KEY_LEN) {
    throw new KeyFormatError(what, 'wrong_length', `wrong length: decoded to ${bytes.length} bytes, expected ${KEY_LEN} bytes`, bytes.length)
  }
  return new Uint8Array(bytes)
}
