/**
 * Cookies: proof that an initiator can receive at the address it sends from,
 * asked for only while the responder is under load (handshake-load.ts).
 * The same idea as WireGuard's mac2; docs/security.md explains it.
 *
 *   responder, under load, initiation without a valid mac2:
 *     cookie = HMAC(secret, source)[0..16]          secret: random, replaced every 2 min
 *     reply  = [4][receiver = initiation's sender][nonce 24][seal(cookie)]   64 bytes
 *              sealed under HMAC(H("cookie--" || S_r), initiation's mac1), so it
 *              opens only for whoever sent that very initiation
 *   initiator: keeps the cookie and writes mac2 = HMAC(cookie, bytes 0..127)[0..16]
 *              into its initiations until the cookie is nearly 2 min old
 *
 * A forger spoofing a peer's address never sees the cookie (it goes to that
 * address), so under load its initiations are dropped after two HMACs and
 * cost no Diffie-Hellman. Sans-IO: time and randomness are passed in.
 */
import { timingSafeEqual } from 'node:crypto'
import { MSG_COOKIE_REPLY, NONCE_LEN, OFF_TYPE, OFF_VERSION, WIRE_VERSION } from '../wire/outer.js'
import type { Aead } from './aead.js'
import { HS_OFF_SENDER, INIT_OFF_MAC1, INIT_OFF_MAC2 } from './handshake.js'
import { hash, hmac, mac1 as truncatedMac, MAC1_LEN, MAC2_LEN } from './kdf.js'

// ---- Specification constants (wire layout of the cookie reply, type 4) --------

export const COOKIE_LEN = 16
const TAG = 16
/** The initiation's sender index, which the initiator uses to find its pending handshake. */
export const COOKIE_OFF_RECEIVER = HS_OFF_SENDER // 4
export const COOKIE_OFF_NONCE = 8
export const COOKIE_OFF_SEALED = COOKIE_OFF_NONCE + NONCE_LEN // 32
export const COOKIE_REPLY_LEN = COOKIE_OFF_SEALED + COOKIE_LEN + TAG // 64

// ---- Implementation constants ----------------------------------------------------

/** The responder replaces its cookie secret this often, so a cookie is good for at most 2 minutes. */
export const COOKIE_SECRET_LIFETIME_MS = 120_000
/** The initiator stops using a cookie this much before the lifetime could end, so it is not refused in flight. */
export const COOKIE_LATENCY_MARGIN_MS = 5_000

const LABEL_COOKIE = Buffer.from('cookie--', 'ascii')
const ZERO_MAC = Buffer.alloc(MAC2_LEN)

/** Key that seals cookie replies sent by the holder of `publicKey`. */
export function cookieKey(publicKey: Uint8Array): Buffer {
  return hash(LABEL_COOKIE, publicKey)
}

/** Responder side: issues cookies and checks mac2. One per endpoint. */
export class CookieChecker {
  private secret: Uint8Array | null = null
  private secretCreatedMs = 0
  /** Counts secrets drawn: a cached cookie is good while its epoch is current. */
  private epoch = 0
  /** Cookie per source (each peer's source is one long-lived Buffer), so a flood costs no HMAC for it. */
  private readonly cache = new WeakMap<Uint8Array, { epoch: number; cookie: Buffer }>()
  private readonly sealKey: Buffer

  constructor(
    ownPublicKey: Uint8Array,
    private readonly aead: Aead,
    private readonly random: (n: number) => Uint8Array,
  ) {
    this.sealKey = cookieKey(ownPublicKey)
  }

  /** The cookie `source` gets now; a new secret is drawn when the old one is 2 minutes old. */
  private cookieFor(source: Uint8Array, nowMs: number): Buffer {
    if (this.secret === null || nowMs - this.secretCreatedMs >= COOKIE_SECRET_LIFETIME_MS || nowMs < this.secretCreatedMs) {
      this.secret?.fill(0)
      this.secret = new Uint8Array(this.random(32))
      this.secretCreatedMs = nowMs
      this.epoch++
    }
    const hit = this.cache.get(source)
    if (hit !== undefined && hit.epoch === this.epoch) return hit.cookie
    const cookie = hmac(this.secret, source).subarray(0, COOKIE_LEN)
    this.cache.set(source, { epoch: this.epoch, cookie })
    return cookie
  }

  /** True if the initiation's mac2 was made with the cookie `source` would get now. Length already checked. */
  mac2Valid(msg: Buffer, source: Uint8Array, nowMs: number): boolean {
    const expected = truncatedMac(this.cookieFor(source, nowMs), msg, INIT_OFF_MAC2)
    return timingSafeEqual(expected, msg.subarray(INIT_OFF_MAC2, INIT_OFF_MAC2 + MAC2_LEN))
  }

  /** Writes the cookie reply to initiation `msg` from `source` into a new 64-byte buffer. */
  reply(msg: Buffer, source: Uint8Array, nowMs: number): Buffer {
    const out = Buffer.alloc(COOKIE_REPLY_LEN)
    out[OFF_VERSION] = WIRE_VERSION
    out[OFF_TYPE] = MSG_COOKIE_REPLY
    msg.copy(out, COOKIE_OFF_RECEIVER, HS_OFF_SENDER, HS_OFF_SENDER + 4)
    const nonce = this.random(NONCE_LEN)
    out.set(nonce.subarray(0, NONCE_LEN), COOKIE_OFF_NONCE)
    const key = hmac(this.sealKey, msg.subarray(INIT_OFF_MAC1, INIT_OFF_MAC1 + MAC1_LEN))
    this.aead.seal(out.subarray(COOKIE_OFF_SEALED, COOKIE_REPLY_LEN), this.cookieFor(source, nowMs), out.subarray(COOKIE_OFF_NONCE, COOKIE_OFF_SEALED), key)
    return out
  }
}

/**
 * Initiator side: the cookie inside a reply to our initiation whose mac1 was
 * `sentMac1`, or null if the reply is malformed or not for that initiation.
 * `peerCookieKey` is cookieKey(the responder's public key). No DH.
 */
export function openCookieReply(aead: Aead, peerCookieKey: Buffer, sentMac1: Uint8Array, msg: Buffer, length: number): Buffer | null {
  if (length !== COOKIE_REPLY_LEN || msg.length < COOKIE_REPLY_LEN) return null
  const cookie = Buffer.alloc(COOKIE_LEN)
  const key = hmac(peerCookieKey, sentMac1)
  const ok = aead.open(cookie, msg.subarray(COOKIE_OFF_SEALED, COOKIE_REPLY_LEN), msg.subarray(COOKIE_OFF_NONCE, COOKIE_OFF_SEALED), key)
  return ok ? cookie : null
}

/** Receiver index named by a cookie reply (the initiator's sender index). */
export function cookieReplyReceiver(msg: Buffer): number {
  return msg.readUInt32BE(COOKIE_OFF_RECEIVER)
}

/** Initiator side: writes mac2 into a finished initiation, keyed by `cookie`, or zeros without one. */
export function writeMac2(msg: Buffer, cookie: Uint8Array | null): void {
  const mac = cookie === null ? ZERO_MAC : truncatedMac(cookie, msg, INIT_OFF_MAC2)
  mac.copy(msg, INIT_OFF_MAC2)
}

/** Whether a cookie received at `receivedMs` may still be used at `nowMs`. */
export function cookieFresh(receivedMs: number, nowMs: number): boolean {
  return nowMs >= receivedMs && nowMs - receivedMs < COOKIE_SECRET_LIFETIME_MS - COOKIE_LATENCY_MARGIN_MS
}
