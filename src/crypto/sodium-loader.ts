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
