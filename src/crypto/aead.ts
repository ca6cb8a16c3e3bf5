/**
 * The authenticated cipher behind every transport packet and handshake field:
 * NaCl secretbox (XSalsa20-Poly1305, 32-byte key, 24-byte nonce, 16-byte tag
 * written in front of the ciphertext). Two interchangeable backends produce the
 * same bytes; `selectAead` picks one.
 */
import { sodiumAead } from './aead-sodium.js'
import { tweetnaclAead } from './aead-tweetnacl.js'

export const SECRETBOX_KEY_LEN = 32
export const SECRETBOX_NONCE_LEN = 24
export const SECRETBOX_TAG_LEN = 16

export type AeadName = 'sodium' | 'tweetnacl'

/**
 * Arguments are exact-length views: `out` must be exactly `plain.length + 16`
 * bytes for seal and `sealed.length - 16` for open. Nothing is allocated by
 * the sodium backend; callers keep reusable views of their own buffers.
 */
export interface Aead {
  readonly name: AeadName
  seal(out: Uint8Array, plain: Uint8Array, nonce: Uint8Array, key: Uint8Array): void
  /** False when the tag does not verify; `out` is then garbage and must not be used. */
  open(out: Uint8Array, sealed: Uint8Array, nonce: Uint8Array, key: Uint8Array): boolean
}

/** Thrown (control path) when 'sodium' is requested explicitly but does not load. */
export class BackendUnavailableError extends Error {
  override readonly name = 'BackendUnavailableError'
  readonly backend: string

  constructor(backend: string) {
    super(`crypto backend "${backend}" is not available on this machine (sodium-native did not load)`)
    this.backend = backend
  }
}

/** 'auto' prefers sodium-native (native code, zero-alloc) and falls back to tweetnacl. */
export function selectAead(choice: 'sodium' | 'tweetnacl' | 'auto' = 'auto'): Aead {
  if (choice === 'tweetnacl') return tweetnaclAead()
  const sodium = sodiumAead()
  if (sodium) return sodium
  if (choice === 'sodium') throw new BackendUnavailableError('sodium')
  return tweetnaclAead()
}
