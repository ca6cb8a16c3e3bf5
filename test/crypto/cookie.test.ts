import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { selectAead } from '../../src/crypto/aead.js'
import {
  COOKIE_LATENCY_MARGIN_MS,
  COOKIE_REPLY_LEN,
  COOKIE_SECRET_LIFETIME_MS,
  CookieChecker,
  cookieFresh,
  cookieKey,
  openCookieReply,
  writeMac2,
} from '../../src/crypto/cookie.js'
import { INIT_OFF_MAC1, INIT_OFF_MAC2 } from '../../src/crypto/handshake.js'
import { UNDER_LOAD_INITIATIONS_PER_SECOND } from '../../src/crypto/handshake-load.js'
import { CryptoDrop, INIT_LEN } from '../../src/crypto/index.js'
import { hash, mac1 } from '../../src/crypto/kdf.js'
import { MSG_COOKIE_REPLY, MSG_HANDSHAKE_INIT, OFF_TYPE } from '../../src/wire/outer.js'
import { Net, payload, seededBytes, type Datagram } from './harness.js'

const aead = selectAead('auto')
const SRC_A = Buffer.from('192.0.2.1:7200')
const SRC_B = Buffer.from('192.0.2.2:7200')

function initiationBytes(seed: number): Buffer {
  const msg = Buffer.from(seededBytes(seed)(INIT_LEN))
  msg[0] = 1
  msg[OFF_TYPE] = MSG_HANDSHAKE_INIT
  msg[2] = msg[3] = 0
  return msg
}

/** What the initiator does with the cookie from `reply`. */
function cookieFrom(reply: Buffer, responderPublic: Uint8Array, init: Buffer): Buffer | null {
  return openCookieReply(aead, cookieKey(responderPublic), init.subarray(INIT_OFF_MAC1, INIT_OFF_MAC2), reply, reply.length)
}

const isType = (d: Datagram, type: number): boolean => d.data[OFF_TYPE] === type

/** Node 1 under load (forged initiations), node 0 initiating: returns node 1's cookie reply to node 0, held back. */
function cookieReplyUnderLoad(): { net: Net; reply: Datagram } {
  const net = new Net(2)
  const rand = seededBytes(3)
  const key = hash(Buffer.from('mac1----', 'ascii'), net.keys[1].publicKey)
  for (let i = 0; i <= UNDER_LOAD_INITIATIONS_PER_SECOND; i++) {
    const forged = Buffer.from(rand(INIT_LEN))
    forged[0] = 1
    forged[OFF_TYPE] = MSG_HANDSHAKE_INIT
    forged[2] = forged[3] = 0
    mac1(key, forged, INIT_OFF_MAC1).copy(forged, INIT_OFF_MAC1)
    net.deliver({ from: 0, to: 1, data: forged })
  }
  net.filter = (d) => (isType(d, MSG_COOKIE_REPLY) && d.to === 0 ? null : d)
  net.send(0, 1, payload('x'))
  net.run(20, 1)
  // The forgeries' cookie replies went to node 0 before the filter was set; the last one answers its real initiation.
  const reply = net.wire.filter((d) => isType(d, MSG_COOKIE_REPLY) && d.to === 0).at(-1)
  expect(reply).toBeDefined()
  return { net, reply: reply as Datagram }
}

