/**
 * Ed25519 signatures of map columns (docs/security.md, "Control-plane
 * messages"): each relay signs the columns it measured, every relay checks
 * a column against its origin's key before applying or relaying it.
 *
 * No second secret: a relay's signing key pair is derived from its X25519
 * static private key, seed = HKDF-SHA256(ikm = private key, salt = empty,
 * info = SIGN_SEED_INFO), and configs list each peer's Ed25519 public key
 * (`sign_key`) next to its X25519 one. The label keeps the seed unrelated
 * to every other use of the private key (X25519 and the handshake KDF never
 * see it), and HKDF is one-way, so the signing key reveals nothing of the
 * X25519 key.
 *
 * sodium-native when it loads, Node's own Ed25519 (OpenSSL) otherwise: the
 * same bytes (Ed25519 signatures are deterministic), tested both ways.
 * tweetnacl also has Ed25519, but verifies about 100 times slower (~20 ms
 * per column, `npm run bench`, suite crypto), too slow for a large mesh.
 */
import { createPrivateKey, createPublicKey, hkdfSync, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto'
import { KEY_LEN } from './keys.js'
import { loadSodium } from './sodium-loader.js'

export const SIGN_SEED_INFO = 'overpass map column signing key v1'
export const SIGN_PUBLIC_KEY_LEN = 32
export const SIGNATURE_LEN = 64

export interface SigningKeyPair {
  /** 32-byte Ed25519 public key: what `sign_key` lists in other relays' configs. */
  publicKey: Uint8Array
  /** 64-byte Ed25519 secret key (seed and public key, libsodium's layout). */
  secretKey: Uint8Array
}

export type SignBackend = 'sodium' | 'node'

// DER prefixes that wrap a raw 32-byte Ed25519 seed (PKCS#8) or public key (SPKI) for node:crypto.
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex')

/** The signing key pair derived from a relay's X25519 static private key. */
export function signingKeyPairOf(x25519Private: Uint8Array, backend: SignBackend = defaultBackend()): SigningKeyPair {
  if (x25519Private.length !== KEY_LEN) throw new RangeError(`private key must be ${KEY_LEN} bytes, got ${x25519Private.length}`)
  const seed = new Uint8Array(hkdfSync('sha256', x25519Private, new Uint8Array(0), SIGN_SEED_INFO, 32))
  try {
    const sodium = backend === 'sodium' ? loadSodium() : null
    if (sodium !== null) {
      const publicKey = new Uint8Array(SIGN_PUBLIC_KEY_LEN)
      const secretKey = new Uint8Array(64)
      sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed)
      return { publicKey, secretKey }
    }
    const pub = createPublicKey(nodePrivateKey(seed)).export({ format: 'der', type: 'spki' })
    const publicKey = new Uint8Array(pub.subarray(SPKI_ED25519.length))
    const secretKey = new Uint8Array(64)
    secretKey.set(seed, 0)
    secretKey.set(publicKey, 32)
    return { publicKey, secretKey }
  } finally {
    seed.fill(0)
  }
}

/** The Ed25519 public key (`sign_key`) of the relay whose X25519 private key this is. */
export function signPublicKeyOf(x25519Private: Uint8Array): Uint8Array {
  const kp = signingKeyPairOf(x25519Private)
  kp.secretKey.fill(0)
  return kp.publicKey
}

/**
 * Signs this relay's columns and verifies its peers' ones: a route/
 * ColumnAuth (structurally; crypto/ does not import route/).
 */
export class Ed25519ColumnAuth {
  private readonly secretKey: Uint8Array
  private readonly keys: ReadonlyMap<string, Uint8Array | readonly Uint8Array[]>
  private readonly sodium: ReturnType<typeof loadSodium>
  /** node:crypto key objects (used without sodium): ours, and each peer's made on first use. */
  private nodeSecret: KeyObject | undefined
  private readonly nodeKeys = new Map<string, KeyObject>()

  /**
   * `signKeys`: relay id -> its Ed25519 public key, for every peer whose
   * columns we accept; two during a key rotation (either verifies).
   */
  constructor(x25519Private: Uint8Array, signKeys: ReadonlyMap<string, Uint8Array | readonly Uint8Array[]>, backend: SignBackend = defaultBackend()) {
    this.sodium = backend === 'sodium' ? loadSodium() : null
    this.secretKey = signingKeyPairOf(x25519Private, backend).secretKey
    this.keys = signKeys
    if (this.sodium === null) this.nodeSecret = nodePrivateKey(this.secretKey.subarray(0, 32))
  }

  sign(bytes: Uint8Array): Uint8Array {
    if (this.sodium === null) return new Uint8Array(nodeSign(null, bytes, this.nodeSecret!))
    const sig = new Uint8Array(SIGNATURE_LEN)
    this.sodium.crypto_sign_detached(sig, bytes, this.secretKey)
    return sig
  }

  verify(origin: string, bytes: Uint8Array, sig: Uint8Array): boolean {
    const listed = this.keys.get(origin)
    if (listed === undefined || sig.length !== SIGNATURE_LEN) return false
    if (listed instanceof Uint8Array) return this.verifyWith(origin, 0, listed, bytes, sig)
    for (let i = 0; i < listed.length; i++) if (this.verifyWith(origin, i, listed[i], bytes, sig)) return true
    return false
  }

  /** `slot`: which of the origin's listed keys (its node:crypto object is cached per slot). */
  private verifyWith(origin: string, slot: number, key: Uint8Array, bytes: Uint8Array, sig: Uint8Array): boolean {
    if (key.length !== SIGN_PUBLIC_KEY_LEN) return false
    if (this.sodium !== null) return this.sodium.crypto_sign_verify_detached(sig, bytes, key)
    const cacheKey = slot === 0 ? origin : `${origin}#${slot}`
    let k = this.nodeKeys.get(cacheKey)
    if (k === undefined) {
      k = createPublicKey({ key: Buffer.concat([SPKI_ED25519, key]), format: 'der', type: 'spki' })
      this.nodeKeys.set(cacheKey, k)
    }
    return nodeVerify(null, bytes, k, sig)
  }
}

function nodePrivateKey(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' })
}

function defaultBackend(): SignBackend {
  return loadSodium() !== null ? 'sodium' : 'node'
}
