/** secretbox through libsodium (sodium-native): native speed, writes straight into caller views. */
import type { Aead } from './aead.js'
import { loadSodium } from './sodium-loader.js'

/** Null when sodium-native does not load. */
export function sodiumAead(): Aead | null {
  const sodium = loadSodium()
  if (!sodium) return null
  return {
    name: 'sodium',
    seal(out, plain, nonce, key) {
      sodium.crypto_secretbox_easy(out, plain, nonce, key)
    },
    open(out, sealed, nonce, key) {
      return sodium.crypto_secretbox_open_easy(out, sealed, nonce, key)
    },
  }
}
