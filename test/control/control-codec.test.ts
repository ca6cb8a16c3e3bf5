/**
 * The strict control-message decoder against the hostile inputs of issue 14
 * (built with msgpackr's own encoder, as an attacker would), plus fuzzing.
 */
import fc from 'fast-check'
import { Packr } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import {
  controlLimits, decodeControl, encodeControl, MAX_CONTROL_DEPTH, scanControl, type ControlLimits,
} from '../../src/control/control-codec.js'

const limits: ControlLimits = controlLimits(8, 2)
const column = {
  type: 'overpass.map', v: 1, origin: 'dal', boot: 7, seq: 3, full: false,
  edges: [['lax', 12.5, 11, -0.25, 24.5, 0.5, 0, true], ['sea', 10, 9.75, null, null, 0.1, 1, false]],
  origins: [['game', 'twamp', 1.5, 1.25, 0.5, 3, 0.1, 0, true]],
  sig: new Uint8Array(64).fill(9),
}

/** `levels` nested pairs of one shared object: tiny with structured clone, 2^levels leaves once walked. */
function sharedReferences(levels: number): unknown {
  let x: unknown = ['leaf']
  for (let i = 0; i < levels; i++) x = [x, x]
  return x
}

describe('decodeControl', () => {
  it('decodes what encodeControl wrote, numbers and signature bytes intact', () => {
    const d = decodeControl(encodeControl(column), limits)
    expect(d.ok).toBe(true)
    const v = (d as { value: typeof column }).value
    expect(v.edges).toEqual(column.edges)
    expect(Buffer.from(v.sig)).toEqual(Buffer.from(column.sig))
  })

  it('refuses a cyclic structured-clone object (the relay-killing 120-byte message)', () => {
    const cyclic: Record<string, unknown> = { ...column }
    cyclic.loop = cyclic
    const bytes = new Packr({ structuredClone: true }).pack(cyclic)
    expect(decodeControl(bytes, limits)).toEqual({ ok: false, reason: 'ext_type' })
  })

  it('refuses nested shared references (exponential once re-packed)', () => {
    const bytes = new Packr({ structuredClone: true }).pack({ ...column, bomb: sharedReferences(40) })
    expect(bytes.length).toBeLessThan(1500)
    expect(decodeControl(bytes, limits)).toEqual({ ok: false, reason: 'ext_type' })
  })

  it('refuses records, which msgpackr decodes even with useRecords: false', () => {
    const bytes = new Packr({ useRecords: true }).pack(column)
    expect(decodeControl(bytes, limits)).toEqual({ ok: false, reason: 'ext_type' })
  })

  it('refuses every extension type, fixext and ext 8/16/32', () => {
    for (const head of [[0xd4, 1, 0], [0xd5, 1, 0, 0], [0xd6, 1, 0, 0, 0, 0], [0xd7, 1, ...Array(8).fill(0)], [0xd8, 1, ...Array(16).fill(0)], [0xc7, 1, 1, 0], [0xc8, 0, 1, 1, 0], [0xc9, 0, 0, 0, 1, 1, 0]]) {
      expect(scanControl(Uint8Array.from(head), limits)).toBe('ext_type')
      // Also inside a container.
      expect(scanControl(Uint8Array.from([0x91, ...head]), limits)).toBe('ext_type')
    }
  })

  it('refuses nesting deeper than the deepest real message', () => {
    let v: unknown = 1
    for (let i = 0; i < MAX_CONTROL_DEPTH + 1; i++) v = [v]
    expect(decodeControl(encodeControl(v), limits)).toEqual({ ok: false, reason: 'too_deep' })
    // 50k levels: the scan is iterative, so this cannot overflow the stack either.
    expect(scanControl(new Uint8Array(50_000).fill(0x91), limits)).toBe('too_deep')
  })

  it('refuses more values than a whole column can hold, before allocating them', () => {
    expect(decodeControl(encodeControl(new Array(limits.maxItems).fill(0)), limits)).toEqual({ ok: false, reason: 'too_many_items' })
    // An array32 header claiming 4 G entries in 5 bytes.
    expect(scanControl(Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff]), limits)).toBe('too_many_items')
  })

  it('refuses oversized, truncated and trailing input, long strings and binaries, and 0xc1', () => {
    expect(scanControl(new Uint8Array(limits.maxBytes + 1), limits)).toBe('too_large')
    expect(scanControl(encodeControl(column).subarray(0, 40), limits)).toBe('truncated')
    expect(scanControl(Buffer.concat([encodeControl(column), Buffer.from([0])]), limits)).toBe('trailing')
    expect(scanControl(encodeControl('x'.repeat(limits.maxString + 1)), limits)).toBe('string_too_long')
    expect(scanControl(encodeControl(new Uint8Array(limits.maxBinary + 1)), limits)).toBe('binary_too_long')
    expect(scanControl(Uint8Array.from([0xc1]), limits)).toBe('reserved_byte')
    expect(scanControl(new Uint8Array(0), limits)).toBe('truncated')
  })

  it('never throws on random bytes, and accepts only what re-encodes to a plain tree', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const d = decodeControl(bytes, limits)
        if (d.ok) expect(() => encodeControl(d.value)).not.toThrow()
      }),
      { numRuns: 3000, seed: 14 },
    )
  })

  it('never throws on any value msgpackr can encode, with or without its extensions', () => {
    const anyPackr = new Packr({ structuredClone: true, useRecords: true })
    fc.assert(
      fc.property(fc.anything({ maxDepth: 5, withMap: true, withSet: true, withDate: true, withTypedArray: true }), fc.boolean(), (v, ext) => {
        let bytes: Uint8Array
        try {
          bytes = ext ? anyPackr.pack(v) : encodeControl(v)
        } catch {
          return
        }
        const d = decodeControl(bytes, limits)
        if (d.ok) expect(() => encodeControl(d.value)).not.toThrow()
      }),
      { numRuns: 2000, seed: 14 },
    )
  })

  it('never throws on mutated real messages', () => {
    const real = encodeControl(column)
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(real.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (edits) => {
        const b = Buffer.from(real)
        for (const [at, v] of edits) b[at] = v
        decodeControl(b, limits)
      }),
      { numRuns: 3000, seed: 14 },
    )
  })
})
