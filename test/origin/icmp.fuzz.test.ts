/** Property tests of the ICMP echo codec (origin/icmp.ts) that parses what an exit's raw ICMP socket reads. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fixEchoChecksum } from '../../bench/fuzz/messages.js'
import { buildEchoRequest, ICMP_ECHO_REQUEST, parseEcho, parseEcho6Reply } from '../../src/origin/icmp.js'
import { bytes, mutate, mutations, RUNS } from '../bench/mutations.js'

const echo = fc.record({ id: fc.nat(0xffff), seq: fc.nat(0xffff), payload: bytes(64) }).map(({ id, seq, payload }) => {
  const b = Buffer.alloc(8 + payload.length)
  buildEchoRequest(b, id, seq, payload)
  return { b, id, seq }
})

describe('ICMP echo parser under fuzzing', () => {
  it('never throws on any bytes and keeps the payload inside them', () => {
    fc.assert(
      fc.property(bytes(200), (b) => {
        const m = parseEcho(b)
        if (m) expect(m.payloadOffset + m.payloadLength).toBeLessThanOrEqual(b.length)
      }),
      { numRuns: RUNS },
    )
  })

  it('never throws on any bytes as an ICMPv6 reply either, and keeps the payload inside them', () => {
    fc.assert(
      fc.property(bytes(200), (b) => {
        const m = parseEcho6Reply(b)
        if (m) expect(m.payloadOffset + m.payloadLength).toBeLessThanOrEqual(b.length)
      }),
      { numRuns: RUNS },
    )
  })

  it('round-trips echo requests (parse of build)', () => {
    fc.assert(
      fc.property(echo, ({ b, id, seq }) => {
        expect(parseEcho(b)).toMatchObject({ type: ICMP_ECHO_REQUEST, code: 0, id, seq, payloadOffset: 8, payloadLength: b.length - 8 })
      }),
      { numRuns: RUNS },
    )
  })

  it('the checksum refuses every single-bit flip', () => {
    fc.assert(
      fc.property(echo, fc.nat(), fc.nat(7), ({ b }, at, bit) => {
        const m = Buffer.from(b)
        m[at % m.length] ^= 1 << bit
        // An IPv4-looking first byte makes the parser skip a header: the flip then lands outside the ICMP message.
        fc.pre(m[0] >> 4 !== 4)
        expect(parseEcho(m)).toBeUndefined()
      }),
      { numRuns: RUNS },
    )
  })

  it('a mutated echo with a recomputed checksum is refused or parsed within its bytes', () => {
    fc.assert(
      fc.property(echo, mutations, ({ b }, ops) => {
        const m = mutate(b, ops)
        fixEchoChecksum(m)
        const e = parseEcho(m)
        if (e) expect(e.payloadOffset + e.payloadLength).toBe(m.length)
      }),
      { numRuns: RUNS },
    )
  })
})
