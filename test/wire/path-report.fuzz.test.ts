/** Property tests of the path report parser (wire/path-report.ts): any bytes, valid reports, and mutations of them. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { STAMP_MODULUS } from '../../src/wire/data.js'
import {
  MAX_REPORT_ENTRIES, MAX_REPORT_LEN, NO_DIFF, REPORT_ENTRY_LEN, REPORT_ERROR_NAMES, REPORT_HEADER_LEN,
  decodePathReport, encodePathReport, type PathReport,
} from '../../src/wire/path-report.js'
import { bytes, mutate, mutations, RUNS } from '../bench/mutations.js'

const u32 = fc.nat(0xffffffff)
const stamp = fc.nat(STAMP_MODULUS - 1)
const entry = fc.oneof(
  fc.record({ pathKey: u32, slotId: u32, received: u32, samples: fc.integer({ min: 1, max: 0xffff }), minDiff: stamp, meanDiff: stamp }),
  fc.record({ pathKey: u32, slotId: u32, received: u32, samples: fc.constant(0), minDiff: fc.constant(NO_DIFF), meanDiff: fc.constant(NO_DIFF) }),
)
const report = fc.record({ reporter: u32, seq: u32, entries: fc.array(entry, { maxLength: MAX_REPORT_ENTRIES }) })
const KNOWN = new Set(Object.keys(REPORT_ERROR_NAMES).map(Number))

function encode(r: PathReport): Buffer {
  const b = Buffer.alloc(MAX_REPORT_LEN)
  return b.subarray(0, encodePathReport(b, r))
}

describe('path report parser under fuzzing', () => {
  it('never throws on any bytes: a report or a named error', () => {
    fc.assert(
      fc.property(bytes(600), (b) => {
        const r = decodePathReport(b)
        if (typeof r === 'number') expect(KNOWN.has(r)).toBe(true)
        else expect(b.length).toBe(REPORT_HEADER_LEN + r.entries.length * REPORT_ENTRY_LEN)
      }),
      { numRuns: RUNS },
    )
  })

  it('round-trips every valid report, and is never longer than its entries need', () => {
    fc.assert(
      fc.property(report, (r) => {
        const b = encode(r)
        expect(b.length).toBe(REPORT_HEADER_LEN + r.entries.length * REPORT_ENTRY_LEN)
        expect(decodePathReport(b)).toEqual(r)
      }),
      { numRuns: RUNS },
    )
  })

  it('refuses mutated reports or decodes them as their bytes say', () => {
    fc.assert(
      fc.property(report, mutations, (r, ops) => {
        const b = mutate(encode(r), ops)
        const d = decodePathReport(b)
        if (typeof d === 'number') {
          expect(KNOWN.has(d)).toBe(true)
          return
        }
        expect(d.entries.length).toBe(b[1])
        expect(d.reporter).toBe(b.readUInt32BE(4))
        for (const [i, e] of d.entries.entries()) {
          const o = REPORT_HEADER_LEN + i * REPORT_ENTRY_LEN
          expect(e.received).toBe(b.readUInt32BE(o + 8))
          if (e.samples > 0) expect(Math.max(e.minDiff, e.meanDiff)).toBeLessThan(STAMP_MODULUS)
          else expect([e.minDiff, e.meanDiff]).toEqual([NO_DIFF, NO_DIFF])
        }
      }),
      { numRuns: RUNS },
    )
  })
})

describe('path report parser, by case', () => {
  const valid = encode({ reporter: 7, seq: 1, entries: [{ pathKey: 1, slotId: 2, received: 3, samples: 4, minDiff: 5, meanDiff: 6 }] })
  const cases: [string, (b: Buffer) => Buffer, number][] = [
    ['shorter than the header', (b) => b.subarray(0, 11), -1],
    ['another version', (b) => ((b[0] = 2), b), -2],
    ['a reserved header byte set', (b) => ((b[3] = 1), b), -3],
    ['more entries than allowed', (b) => ((b[1] = MAX_REPORT_ENTRIES + 1), b), -4],
    ['a trailing byte', (b) => Buffer.concat([b, Buffer.alloc(1)]), -5],
    ['an entry count the length does not match', (b) => ((b[1] = 2), b), -5],
    ['a reserved entry byte set', (b) => ((b[REPORT_HEADER_LEN + 15] = 1), b), -3],
    ['a delay beyond 24 bits', (b) => ((b[REPORT_HEADER_LEN + 16] = 1), b), -6],
    ['no samples but a delay', (b) => (b.writeUInt16BE(0, REPORT_HEADER_LEN + 12), b), -6],
  ]
  for (const [name, mutateCase, err] of cases) {
    it(`refuses ${name} (${REPORT_ERROR_NAMES[err]})`, () => {
      expect(decodePathReport(mutateCase(Buffer.from(valid)))).toBe(err)
    })
  }
})
