/**
 * The 1-RTT handshake between two relays (Noise IK shape: the initiator
 * already knows the responder's static key). Pure functions over bytes: the
 * endpoint decides when to call them and what to do with the result.
 *
 *   initiation (I -> R, 144 bytes): e, es, s, ss, {timestamp}, mac1, mac2
 *   response   (R -> I,  76 bytes): e, ee, se, {}
 *
 * Every encrypted field is secretbox under a one-use key derived from the
 * chaining key and bound to the transcript hash `h` (see sealField), so any
 * change to an earlier byte makes a later field fail to open.
 * docs/security.md explains each step and what it proves.
 */
import { CryptoDrop } from './types.js'
import { WIRE_VERSION, MSG_HANDSHAKE_INIT, MSG_HANDSHAKE_RESP, OFF_VERSION, OFF_TYPE } from '../wire/outer.js'
import type { Aead } from './aead.js'
import type { Dh } from './dh.js'
import { hash, hmac, kdf, mac1, mac1Key, mac1Valid, MAC1_LEN, MAC2_LEN } from './kdf.js'

// ---- Specification constants (wire layout) ----------------------------------

const KEY = 32
const TAG = 16
const TIMESTAMP_LEN = 8

/** Both messages start [version][type][2 reserved zero][sender index u32 BE]. */
export const HS_OFF_SENDER = 4

export const INIT_OFF_EPHEMERAL = 8
/** Initiator static public key, sealed: 32 + 16 bytes. */
export const INIT_OFF_STATIC = INIT_OFF_EPHEMERAL + KEY // 40
/** Timestamp (u64 BE), sealed: 8 + 16 bytes. */
export const INIT_OFF_TIMESTAMP = INIT_OFF_STATIC + KEY + TAG // 88
export const INIT_OFF_MAC1 = INIT_OFF_TIMESTAMP + TIMESTAMP_LEN + TAG // 112
/** Zero, or a MAC keyed by a cookie the responder gave us (crypto/cookie.ts); covers bytes 0..127. */
export const INIT_OFF_MAC2 = INIT_OFF_MAC1 + MAC1_LEN // 128
export const INIT_LEN = INIT_OFF_MAC2 + MAC2_LEN // 144

export const RESP_OFF_RECEIVER = 8
export const RESP_OFF_EPHEMERAL = 12
/** An empty payload, sealed: just the 16-byte tag (proves the responder derived the keys). */
export const RESP_OFF_EMPTY = RESP_OFF_EPHEMERAL + KEY // 44
export const RESP_OFF_MAC1 = RESP_OFF_EMPTY + TAG // 60
export const RESP_LEN = RESP_OFF_MAC1 + MAC1_LEN // 76

const CONSTRUCTION = Buffer.from('Overpass_IK_25519_XSalsa20Poly1305_SHA256 v1', 'ascii')
const IDENTIFIER = Buffer.from('overpass relay handshake', 'ascii')
const LABEL_MAC1 = Buffer.from('mac1----', 'ascii')
const ZERO_NONCE = new Uint8Array(24)
const EMPTY = new Uint8Array(0)

const CK0 = hash(CONSTRUCTION)
const H0 = hash(CK0, IDENTIFIER)

// ---- Identities (precomputed once per endpoint / peer) -----------------------

export interface HandshakeCrypto {
  aead: Aead
  dh: Dh
}

export interface LocalIdentity {
  privateKey: Uint8Array
  publicKey: Uint8Array
  /** Verifies mac1 on messages sent to us. */
  mac1Key: Buffer
  /** Transcript hash after mixing our public key: the responder's starting h. */
  hAsResponder: Buffer
}

export interface RemoteIdentity {
  publicKey: Uint8Array
  /** Keys mac1 on messages we send to this peer. */
  mac1Key: Buffer
  /** Transcript hash after mixing their public key: our starting h when we initiate. */
  hAsInitiator: Buffer
  /** DH(our static, their static), the same on both sides; computed once. */
  staticShared: Uint8Array | null
}

export function localIdentity(privateKey: Uint8Array, publicKey: Uint8Array): LocalIdentity {
  return { privateKey, publicKey, mac1Key: mac1Key(LABEL_MAC1, publicKey), hAsResponder: hash(H0, publicKey) }
}

export function remoteIdentity(dh: Dh, local: LocalIdentity, publicKey: Uint8Array): RemoteIdentity {
  return {
    publicKey,
    mac1Key: mac1Key(LABEL_MAC1, publicKey),
    hAsInitiator: hash(H0, publicKey),
    staticShared: dh.shared(local.privateKey, publicKey),
  }
}

// ---- Sealed fields -------------------------------------------------------------

