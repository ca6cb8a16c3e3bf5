/**
 * Loads sodium-native if its native binding is usable here. It has no type
 * declarations, so the few functions crypto/ calls are typed below.
 */
import { createRequire } from 'node:module'

export interface SodiumLike {
  crypto_secretbox_easy(c: Uint8Array, m: Uint8Array, n: Uint8Array, k: Uint8Array): void
  crypto_secretbox_open_easy(m: Uint8Array, c: Uint8Array, n: Uint8Array, k: Uint8Array): boolean
  crypto_scalarmult(q: Uint8Array, n: Uint8Array, p: Uint8Array): void
  crypto_scalarmult_base(q: Uint8Array, n: Uint8Array): void
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void
  crypto_sign_detached(sig: Uint8Array, m: Uint8Array, sk: Uint8Array): void
  crypto_sign_verify_detached(sig: Uint8Array, m: Uint8Array, pk: Uint8Array): boolean
}

let cached: SodiumLike | null | undefined

/** The sodium-native module, or null when it cannot be loaded. Loaded once per process. */
export function loadSodium(): SodiumLike | null {
  if (cached !== undefined) return cached
  try {
    const require = createRequire(import.meta.url)
    cached = require('sodium-native') as SodiumLike
  } catch {
    cached = null
  }
  return cached
}
