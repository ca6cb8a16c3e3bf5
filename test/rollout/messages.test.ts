/**
 * The network-version codec: round trips, a table of hostile inputs each
 * refused with its reason, and fuzzing (never throws; what decodes
 * re-encodes to the same bytes).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ANNOUNCE_BYTES, CHUNK_BYTES, CHUNK_HEADER_BYTES, decodeVersionMessage, encodeAnnounce, encodeChunk, encodeRequest,
  MAX_BUNDLE_BYTES, REQUEST_BYTES,
} from '../../src/rollout/messages.js'

const bundle = new Uint8Array(2 * CHUNK_BYTES + 100).map((_, i) => i & 0xff)

function mutate(bytes: Uint8Array, f: (b: Buffer) => void): Uint8Array {
  const b = Buffer.from(bytes)
  f(b)
  return b
}

describe('version message codec', () => {
  it('round-trips an announcement, a request and every chunk of a bundle', () => {
    const a = { newest: 2 ** 40 + 7, newestBytes: bundle.length, running: 6, healthy: true, healthyMs: 312_000 }
    expect(decodeVersionMessage(encodeAnnounce(a))).toEqual({ type: 'announce', ...a })
    expect(decodeVersionMessage(encodeRequest(9, 2))).toEqual({ type: 'request', version: 9, index: 2 })
    const parts = [0, 1, 2].map((i) => decodeVersionMessage(encodeChunk(9, bundle, i)))
    expect(parts.map((p) => (typeof p === 'string' ? p : p.type === 'chunk' ? p.payload.length : -1))).toEqual([CHUNK_BYTES, CHUNK_BYTES, 100])
    expect(Buffer.concat(parts.map((p) => (p as { payload: Uint8Array }).payload))).toEqual(Buffer.from(bundle))
  })

  it('never answers a request with more bytes than the request had', () => {
    expect(encodeChunk(9, bundle, 0).length).toBeLessThanOrEqual(encodeRequest(9, 0).length)
    expect(REQUEST_BYTES).toBe(CHUNK_HEADER_BYTES + CHUNK_BYTES)
  })

  const announce = encodeAnnounce({ newest: 5, newestBytes: 500, running: 4, healthy: false, healthyMs: 0 })
  const chunk = encodeChunk(9, bundle, 2)
  const cases: [string, Uint8Array, string][] = [
    ['empty', new Uint8Array(0), 'short'],
    ['unknown type', mutate(announce, (b) => (b[0] = 9)), 'bad_type'],
    ['announcement one byte long', Buffer.concat([announce, Buffer.alloc(1)]), 'bad_length'],
    ['announcement with a reserved flag', mutate(announce, (b) => (b[1] = 0x80)), 'reserved'],
    ['unhealthy announcement with a healthy duration', mutate(announce, (b) => b.writeUInt32BE(5, 24)), 'reserved'],
    ['version beyond a safe integer', mutate(announce, (b) => b.writeUInt32BE(0xffffffff, 4)), 'bad_version'],
    ['announced bundle over the cap', mutate(announce, (b) => b.writeUInt32BE(MAX_BUNDLE_BYTES + 1, 12)), 'too_large'],
    ['announced bundle shorter than a signature', mutate(announce, (b) => b.writeUInt32BE(64, 12)), 'bad_length'],
    ['request without its padding', encodeRequest(3, 0).subarray(0, 12), 'bad_length'],
    ['request with non-zero padding', mutate(encodeRequest(3, 0), (b) => (b[500] = 1)), 'reserved'],
    ['request for version 0', encodeRequest(0, 0), 'bad_version'],
    ['request for a chunk past any bundle', encodeRequest(3, 65_535), 'bad_index'],
    ['chunk index past its bundle', mutate(chunk, (b) => b.writeUInt16BE(3, 2)), 'bad_index'],
    ['chunk total over the cap', mutate(chunk, (b) => b.writeUInt32BE(MAX_BUNDLE_BYTES + 1, 12)), 'too_large'],
    ['last chunk one byte short', chunk.subarray(0, chunk.length - 1), 'bad_length'],
    ['chunk one byte long', Buffer.concat([chunk, Buffer.alloc(1)]), 'bad_length'],
    ['chunk header only', chunk.subarray(0, CHUNK_HEADER_BYTES), 'bad_length'],
  ]
  it.each(cases)('refuses %s', (_name, bytes, reason) => {
    expect(decodeVersionMessage(bytes)).toBe(reason)
  })

  it('fuzz: never throws on any bytes, and a decoded announcement re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2 * REQUEST_BYTES }), (bytes) => {
        const m = decodeVersionMessage(bytes)
        if (typeof m !== 'string' && m.type === 'announce') expect(Buffer.from(encodeAnnounce(m))).toEqual(Buffer.from(bytes))
      }),
      { numRuns: 2000 },
    )
  })

  it('fuzz: single-byte corruptions of valid messages decode to a message or a reason, never throw', () => {
    const valid = [announce, encodeRequest(3, 1), chunk, encodeChunk(9, bundle, 0)]
    fc.assert(
      fc.property(fc.constantFrom(...valid), fc.nat(), fc.integer({ min: 0, max: 255 }), (msg, at, v) => {
        const b = Buffer.from(msg)
        b[at % b.length] = v
        const m = decodeVersionMessage(b)
        expect(typeof m === 'string' || ['announce', 'request', 'chunk'].includes(m.type)).toBe(true)
        if (typeof m !== 'string' && m.type === 'chunk') expect(CHUNK_HEADER_BYTES + m.payload.length).toBe(b.length)
      }),
      { numRuns: 2000 },
    )
    expect(ANNOUNCE_BYTES).toBe(28)
  })
})
