import { describe, expect, it } from 'vitest'
import nacl from 'tweetnacl'
import { selectAead, type Aead } from '../../src/crypto/aead.js'
import { seededBytes } from './harness.js'

const rand = seededBytes(42)
const backends: Aead[] = [selectAead('sodium'), selectAead('tweetnacl')]
const SIZES = [0, 1, 15, 16, 64, 200, 1200, 3000]

describe('secretbox backends', () => {
  it('auto picks sodium-native when it loads', () => {
    expect(selectAead('auto').name).toBe('sodium')
  })

  for (const sealer of backends) {
    for (const opener of backends) {
      it(`${opener.name} opens what ${sealer.name} sealed, byte for byte`, () => {
        for (const size of SIZES) {
          const key = rand(32)
          const nonce = rand(24)
          const plain = rand(size)
          const sealed = new Uint8Array(size + 16)
          sealer.seal(sealed, plain, nonce, key)
          const again = new Uint8Array(size + 16)
          opener.seal(again, plain, nonce, key)
          expect(Buffer.from(again).equals(Buffer.from(sealed))).toBe(true)
          const out = new Uint8Array(size)
          expect(opener.open(out, sealed, nonce, key)).toBe(true)
          expect(Buffer.from(out).equals(Buffer.from(plain))).toBe(true)
        }
      })
    }

    it(`${sealer.name} refuses a flipped bit, a wrong key and a wrong nonce`, () => {
      const key = rand(32)
      const nonce = rand(24)
      const plain = rand(100)
      const sealed = new Uint8Array(116)
      sealer.seal(sealed, plain, nonce, key)
      const out = new Uint8Array(100)
      for (const i of [0, 15, 16, 60, 115]) {
        const bad = Uint8Array.from(sealed)
        bad[i] ^= 0x01
        expect(sealer.open(out, bad, nonce, key)).toBe(false)
      }
      const otherKey = Uint8Array.from(key)
      otherKey[0] ^= 1
      expect(sealer.open(out, sealed, nonce, otherKey)).toBe(false)
      const otherNonce = Uint8Array.from(nonce)
      otherNonce[23] ^= 0x80
      expect(sealer.open(out, sealed, otherNonce, key)).toBe(false)
      expect(sealer.open(out, sealed, nonce, key)).toBe(true)
    })
  }

  it('produces exactly the bytes of nacl.secretbox (tag first)', () => {
    for (const size of SIZES) {
      const key = rand(32)
      const nonce = rand(24)
      const plain = rand(size)
      const reference = nacl.secretbox(plain, nonce, key)
      for (const b of backends) {
        const out = new Uint8Array(size + 16)
        b.seal(out, plain, nonce, key)
        expect(Buffer.from(out).equals(Buffer.from(reference))).toBe(true)
      }
    }
  })
})
