/** Property tests of the probe codec (probe/probe-codec.ts): any bytes, valid probes and mutations of them. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeProbe, emptyProbeFields, encodeProbe, PROBE_LEN, ProbeDrop, type ProbeFields } from '../../src/probe/probe-codec.js'
import { bytes, mutate, mutations, RUNS } from '../bench/mutations.js'

const u32 = fc.nat(0xffffffff)
const finite = fc.double({ noNaN: true, noDefaultInfinity: true })
const probe: fc.Arbitrary<ProbeFields> = fc
  .record({ senderId: u32, bootId: u32, seq: u32, txMs: finite, hasEcho: fc.boolean(), fast: fc.boolean(), echoSeq: u32, echoBootId: u32, echoTxMs: finite, echoRxMs: finite })
  .map((f) => (f.hasEcho ? f : { ...f, echoSeq: 0, echoBootId: 0, echoTxMs: 0, echoRxMs: 0 }))

function encoded(f: ProbeFields): Buffer {
  const b = Buffer.alloc(PROBE_LEN)
  encodeProbe(b, f)
  return b
}

const DROPS = [ProbeDrop.Ok, ProbeDrop.Length, ProbeDrop.Version, ProbeDrop.NonFinite, ProbeDrop.Reserved]

describe('probe codec under fuzzing', () => {
  it('never throws on any bytes and returns a known verdict', () => {
    fc.assert(
      fc.property(bytes(100), (b) => {
        expect(DROPS).toContain(decodeProbe(b, emptyProbeFields()))
      }),
      { numRuns: RUNS },
    )
  })

  it('round-trips every valid probe (decode of encode is the identity)', () => {
    fc.assert(
      fc.property(probe, (f) => {
        const out = emptyProbeFields()
        expect(decodeProbe(encoded(f), out)).toBe(ProbeDrop.Ok)
        expect(out).toEqual(f)
      }),
      { numRuns: RUNS },
    )
  })

  it('a mutated probe is refused, or accepted with finite times and the fields its bytes hold', () => {
    fc.assert(
      fc.property(probe, mutations, (f, ops) => {
        const b = mutate(encoded(f), ops)
        const out = emptyProbeFields()
        const r = decodeProbe(b, out)
        expect(DROPS).toContain(r)
        if (r !== ProbeDrop.Ok) return
        expect(Number.isFinite(out.txMs)).toBe(true)
        if (out.hasEcho) expect(Number.isFinite(out.echoTxMs) && Number.isFinite(out.echoRxMs)).toBe(true)
        expect(out.seq).toBe(b.readUInt32BE(12))
        expect(out.txMs).toBe(b.readDoubleBE(16))
      }),
      { numRuns: RUNS },
    )
  })
})
