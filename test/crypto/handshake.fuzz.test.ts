/**
 * Property tests of the handshake messages (crypto/handshake.ts): the
 * initiation and the response as pure functions, and both through an
 * endpoint's receive path. Mutations keep mac1 valid (it is recomputed) on
 * half the cases, so they reach the X25519 and AEAD steps behind it.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { selectAead } from '../../src/crypto/aead.js'
import { sodiumDh, tweetnaclDh } from '../../src/crypto/dh.js'
import {
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
  HS_OFF_SENDER,
  INIT_LEN,
  INIT_OFF_MAC1,
  initiationMac1Ok,
  localIdentity,
  remoteIdentity,
  RESP_LEN,
  RESP_OFF_EPHEMERAL,
  RESP_OFF_MAC1,
  responseMac1Ok,
  type ConsumedInitiation,
} from '../../src/crypto/handshake.js'
import { mac1 } from '../../src/crypto/kdf.js'
import { CRYPTO_DROP_NAMES, CryptoDrop } from '../../src/crypto/index.js'
import { generateKeyPair } from '../../src/crypto/keys.js'
import { MSG_HANDSHAKE_INIT, MSG_HANDSHAKE_RESP, WIRE_VERSION } from '../../src/wire/outer.js'
import { bytes, mutate, mutations, SLOW_RUNS } from '../bench/mutations.js'
import { sessionPair } from './endpoint-pair.js'

const c = { aead: selectAead('auto'), dh: sodiumDh() ?? tweetnaclDh }
const ik = generateKeyPair()
const rk = generateKeyPair()
const initiator = localIdentity(ik.privateKey, ik.publicKey)
const responder = localIdentity(rk.privateKey, rk.publicKey)
const toResponder = remoteIdentity(c.dh, initiator, rk.publicKey)
const toInitiator = remoteIdentity(c.dh, responder, ik.publicKey)
const lookup = (key: Uint8Array) => (Buffer.from(key).equals(Buffer.from(ik.publicKey)) ? toInitiator : undefined)

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
const fields = fc.record({ index: fc.nat(0xffffffff), ephemeral: key32, timestamp: fc.nat(2 ** 52) })

function initiation(f: { index: number; ephemeral: Uint8Array; timestamp: number }) {
  const made = createInitiation(c, initiator, toResponder, f.index, f.ephemeral, f.timestamp)
  if (made === null) throw new Error('createInitiation refused a random ephemeral key')
  return made
}

/** A mutated copy of `msg` whose mac1 (for `key`) is recomputed when `fixMac` and the length allows. */
function mutated(msg: Buffer, ops: Parameters<typeof mutate>[1], fixMac: boolean, macOff: number, key: Buffer): Buffer {
  const m = mutate(msg, ops)
  if (fixMac && m.length >= macOff + 16) mac1(key, m, macOff).copy(m, macOff)
  return m
}

describe('handshake initiation under fuzzing', () => {
  it('round-trips: the responder recovers the sender index, timestamp, ephemeral key and peer', () => {
    fc.assert(
      fc.property(fields, (f) => {
        const { msg } = initiation(f)
        expect(initiationMac1Ok(responder, msg, msg.length)).toBe(true)
        const got = consumeInitiation(c, responder, msg, lookup) as ConsumedInitiation
        expect(got.remote).toBe(toInitiator)
        expect(got.senderIndex).toBe(f.index)
        expect(got.timestamp).toBe(f.timestamp)
        expect(Buffer.from(got.ephemeralPublic).equals(Buffer.from(c.dh.publicFromPrivate(f.ephemeral)))).toBe(true)
      }),
      { numRuns: SLOW_RUNS },
    )
  })

  it('a mutated initiation is refused, or differs from the original only in the unauthenticated sender index', () => {
    fc.assert(
      fc.property(fields, mutations, fc.boolean(), (f, ops, fixMac) => {
        const { msg } = initiation(f)
        const m = mutated(msg, ops, fixMac, INIT_OFF_MAC1, toResponder.mac1Key)
        if (!initiationMac1Ok(responder, m, m.length)) return
        const got = consumeInitiation(c, responder, m.subarray(0, INIT_LEN), lookup)
        if (typeof got === 'number') {
          expect(got).toBe(CryptoDrop.HandshakeInvalid)
          return
        }
        // Authenticated: everything but bytes 0..7 (version, type, reserved, sender index), which mac1 alone covers.
        expect(m.subarray(8, INIT_OFF_MAC1).equals(msg.subarray(8, INIT_OFF_MAC1))).toBe(true)
        expect(got.timestamp).toBe(f.timestamp)
        expect(got.senderIndex).toBe(m.readUInt32BE(HS_OFF_SENDER))
      }),
      { numRuns: SLOW_RUNS },
    )
  })
})

