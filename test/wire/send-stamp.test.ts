/** The send stamp in bytes 5..7 of the data header (FLAG_STAMPED) and its modular arithmetic. */
import { describe, expect, it } from 'vitest'
import {
  DataHeader, FLAG_STAMPED, HeaderError, STAMP_MODULUS, decodeDataHeader, encodeDataHeader, sendStamp, stampDiff, writeSendStamp,
} from '../../src/wire/data.js'

function header(): Buffer {
  const b = Buffer.alloc(64)
  const len = encodeDataHeader(b, 0, 8, 1, 2, 3, Uint32Array.of(10, 20, 30), 3)
  return b.subarray(0, len)
}

describe('data header send stamp', () => {
  it('decodes the stamp of a stamped header and keeps every other field', () => {
    const b = header()
    writeSendStamp(b, 0xabcdef)
    const h = new DataHeader()
    expect(decodeDataHeader(b, b.length, h)).toBe(b.length)
    expect(h.flags & FLAG_STAMPED).toBe(FLAG_STAMPED)
    expect([h.stamp, h.seq, [...h.path.subarray(0, 3)]]).toEqual([0xabcdef, 3, [10, 20, 30]])
  })

  it('still refuses non-zero reserved bytes without the flag', () => {
    const b = header()
    b[6] = 1
    expect(decodeDataHeader(b, b.length, new DataHeader())).toBe(HeaderError.BadReserved)
  })

  it('encodeDataHeader clears a stale stamp flag (a reused buffer)', () => {
    const b = Buffer.alloc(64)
    encodeDataHeader(b, FLAG_STAMPED, 8, 1, 2, 3, Uint32Array.of(10, 20), 2)
    expect(decodeDataHeader(b, 28, new DataHeader())).toBe(28)
    expect(b[1] & FLAG_STAMPED).toBe(0)
  })

  it('stamps in 10 us units modulo 2^24, and differences survive the wrap', () => {
    expect(sendStamp(1)).toBe(100)
    expect(sendStamp(167_772.16)).toBe(0)
    // Clocks hours apart and a wrap in between: only the difference modulo 2^24 matters.
    const sent = sendStamp(3_600_000 + 167_772.15)
    const received = sendStamp(3_600_000 + 167_772.15 + 25)
    expect(stampDiff(received, sent)).toBe(2500)
    expect(stampDiff(sent, received)).toBe(-2500)
    expect(stampDiff(0, STAMP_MODULUS - 1)).toBe(1)
  })
})
