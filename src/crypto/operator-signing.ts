/**
 * The operator's Ed25519 key, which signs versions of the network file
 * (config/signed-version.ts). Unlike a relay's sign_key it is a separate
 * secret: it is kept off the relays, and each relay's local file lists only
 * its public half as the trust anchor. The private key file holds the
 * 32-byte seed; the public key is derived from it.
 */
import { randomBytes } from 'node:crypto'
import { loadSodium, type SodiumLike } from './sodium-loader.js'

export const OPERATOR_SEED_LEN = 32
export const OPERATOR_PUBLIC_KEY_LEN = 32
export const OPERATOR_SIGNATURE_LEN = 64

export class SignerUnavailableError extends Error {
  override readonly name = 'SignerUnavailableError'
  constructor() {
    super('sodium-native did not load, so Ed25519 operator signatures cannot be made or checked (fix: reinstall with `npm ci`)')
  }
}

function sodium(): SodiumLike {
  const s = loadSodium()
  if (s === null) throw new SignerUnavailableError()
  return s
}

export function generateOperatorSeed(): Uint8Array {
  return new Uint8Array(randomBytes(OPERATOR_SEED_LEN))
}

export function operatorKeyPairOf(seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
  if (seed.length !== OPERATOR_SEED_LEN) throw new RangeError(`operator seed must be ${OPERATOR_SEED_LEN} bytes, got ${seed.length}`)
  const publicKey = new Uint8Array(OPERATOR_PUBLIC_KEY_LEN)
  const secretKey = new Uint8Array(64)
  sodium().crypto_sign_seed_keypair(publicKey, secretKey, seed)
  return { publicKey, secretKey }
}

export function signDetached(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const sig = new Uint8Array(OPERATOR_SIGNATURE_LEN)
  sodium().crypto_sign_detached(sig, message, secretKey)
  return sig
}

export function verifyDetached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== OPERATOR_SIGNATURE_LEN || publicKey.length !== OPERATOR_PUBLIC_KEY_LEN) return false
  return sodium().crypto_sign_verify_detached(signature, message, publicKey)
}
