/** Property tests of the data header parser (wire/data.ts): any bytes, valid headers, and mutations of them. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeClientAddr, encodeClientAddr } from '../../src/wire/client-addr.js'
import {
  DataHeader,
  FLAG_CLIENT_ADDR,
  FLAG_REDUNDANT,
  FLAG_REPLY,
  HEADER_ERROR_NAMES,
  MAX_PATH_RELAYS,
  decodeDataHeader,
  encodeDataHeader,
} from '../../src/wire/data.js'
import { bytes, mutate, mutations, RUNS } from '../bench/mutations.js'

const clientAddr = fc.oneof(
  fc.record({ family: fc.constant(4 as const), clientAddress: fc.ipV4(), serviceAddress: fc.ipV4(), clientPort: fc.nat(65535), servicePort: fc.nat(65535) }),
  fc.record({ family: fc.constant(6 as const), clientAddress: fc.ipV6(), serviceAddress: fc.ipV6(), clientPort: fc.nat(65535), servicePort: fc.nat(65535) }),
)

const header = fc.record({
  flags: fc.subarray([FLAG_REPLY, FLAG_REDUNDANT]).map((f) => f.reduce((a, b) => a | b, 0)),
  hops: fc.nat(255),
  service: fc.nat(0xffffffff),
  flow: fc.nat(0xffffffff),
  seq: fc.nat(0xffffffff),
  path: fc.array(fc.nat(0xffffffff), { minLength: 2, maxLength: MAX_PATH_RELAYS }),
  ext: fc.option(clientAddr, { nil: undefined }),
  payload: bytes(64),
})

function encode(h: Header): Buffer {
  const buf = Buffer.alloc(2048)
  const ext = h.ext ? encodeClientAddr(h.ext) : undefined
  let off = encodeDataHeader(buf, h.flags, h.hops, h.service, h.flow, h.seq, Uint32Array.from(h.path), h.path.length, ext)
  off += h.payload.copy(buf, off)
  return buf.subarray(0, off)
}

type Header = typeof header extends fc.Arbitrary<infer T> ? T : never

const KNOWN = new Set(Object.keys(HEADER_ERROR_NAMES).map(Number))

describe('data header parser under fuzzing', () => {
  it('never throws on any bytes: a payload offset within the packet or a named header error', () => {
    fc.assert(
      fc.property(bytes(), (b) => {
        const r = decodeDataHeader(b, b.length, new DataHeader())
        expect(r < 0 ? KNOWN.has(r) : r <= b.length).toBe(true)
      }),
      { numRuns: RUNS },
    )
  })

  it('round-trips every valid header (decode of encode is the identity)', () => {
    fc.assert(
      fc.property(header, (h) => {
        const b = encode(h)
        const out = new DataHeader()
        const off = decodeDataHeader(b, b.length, out)
        expect(off).toBe(b.length - h.payload.length)
        expect({ flags: out.flags & ~FLAG_CLIENT_ADDR, hops: out.hops, service: out.service, flow: out.flow, seq: out.seq }).toEqual({
          flags: h.flags, hops: h.hops, service: h.service, flow: h.flow, seq: h.seq,
        })
        expect([...out.path.subarray(0, out.pathLen)]).toEqual(h.path)
        if (h.ext) {
          const back = decodeClientAddr(b, out.clientAddrOffset)
          expect(encodeClientAddr(back)).toEqual(encodeClientAddr(h.ext))
        } else expect(out.clientAddrOffset).toBe(-1)
      }),
      { numRuns: RUNS },
    )
  })

  it('rejects mutated headers or decodes them consistently with their bytes', () => {
    fc.assert(
      fc.property(header, mutations, (h, ops) => {
        const b = mutate(encode(h), ops)
        const out = new DataHeader()
        const off = decodeDataHeader(b, b.length, out)
        if (off < 0) {
          expect(KNOWN.has(off)).toBe(true)
          return
        }
        // Accepted: every field is what the bytes say, and the extension (if any) lies inside the packet.
        expect(off).toBeLessThanOrEqual(b.length)
        expect(out.pathIndex).toBeGreaterThanOrEqual(1)
        expect(out.pathIndex).toBeLessThan(out.pathLen)
        for (let i = 0; i < out.pathLen; i++) expect(out.path[i]).toBe(b.readUInt32BE(20 + 4 * i))
        if (out.clientAddrOffset >= 0) expect(() => decodeClientAddr(b, out.clientAddrOffset)).not.toThrow()
      }),
      { numRuns: RUNS },
    )
  })
})
