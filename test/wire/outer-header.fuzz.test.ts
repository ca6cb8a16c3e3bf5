/**
 * Property tests of the outer header and transport opening (wire/outer.ts,
 * crypto/transport.ts) as the endpoint's receive path sees them: any bytes,
 * sealed packets, and mutations of sealed packets.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CRYPTO_DROP_NAMES, CryptoDrop } from '../../src/crypto/types.js'
import { outerHeaderDrop } from '../../src/crypto/transport.js'
import { MSG_HANDSHAKE_INIT, MSG_HANDSHAKE_RESP, MSG_TRANSPORT, WIRE_VERSION } from '../../src/wire/outer.js'
import { bytes, mutate, mutations, RUNS } from '../bench/mutations.js'
import { sessionPair } from '../crypto/endpoint-pair.js'

const KNOWN = new Set([...Object.keys(CRYPTO_DROP_NAMES).map(Number), CryptoDrop.HandshakeConsumed])

/** Datagrams that start like an overlay message, so they get past the version byte. */
const headerLike = fc
  .tuple(fc.constantFrom(MSG_HANDSHAKE_INIT, MSG_HANDSHAKE_RESP, MSG_TRANSPORT, 0, 4, 255), bytes(200), fc.boolean())
  .map(([type, rest, zeroReserved]) => {
    const b = Buffer.concat([Buffer.from([WIRE_VERSION, type, 0, 0]), rest])
    if (!zeroReserved && b.length > 2) b[2] = 1
    return b
  })

describe('outer header and transport under fuzzing', () => {
  it('outerHeaderDrop never throws and returns 0 or a named drop, for any bytes and length', () => {
    fc.assert(
      fc.property(bytes(64), fc.integer({ min: -2, max: 80 }), (b, length) => {
        const r = outerHeaderDrop(b, length)
        expect(r === 0 || KNOWN.has(r)).toBe(true)
      }),
      { numRuns: RUNS },
    )
  })

  it('an endpoint drops any datagram it cannot authenticate with a named reason, and never throws', () => {
    const { b } = sessionPair()
    fc.assert(
      fc.property(fc.oneof(bytes(), headerLike), (d) => {
        const r = b.receive(0, 1_000, d, d.length)
        expect(KNOWN.has(r)).toBe(true)
      }),
      { numRuns: RUNS },
    )
  })

  it('round-trips sealed packets (open of seal is the identity)', () => {
    const pair = sessionPair()
    fc.assert(
      fc.property(bytes(500), (plain) => {
        pair.a.send(0, 1_000, plain, plain.length)
        const [d] = pair.take('a')
        expect(pair.b.receive(0, 1_000, d, d.length)).toBe(plain.length)
        expect(pair.b.plaintext().subarray(0, plain.length).equals(plain)).toBe(true)
      }),
      { numRuns: RUNS },
    )
  })

  it('rejects every mutation of a sealed packet: header, tag and ciphertext are all authenticated', () => {
    const pair = sessionPair()
    fc.assert(
      fc.property(bytes(100), mutations, (plain, ops) => {
        pair.a.send(0, 1_000, plain, plain.length)
        const [d] = pair.take('a')
        const m = mutate(d, ops)
        fc.pre(!m.equals(d))
        const r = pair.b.receive(0, 1_000, m, m.length)
        expect(r).toBeLessThan(0)
        expect(KNOWN.has(r)).toBe(true)
      }),
      { numRuns: RUNS },
    )
  })
})