/**
 * secretbox has no associated data, so the transcript hash is folded into the
 * key: the field key is HMAC(k, h). Each k is used for exactly one field, so
 * the zero nonce never repeats under a key.
 */
function sealField(aead: Aead, k: Uint8Array, h: Uint8Array, plain: Uint8Array, out: Buffer, off: number): void {
  aead.seal(out.subarray(off, off + plain.length + TAG), plain, ZERO_NONCE, hmac(k, h))
}

function openField(aead: Aead, k: Uint8Array, h: Uint8Array, msg: Buffer, off: number, plainLen: number): Buffer | null {
  const out = Buffer.alloc(plainLen)
  return aead.open(out, msg.subarray(off, off + plainLen + TAG), ZERO_NONCE, hmac(k, h)) ? out : null
}

function writeHeader(msg: Buffer, type: number, senderIndex: number): void {
  msg[OFF_VERSION] = WIRE_VERSION
  msg[OFF_TYPE] = type
  msg.writeUInt32BE(senderIndex >>> 0, HS_OFF_SENDER)
}

// ---- Initiation ------------------------------------------------------------------

/** What the initiator keeps between sending the initiation and getting the response. */
export interface InitiatorState {
  localIndex: number
  ephemeralPrivate: Uint8Array
  ck: Buffer
  h: Buffer
}

export function createInitiation(
  c: HandshakeCrypto,
  local: LocalIdentity,
  remote: RemoteIdentity,
  localIndex: number,
  ephemeralPrivate: Uint8Array,
  timestamp: number,
): { msg: Buffer; state: InitiatorState } | null {
  if (!remote.staticShared) return null
  const msg = Buffer.alloc(INIT_LEN)
  writeHeader(msg, MSG_HANDSHAKE_INIT, localIndex)
  let h = remote.hAsInitiator
  let ck: Buffer = CK0

  const ePub = c.dh.publicFromPrivate(ephemeralPrivate)
  msg.set(ePub, INIT_OFF_EPHEMERAL)
  ;[ck] = kdf(ck, ePub, 1)
  h = hash(h, ePub)

  const es = c.dh.shared(ephemeralPrivate, remote.publicKey)
  if (!es) return null
  let k: Buffer
  ;[ck, k] = kdf(ck, es, 2)
  sealField(c.aead, k, h, local.publicKey, msg, INIT_OFF_STATIC)
  h = hash(h, msg.subarray(INIT_OFF_STATIC, INIT_OFF_TIMESTAMP))

  ;[ck, k] = kdf(ck, remote.staticShared, 2)
  const stamp = Buffer.alloc(TIMESTAMP_LEN)
  writeU64(stamp, 0, timestamp)
  sealField(c.aead, k, h, stamp, msg, INIT_OFF_TIMESTAMP)
  h = hash(h, msg.subarray(INIT_OFF_TIMESTAMP, INIT_OFF_MAC1))

  mac1(remote.mac1Key, msg, INIT_OFF_MAC1).copy(msg, INIT_OFF_MAC1)
  return { msg, state: { localIndex, ephemeralPrivate, ck, h } }
}

/** Cheap first gate: right size and a mac1 made with our public key. No DH yet. */
export function initiationMac1Ok(local: LocalIdentity, msg: Buffer, length: number): boolean {
  return length === INIT_LEN && msg.length >= INIT_LEN && mac1Valid(local.mac1Key, msg, INIT_OFF_MAC1)
}

export interface ConsumedInitiation {
  remote: RemoteIdentity
  senderIndex: number
  timestamp: number
  ephemeralPublic: Uint8Array
  ck: Buffer
  h: Buffer
}

/**
 * Opens an initiation whose mac1 already checked out. `lookup` maps the
 * decrypted static key to a configured peer; unknown keys fail here, before
 * the static-static step, and get no reply.
 */
export function consumeInitiation(
  c: HandshakeCrypto,
  local: LocalIdentity,
  msg: Buffer,
  lookup: (staticKey: Uint8Array) => RemoteIdentity | undefined,
): ConsumedInitiation | CryptoDrop {
  let h = local.hAsResponder
  let ck: Buffer = CK0
  const ePub = msg.subarray(INIT_OFF_EPHEMERAL, INIT_OFF_STATIC)
  ;[ck] = kdf(ck, ePub, 1)
  h = hash(h, ePub)

  const es = c.dh.shared(local.privateKey, ePub)
  if (!es) return CryptoDrop.HandshakeInvalid
  let k: Buffer
  ;[ck, k] = kdf(ck, es, 2)
  const staticKey = openField(c.aead, k, h, msg, INIT_OFF_STATIC, KEY)
  if (!staticKey) return CryptoDrop.HandshakeInvalid
  h = hash(h, msg.subarray(INIT_OFF_STATIC, INIT_OFF_TIMESTAMP))

  const remote = lookup(staticKey)
  if (!remote || !remote.staticShared) return CryptoDrop.HandshakeInvalid
  ;[ck, k] = kdf(ck, remote.staticShared, 2)
  const stamp = openField(c.aead, k, h, msg, INIT_OFF_TIMESTAMP, TIMESTAMP_LEN)
  if (!stamp) return CryptoDrop.HandshakeInvalid
  h = hash(h, msg.subarray(INIT_OFF_TIMESTAMP, INIT_OFF_MAC1))

  return {
    remote,
    senderIndex: msg.readUInt32BE(HS_OFF_SENDER),
    timestamp: readU64(stamp, 0),
    ephemeralPublic: Buffer.from(ePub),
    ck,
    h,
  }
}

