/**
 * Property tests of TWAMP-Light (origin/twamp-codec.ts, twamp-reflector.ts,
 * twamp-sender.ts): the codecs on any bytes and round trips, the reflector's
 * "no reply larger than the request" rule, and the sender on forged replies.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeReflectorPacket,
  decodeSenderPacket,
  encodeReflectorPacket,
  encodeSenderPacket,
  R_HEADER_BYTES,
  S_HEADER_BYTES,
  type ReflectorPacket,
} from '../../src/origin/twamp-codec.js'
import { MAX_TEST_PACKET_BYTES, TwampReflectorCore } from '../../src/origin/twamp-reflector.js'
import { TwampSender } from '../../src/origin/twamp-sender.js'
import { bytes, mutate, mutations, RUNS } from '../bench/mutations.js'

// NTP timestamps hold 2^32 s with 2^-32 s steps: whole microseconds in the NTP era round-trip within a microsecond.
const ntpMs = fc.integer({ min: 0, max: 4e12 })
const reflected: fc.Arbitrary<Omit<ReflectorPacket, 'length'>> = fc.record({
  seq: fc.nat(0xffffffff), timestampMs: ntpMs, errorEstimate: fc.nat(0xffff), rxTimestampMs: ntpMs,
  senderSeq: fc.nat(0xffffffff), senderTimestampMs: ntpMs, senderErrorEstimate: fc.nat(0xffff), senderTtl: fc.nat(255),
})

describe('TWAMP codecs under fuzzing', () => {
  it('never throw on any bytes and any length', () => {
    fc.assert(
      fc.property(bytes(100), fc.integer({ min: -1, max: 120 }), (b, len) => {
        const s = decodeSenderPacket(b, len)
        const r = decodeReflectorPacket(b, len)
        if (s) expect(s.length).toBeLessThanOrEqual(b.length)
        if (r) expect(r.length).toBeLessThanOrEqual(b.length)
      }),
      { numRuns: RUNS },
    )
  })

  it('round-trip reflector packets (decode of encode, timestamps within a microsecond)', () => {
    fc.assert(
      fc.property(reflected, fc.integer({ min: R_HEADER_BYTES, max: 200 }), (p, len) => {
        const buf = Buffer.alloc(200)
        const n = encodeReflectorPacket(buf, p, len)
        const d = decodeReflectorPacket(buf, n)!
        expect({ ...d, timestampMs: 0, rxTimestampMs: 0, senderTimestampMs: 0 }).toEqual({ ...p, length: len, timestampMs: 0, rxTimestampMs: 0, senderTimestampMs: 0 })
        expect(Math.abs(d.timestampMs - p.timestampMs)).toBeLessThan(0.001)
        expect(Math.abs(d.senderTimestampMs - p.senderTimestampMs)).toBeLessThan(0.001)
      }),
      { numRuns: RUNS },
    )
  })
})

describe('TWAMP reflector under fuzzing', () => {
  it('answers with exactly the request size or not at all, and counts every drop', () => {
    const core = new TwampReflectorCore()
    const out = Buffer.alloc(MAX_TEST_PACKET_BYTES)
    let inputs = 0
    fc.assert(
      fc.property(fc.oneof(bytes(1600), fc.tuple(fc.integer({ min: S_HEADER_BYTES, max: 200 }), mutations).map(([len, ops]) => {
        const b = Buffer.alloc(len)
        encodeSenderPacket(b, { seq: 1, timestampMs: 1e12, errorEstimate: 0x0001 }, len)
        return mutate(b, ops)
      })), (req) => {
        inputs++
        const n = core.reflect(req, req.length, 1e12, 1e12, 64, out)
        expect(n === 0 || n === req.length).toBe(true)
      }),
      { numRuns: RUNS },
    )
    expect(Object.values(core.counters).reduce((a, b) => a + b, 0)).toBe(inputs)
  })
})

describe('TWAMP sender under fuzzing', () => {
  it('takes forged and mutated replies without throwing, and only ever yields finite samples', () => {
    const sender = new TwampSender({ service: 'game', intervalMs: 10, random: () => 0.5 })
    const core = new TwampReflectorCore()
    const out = Buffer.alloc(MAX_TEST_PACKET_BYTES)
    let now = 1_000
    fc.assert(
      fc.property(mutations, fc.boolean(), (ops, mutateIt) => {
        now += 20
        const { packet } = sender.tick(now)
        if (!packet) return
        const n = core.reflect(packet, packet.length, now + 5, now + 5, 64, out)
        const reply = mutateIt ? mutate(out.subarray(0, n), ops) : Buffer.from(out.subarray(0, n))
        const s = sender.onReply(now + 1, reply)
        if (s === undefined) return
        for (const v of [s.forwardPseudoMs, s.reversePseudoMs, s.rttMs]) expect(Number.isFinite(v)).toBe(true)
      }),
      { numRuns: RUNS },
    )
  })
})
