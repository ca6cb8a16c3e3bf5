import { describe, expect, it } from 'vitest'
import { Ed25519ColumnAuth, generateKeyPair, signingKeyPairOf, signPublicKeyOf } from '../../src/crypto/index.js'
import { canonicalColumn } from '../../src/route/column-signature.js'
import { controlLimits, decodeControl, encodeControl } from '../../src/control/control-codec.js'
import { checkEdges, parseMapUpdate, type MapUpdate } from '../../src/route/control-message.js'
import { RelayIndex } from '../../src/probe/relay-index.js'

const relays = ['lax', 'sea', 'dal']
const schema = { relays: new Set(relays), exits: new Map([['game', new Set(['dal'])]]) }

function column(): MapUpdate {
  return {
    type: 'overpass.map', v: 1, origin: 'dal', boot: 4_000_000_000, seq: 2 ** 40 + 3, full: false,
    edges: [['lax', 12.5, -0, -0.25, null, 0.5, 0, true], ['sea', 10, 9, null, 20, 0.1, 1.5, false]],
    origins: [['game', 'icmp', 1.5, 1.5, null, 3, 0.1, 0, true]],
  }
}

describe('map column signing keys', () => {
  it('derives the same Ed25519 key pair from the X25519 private key with either backend', () => {
    const { privateKey } = generateKeyPair()
    const a = signingKeyPairOf(privateKey, 'sodium')
    const b = signingKeyPairOf(privateKey, 'node')
    expect(Buffer.from(a.publicKey)).toEqual(Buffer.from(b.publicKey))
    expect(Buffer.from(a.secretKey)).toEqual(Buffer.from(b.secretKey))
    expect(Buffer.from(signPublicKeyOf(privateKey))).toEqual(Buffer.from(a.publicKey))
  })

  it('gives different relays different keys, unrelated to their X25519 public key', () => {
    const k1 = generateKeyPair()
    const k2 = generateKeyPair()
    expect(Buffer.from(signPublicKeyOf(k1.privateKey))).not.toEqual(Buffer.from(signPublicKeyOf(k2.privateKey)))
    expect(Buffer.from(signPublicKeyOf(k1.privateKey))).not.toEqual(Buffer.from(k1.publicKey))
  })

  it('signs identically with both backends, and each verifies the other', () => {
    const dal = generateKeyPair()
    const keys = new Map([['dal', signPublicKeyOf(dal.privateKey)]])
    const sodium = new Ed25519ColumnAuth(dal.privateKey, keys, 'sodium')
    const node = new Ed25519ColumnAuth(dal.privateKey, keys, 'node')
    const bytes = canonicalColumn(column())
    const sig = sodium.sign(bytes)
    expect(Buffer.from(node.sign(bytes))).toEqual(Buffer.from(sig))
    expect(node.verify('dal', bytes, sig)).toBe(true)
    expect(sodium.verify('dal', bytes, sig)).toBe(true)
    // Wrong origin, unknown origin, flipped bit.
    expect(sodium.verify('sea', bytes, sig)).toBe(false)
    const flipped = Uint8Array.from(bytes)
    flipped[flipped.length - 3] ^= 1
    expect(sodium.verify('dal', flipped, sig)).toBe(false)
    expect(node.verify('dal', flipped, sig)).toBe(false)
  })
})

describe('canonical column encoding', () => {
  it('survives the msgpack round trip a relayed column takes, so the signature still verifies', () => {
    const dal = generateKeyPair()
    const auth = new Ed25519ColumnAuth(dal.privateKey, new Map([['dal', signPublicKeyOf(dal.privateKey)]]))
    const u = column()
    u.sig = auth.sign(canonicalColumn(u))
    // Twice through the wire (origin -> relayer -> receiver).
    let msg: unknown = u
    for (let hop = 0; hop < 2; hop++) {
      const d = decodeControl(encodeControl(msg), controlLimits(3, 1))
      expect(d.ok).toBe(true)
      const p = parseMapUpdate((d as { value: unknown }).value, schema) as MapUpdate
      expect(typeof p).toBe('object')
      expect(checkEdges(p, new RelayIndex(relays), new Uint32Array(3), 1, new Int32Array(3))).toBe('')
      expect(auth.verify('dal', canonicalColumn(p), p.sig!)).toBe(true)
      msg = p
    }
  })

  it('changes with every field a receiver applies', () => {
    const base = Buffer.from(canonicalColumn(column()))
    const variants: ((u: MapUpdate) => void)[] = [
      (u) => (u.origin = 'sea'), (u) => (u.boot = 1), (u) => (u.seq = 3), (u) => (u.full = true), (u) => delete u.full,
      (u) => (u.edges[0][1] = 12.6), (u) => (u.edges[0][3] = null), (u) => (u.edges[1][4] = null), (u) => (u.edges[1][7] = true),
      (u) => u.edges.pop(), (u) => (u.origins[0][1] = 'twamp'), (u) => (u.origins[0][7] = 0.5), (u) => u.origins.pop(),
    ]
    for (const change of variants) {
      const u = column()
      change(u)
      expect(Buffer.from(canonicalColumn(u))).not.toEqual(base)
    }
  })
})
