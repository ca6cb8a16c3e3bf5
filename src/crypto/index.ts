/**
 * crypto/ owns relay-to-relay confidentiality and authentication: X25519 key
 * handling, the 1-RTT handshake (Noise IK shape), XSalsa20-Poly1305 transport
 * sealing with a replay window, and the per-peer session state machine
 * (rekey, expiry, pre-session queue), and the Ed25519 signatures of map
 * columns (column-signing.ts). Sans-IO: callers pass `nowMs` and a
 * `transmit` sink. docs/security.md explains the protocol. A multi-worker
 * relay's extra workers use LaneEndpoint, fed keys by worker 0's endpoint.
 *
 *   const ep = createSecureEndpoint({ privateKey, peers: [{ index: 0, publicKey }], transmit })
 *   ep.send(0, clock.nowMs(), payload, payload.length)   // seals or queues + handshakes
 *   const n = ep.receive(0, clock.nowMs(), datagram, datagram.length)
 *   if (n >= 0) deliver(ep.plaintext(), n)               // else a CryptoDrop code
 */
import { CryptoEndpoint } from './secure-endpoint.js'
export { LaneEndpoint, type LaneEndpointOptions } from './lane-endpoint.js'
import type { CryptoStats, SecureEndpoint, SecureEndpointOptions } from './types.js'

export * from './types.js'
export { KeyFormatError, EndpointConfigError } from './errors.js'
export { generateKeyPair, publicKeyFromPrivate, encodeKey, decodeKey, KEY_LEN, type KeyPair } from './keys.js'
export { Ed25519ColumnAuth, signingKeyPairOf, signPublicKeyOf, SIGN_SEED_INFO, SIGNATURE_LEN, type SigningKeyPair } from './column-signing.js'
export { selectAead, BackendUnavailableError, type Aead, type AeadName } from './aead.js'
export { ReplayWindow, WINDOW_SIZE } from './replay.js'
export { sodiumDh, tweetnaclDh, type Dh } from './dh.js'
export { INIT_LEN, RESP_LEN } from './handshake.js'
export {
  DEFAULT_REKEY_AFTER_MS,
  DEFAULT_REKEY_AFTER_PACKETS,
  DEFAULT_REJECT_AFTER_MS,
  DEFAULT_REJECT_AFTER_PACKETS,
  DEFAULT_QUEUE_LIMIT,
} from './secure-endpoint.js'

/** A SecureEndpoint whose `stats` is always present. */
export type CryptoSecureEndpoint = SecureEndpoint & {
  stats(): CryptoStats
  /** Another worker saw the peer use our unconfirmed keypair `localIndex` (LaneEndpoint onConfirm). */
  confirm(peer: number, localIndex: number, nowMs: number): void
}

/** Throws EndpointConfigError / BackendUnavailableError on bad options (control path). */
export function createSecureEndpoint(opts: SecureEndpointOptions): CryptoSecureEndpoint {
  return new CryptoEndpoint(opts)
}
