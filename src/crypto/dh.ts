/**
 * X25519 for the handshake. tweetnacl is the reference; when sodium-native
 * loads, libsodium computes the identical function ~20x faster, which matters
 * because scalar multiplications are the CPU cost an attacker can induce.
 */
import nacl from 'tweetnacl'
import { loadSodium } from './sodium-loader.js'

export interface Dh {
  readonly name: 'sodium' | 'tweetnacl'
  publicFromPrivate(privateKey: Uint8Array): Uint8Array
  /** Shared secret, or null when it is all zeros (the peer sent a low-order point). */
  shared(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null
}

function isZero(b: Uint8Array): boolean {
  let acc = 0
  for (let i = 0; i < b.length; i++) acc |= b[i]
  return acc === 0
}

export const tweetnaclDh: Dh = {
  name: 'tweetnacl',
  publicFromPrivate: (priv) => nacl.scalarMult.base(priv),
  shared(priv, pub) {
    const out = nacl.scalarMult(priv, pub)
    return isZero(out) ? null : out
  },
}

export function sodiumDh(): Dh | null {
  const sodium = loadSodium()
  if (!sodium) return null
  return {
    name: 'sodium',
    publicFromPrivate(priv) {
      const out = Buffer.alloc(32)
      sodium.crypto_scalarmult_base(out, priv)
      return out
    },
    shared(priv, pub) {
      const out = Buffer.alloc(32)
      try {
        // libsodium itself refuses (throws here) an all-zero result.
        sodium.crypto_scalarmult(out, priv, pub)
      } catch {
        return null
      }
      return isZero(out) ? null : out
    },
  }
}
