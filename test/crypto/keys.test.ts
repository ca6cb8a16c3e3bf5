import { describe, expect, it } from 'vitest'
import { decodeKey, encodeKey, generateKeyPair, publicKeyFromPrivate, KeyFormatError } from '../../src/crypto/index.js'

describe('keys', () => {
  it('round-trips a key through base64', () => {
    const { privateKey, publicKey } = generateKeyPair()
    const text = encodeKey(publicKey)
    expect(text).toHaveLength(44)
    expect(Buffer.from(decodeKey(text, 'pub')).equals(Buffer.from(publicKey))).toBe(true)
    expect(Buffer.from(decodeKey(`  ${encodeKey(privateKey)}\n`, 'priv')).equals(Buffer.from(privateKey))).toBe(true)
  })

  it('derives the same public key generateKeyPair returned', () => {
    const kp = generateKeyPair()
    expect(Buffer.from(publicKeyFromPrivate(kp.privateKey)).equals(Buffer.from(kp.publicKey))).toBe(true)
  })

  it('generates different keys each time', () => {
    expect(encodeKey(generateKeyPair().privateKey)).not.toBe(encodeKey(generateKeyPair().privateKey))
  })

  it('rejects text that is not base64, naming the key', () => {
    for (const bad of ['', 'not base64!', 'abc', '@@@@'.repeat(11)]) {
      let err: unknown
      try {
        decodeKey(bad, 'peers[1].public_key')
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(KeyFormatError)
      expect((err as KeyFormatError).name).toBe('KeyFormatError')
      expect((err as KeyFormatError).problem).toBe('not_base64')
      expect((err as Error).message).toContain('peers[1].public_key')
      expect((err as Error).message).toContain('not base64')
    }
  })

  it('rejects base64 of the wrong length and says how long it was', () => {
    const short = Buffer.alloc(16, 7).toString('base64')
    expect(() => decodeKey(short, 'relay.private_key')).toThrowError(/expected 32 bytes/)
    try {
      decodeKey(Buffer.alloc(33).toString('base64'), 'k')
      expect.unreachable()
    } catch (e) {
      expect((e as KeyFormatError).problem).toBe('wrong_length')
      expect((e as KeyFormatError).byteLength).toBe(33)
      expect((e as Error).message).toContain('wrong length')
    }
  })

  it('refuses to derive a public key from a private key of the wrong size', () => {
    expect(() => publicKeyFromPrivate(new Uint8Array(31))).toThrowError(KeyFormatError)
  })
})
