/**
 * secretbox through tweetnacl's low-level API, the portable fallback. The
 * NaCl low-level calls want 32 zero bytes in front of the message (16 in front
 * of the box), so each backend instance keeps scratch arrays that grow to the
 * largest packet seen and copies through them. tweetnacl itself still
 * allocates small temporaries internally; this backend is for portability,
 * not speed.
 */
import nacl from 'tweetnacl'
import type { Aead } from './aead.js'

interface NaclLowLevel {
  crypto_secretbox(c: Uint8Array, m: Uint8Array, d: number, n: Uint8Array, k: Uint8Array): number
  crypto_secretbox_open(m: Uint8Array, c: Uint8Array, d: number, n: Uint8Array, k: Uint8Array): number
}

const lowlevel = (nacl as unknown as { lowlevel: NaclLowLevel }).lowlevel

/** Zero bytes NaCl's crypto_secretbox expects before the plaintext. */
const ZERO_BYTES = 32
/** Zero bytes it leaves (and expects) before the tag. */
const BOX_ZERO_BYTES = 16

export function tweetnaclAead(): Aead {
  let m = new Uint8Array(2048)
  let c = new Uint8Array(2048)
  const ensure = (need: number): void => {
    if (m.length >= need) return
    m = new Uint8Array(need)
    c = new Uint8Array(need)
  }
  return {
    name: 'tweetnacl',
    seal(out, plain, nonce, key) {
      const d = plain.length + ZERO_BYTES
      ensure(d)
      m.fill(0, 0, ZERO_BYTES)
      m.set(plain, ZERO_BYTES)
      lowlevel.crypto_secretbox(c, m, d, nonce, key)
      // c = 16 zero bytes, then tag (16), then ciphertext: copy from the tag on.
      for (let i = 0; i < out.length; i++) out[i] = c[BOX_ZERO_BYTES + i]
    },
    open(out, sealed, nonce, key) {
      const d = sealed.length + BOX_ZERO_BYTES
      if (sealed.length < 16) return false
      ensure(d)
      c.fill(0, 0, BOX_ZERO_BYTES)
      c.set(sealed, BOX_ZERO_BYTES)
      if (lowlevel.crypto_secretbox_open(m, c, d, nonce, key) !== 0) return false
      for (let i = 0; i < out.length; i++) out[i] = m[ZERO_BYTES + i]
      return true
    },
  }
}
