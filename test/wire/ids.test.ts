/**
 * nameId: FNV-1a of a name's UTF-8 bytes, the same number on every relay.
 * ASCII names are hashed without a Buffer (the control plane looks peers up
 * by name for every probe it sends); any other name through its UTF-8 bytes.
 */
import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { nameId } from '../../src/wire/ids.js'

/** The definition, byte by byte. */
function reference(name: string): number {
  let h = 0x811c9dc5
  for (const b of Buffer.from(name, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0
  return h === 0 ? 1 : h
}

afterEach(() => vi.restoreAllMocks())

describe('nameId', () => {
  it('is FNV-1a 32 of the UTF-8 bytes (known values)', () => {
    expect(nameId('')).toBe(0x811c9dc5)
    expect(nameId('a')).toBe(0xe40c292c)
    expect(nameId('foobar')).toBe(0xbf9cf968)
  })

  it('matches the byte-wise definition for any string, ASCII or not', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => nameId(s) === reference(s)), { numRuns: 2000 })
    for (const s of ['lax', 'séa', 'dal-1', '東京', 'a\u0080', 'x😀']) expect(nameId(s)).toBe(reference(s))
  })

  it('allocates no Buffer for an ASCII name', () => {
    const from = vi.spyOn(Buffer, 'from')
    for (const s of ['lax', 'sea-2', 'relay_with.long-name-0123456789']) nameId(s)
    expect(from).not.toHaveBeenCalled()
    nameId('séa')
    expect(from).toHaveBeenCalledTimes(1)
  })
})