describe('handshake response under fuzzing', () => {
  it('round-trips: both sides derive the same transport keys', () => {
    fc.assert(
      fc.property(fields, key32, fc.nat(0xffffffff), (f, eph, index) => {
        const { msg, state } = initiation(f)
        const init = consumeInitiation(c, responder, msg, lookup) as ConsumedInitiation
        const resp = createResponse(c, init, index, eph)!
        expect(responseMac1Ok(initiator, resp.msg, resp.msg.length)).toBe(true)
        const done = consumeResponse(c, initiator, toResponder, state, resp.msg)!
        expect(done.remoteIndex).toBe(index)
        expect(done.keys.sendKey.equals(resp.keys.receiveKey)).toBe(true)
        expect(done.keys.receiveKey.equals(resp.keys.sendKey)).toBe(true)
      }),
      { numRuns: SLOW_RUNS },
    )
  })

  it('a mutated response is refused, or yields the same keys (only the two indexes are unauthenticated)', () => {
    fc.assert(
      fc.property(fields, key32, mutations, fc.boolean(), (f, eph, ops, fixMac) => {
        const { msg, state } = initiation(f)
        const init = consumeInitiation(c, responder, msg, lookup) as ConsumedInitiation
        const resp = createResponse(c, init, 7, eph)!
        const m = mutated(resp.msg, ops, fixMac, RESP_OFF_MAC1, toInitiator.mac1Key)
        if (!responseMac1Ok(initiator, m, m.length)) return
        const done = consumeResponse(c, initiator, toResponder, state, m.subarray(0, RESP_LEN))
        if (done === null) return
        // Bytes 4..11 (sender and receiver index) are covered by mac1 only, as in WireGuard; the endpoint looks the receiver up.
        expect(m.subarray(RESP_OFF_EPHEMERAL, RESP_OFF_MAC1).equals(resp.msg.subarray(RESP_OFF_EPHEMERAL, RESP_OFF_MAC1))).toBe(true)
        expect(done.keys.sendKey.equals(resp.keys.receiveKey)).toBe(true)
      }),
      { numRuns: SLOW_RUNS },
    )
  })
})

describe('handshake messages at an endpoint under fuzzing', () => {
  const KNOWN = new Set([...Object.keys(CRYPTO_DROP_NAMES).map(Number), CryptoDrop.HandshakeConsumed])
  const handshakeLike = fc
    .tuple(fc.constantFrom(MSG_HANDSHAKE_INIT, MSG_HANDSHAKE_RESP), bytes(160), fc.constantFrom(INIT_LEN, RESP_LEN, 0))
    .map(([type, rest, len]) => {
      const b = Buffer.concat([Buffer.from([WIRE_VERSION, type, 0, 0]), rest, Buffer.alloc(Math.max(0, len - 4 - rest.length))])
      return len > 0 ? b.subarray(0, len) : b
    })

  it('never throws, answers at most once per message, and never with more bytes than it got', () => {
    const pair = sessionPair()
    let now = 1_000
    fc.assert(
      fc.property(handshakeLike, fc.boolean(), (d, fixMac) => {
        now += 60 // past the per-peer initiation limit
        const key = d[1] === MSG_HANDSHAKE_INIT ? localIdentity(pair.keys.b.privateKey, pair.keys.b.publicKey).mac1Key : undefined
        if (fixMac && key && d.length === INIT_LEN) mac1(key, d, INIT_OFF_MAC1).copy(d, INIT_OFF_MAC1)
        pair.take('b')
        const r = pair.b.receive(0, now, d, d.length)
        expect(KNOWN.has(r)).toBe(true)
        const replies = pair.take('b')
        expect(replies.length).toBeLessThanOrEqual(1)
        for (const reply of replies) expect(reply.length).toBeLessThanOrEqual(d.length)
      }),
      { numRuns: SLOW_RUNS },
    )
  })
})