describe('cookies (mac2)', () => {
  it('a cookie reply is smaller than the initiation it answers', () => {
    const c = new CookieChecker(seededBytes(1)(32), aead, seededBytes(2))
    const reply = c.reply(initiationBytes(1), SRC_A, 0)
    expect(reply.length).toBe(COOKIE_REPLY_LEN)
    expect(COOKIE_REPLY_LEN).toBeLessThan(INIT_LEN)
  })

  it('binds the cookie to the source address: mac2 made for one address fails from another', () => {
    const pub = seededBytes(1)(32)
    const c = new CookieChecker(pub, aead, seededBytes(2))
    const init = initiationBytes(2)
    const cookie = cookieFrom(c.reply(init, SRC_A, 0), pub, init)
    expect(cookie).not.toBeNull()
    writeMac2(init, cookie)
    expect(c.mac2Valid(init, SRC_A, 10)).toBe(true)
    expect(c.mac2Valid(init, SRC_B, 10)).toBe(false)
    writeMac2(init, null)
    expect(c.mac2Valid(init, SRC_A, 10)).toBe(false)
  })

  it('rotates the cookie secret every 2 minutes, and the initiator stops using a cookie before then', () => {
    const pub = seededBytes(1)(32)
    const c = new CookieChecker(pub, aead, seededBytes(2))
    const init = initiationBytes(3)
    writeMac2(init, cookieFrom(c.reply(init, SRC_A, 1_000), pub, init))
    expect(c.mac2Valid(init, SRC_A, 1_000 + COOKIE_SECRET_LIFETIME_MS - 1)).toBe(true)
    expect(c.mac2Valid(init, SRC_A, 1_000 + COOKIE_SECRET_LIFETIME_MS)).toBe(false)
    expect(cookieFresh(0, COOKIE_SECRET_LIFETIME_MS - COOKIE_LATENCY_MARGIN_MS - 1)).toBe(true)
    expect(cookieFresh(0, COOKIE_SECRET_LIFETIME_MS - COOKIE_LATENCY_MARGIN_MS)).toBe(false)
  })

  it('a cookie reply opens only for the initiation it answers and with the responder’s key', () => {
    const pub = seededBytes(1)(32)
    const c = new CookieChecker(pub, aead, seededBytes(2))
    const init = initiationBytes(4)
    const reply = c.reply(init, SRC_A, 0)
    expect(cookieFrom(reply, pub, init)).not.toBeNull()
    expect(cookieFrom(reply, seededBytes(9)(32), init)).toBeNull()
    const other = initiationBytes(5)
    expect(cookieFrom(reply, pub, other)).toBeNull()
  })

  it('under load the initiator gets a cookie, retries at once with mac2, and completes', () => {
    const { net, reply } = cookieReplyUnderLoad()
    expect(reply.data.length).toBe(COOKIE_REPLY_LEN)
    net.filter = (d) => d
    net.deliver(reply)
    net.run(50, 1)
    expect(net.nodes[0].hasSession(1)).toBe(true)
    const inits = net.wire.filter((d) => d.from === 0 && isType(d, MSG_HANDSHAKE_INIT))
    expect(inits.length).toBe(2)
    expect(inits[0].data.subarray(INIT_OFF_MAC2).equals(Buffer.alloc(16))).toBe(true)
    expect(inits[1].data.subarray(INIT_OFF_MAC2).equals(Buffer.alloc(16))).toBe(false)
  })

  it('fuzz: random and bit-flipped cookie replies are dropped, never throw, never answer, never disturb the handshake', () => {
    const { net, reply } = cookieReplyUnderLoad()
    const sent = net.wire.length
    const receiver = reply.data.readUInt32BE(4)
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ minLength: 0, maxLength: 200 }),
          // Right type, length and receiver index, random rest: reaches the AEAD.
          fc.uint8Array({ minLength: COOKIE_REPLY_LEN, maxLength: COOKIE_REPLY_LEN }).map((b) => {
            const m = Buffer.from(b)
            m[0] = 1
            m[1] = MSG_COOKIE_REPLY
            m[2] = m[3] = 0
            m.writeUInt32BE(receiver, 4)
            return m
          }),
          // The genuine reply with one bit flipped anywhere.
          fc.integer({ min: 0, max: COOKIE_REPLY_LEN * 8 - 1 }).map((bit) => {
            const m = Buffer.from(reply.data)
            m[bit >> 3] ^= 1 << (bit & 7)
            return m
          }),
        ),
        (bytes) => {
          const data = Buffer.from(bytes)
          const r = net.nodes[0].receive(1, net.clock.nowMs(), data, data.length)
          expect(r).toBeLessThan(0)
          expect(r).not.toBe(CryptoDrop.HandshakeConsumed)
          expect(net.wire.length).toBe(sent)
        },
      ),
      { numRuns: 2_000, seed: 14 },
    )
    expect(net.nodes[0].stats().total.drops.cookie_invalid).toBeGreaterThan(0)
    // The genuine reply still works afterwards.
    net.filter = (d) => d
    net.deliver(reply)
    net.run(50, 1)
    expect(net.nodes[0].hasSession(1)).toBe(true)
  })

  it('fuzz: no datagram of any type from a peer makes the responder throw or answer with more bytes than it got', () => {
    const net = new Net(2)
    const key = hash(Buffer.from('mac1----', 'ascii'), net.keys[1].publicKey)
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), (bytes, type, withMac1) => {
        const data = Buffer.from(bytes)
        if (data.length >= 4) {
          data[0] = 1
          data[1] = type
          data[2] = data[3] = 0
        }
        if (withMac1 && data.length === INIT_LEN) mac1(key, data, INIT_OFF_MAC1).copy(data, INIT_OFF_MAC1)
        const before = net.wire.length
        const r = net.nodes[1].receive(0, net.clock.nowMs(), data, data.length)
        expect(r).toBeLessThan(0)
        for (const d of net.wire.slice(before)) expect(d.data.length).toBeLessThanOrEqual(data.length)
        net.clock.advance(1)
      }),
      { numRuns: 3_000, seed: 41 },
    )
  })
})