// ---- Response ----------------------------------------------------------------------

export interface TransportKeys {
  /** Key for packets this side sends. */
  sendKey: Buffer
  /** Key for packets this side receives. */
  receiveKey: Buffer
}

export function createResponse(
  c: HandshakeCrypto,
  init: ConsumedInitiation,
  localIndex: number,
  ephemeralPrivate: Uint8Array,
): { msg: Buffer; keys: TransportKeys } | null {
  const msg = Buffer.alloc(RESP_LEN)
  writeHeader(msg, MSG_HANDSHAKE_RESP, localIndex)
  msg.writeUInt32BE(init.senderIndex >>> 0, RESP_OFF_RECEIVER)
  let { ck, h } = init

  const ePub = c.dh.publicFromPrivate(ephemeralPrivate)
  msg.set(ePub, RESP_OFF_EPHEMERAL)
  ;[ck] = kdf(ck, ePub, 1)
  h = hash(h, ePub)

  const ee = c.dh.shared(ephemeralPrivate, init.ephemeralPublic)
  const se = c.dh.shared(ephemeralPrivate, init.remote.publicKey)
  if (!ee || !se) return null
  ;[ck] = kdf(ck, ee, 1)
  let k: Buffer
  ;[ck, k] = kdf(ck, se, 2)
  sealField(c.aead, k, h, EMPTY, msg, RESP_OFF_EMPTY)

  mac1(init.remote.mac1Key, msg, RESP_OFF_MAC1).copy(msg, RESP_OFF_MAC1)
  const [initiatorToResponder, responderToInitiator] = kdf(ck, EMPTY, 2)
  return { msg, keys: { sendKey: Buffer.from(responderToInitiator), receiveKey: Buffer.from(initiatorToResponder) } }
}

export function responseMac1Ok(local: LocalIdentity, msg: Buffer, length: number): boolean {
  return length === RESP_LEN && msg.length >= RESP_LEN && mac1Valid(local.mac1Key, msg, RESP_OFF_MAC1)
}

/** The initiator's sender index that a response names (already mac1-checked). */
export function responseReceiverIndex(msg: Buffer): number {
  return msg.readUInt32BE(RESP_OFF_RECEIVER)
}

export function consumeResponse(
  c: HandshakeCrypto,
  local: LocalIdentity,
  remote: RemoteIdentity,
  state: InitiatorState,
  msg: Buffer,
): { keys: TransportKeys; remoteIndex: number } | null {
  let { ck, h } = state
  const ePub = msg.subarray(RESP_OFF_EPHEMERAL, RESP_OFF_EMPTY)
  ;[ck] = kdf(ck, ePub, 1)
  h = hash(h, ePub)

  const ee = c.dh.shared(state.ephemeralPrivate, ePub)
  const se = c.dh.shared(local.privateKey, ePub)
  if (!ee || !se) return null
  ;[ck] = kdf(ck, ee, 1)
  let k: Buffer
  ;[ck, k] = kdf(ck, se, 2)
  if (!openField(c.aead, k, h, msg, RESP_OFF_EMPTY, 0)) return null

  const [initiatorToResponder, responderToInitiator] = kdf(ck, EMPTY, 2)
  return {
    keys: { sendKey: Buffer.from(initiatorToResponder), receiveKey: Buffer.from(responderToInitiator) },
    remoteIndex: msg.readUInt32BE(HS_OFF_SENDER),
  }
}

// ---- u64 helpers (timestamps stay below 2^53) ----------------------------------

export function writeU64(buf: Buffer, off: number, value: number): void {
  buf.writeUInt32BE(Math.floor(value / 0x100000000), off)
  buf.writeUInt32BE(value >>> 0, off + 4)
}

export function readU64(buf: Buffer, off: number): number {
  return buf.readUInt32BE(off) * 0x100000000 + buf.readUInt32BE(off + 4)
}
