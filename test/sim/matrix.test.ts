import { describe, expect, it } from 'vitest'
import { applyAsymmetry, parseMatrixCsv, sampleSites, selectSites } from '../../src/sim/matrix.js'
import { MatrixParseError } from '../../src/sim/errors.js'
import { Rng } from '../../src/sim/prng.js'

const at = (m: ReturnType<typeof parseMatrixCsv>, a: string, b: string) =>
  m.oneWayMs[m.sites.indexOf(a) * m.sites.length + m.sites.indexOf(b)]

function parseError(text: string): MatrixParseError {
  try {
    parseMatrixCsv(text, 'm.csv')
  } catch (err) {
    return err as MatrixParseError
  }
  throw new Error('expected a MatrixParseError')
}

describe('parseMatrixCsv', () => {
  it('halves round trips per direction in rtt_ms files', () => {
    const m = parseMatrixCsv('src,dst,rtt_ms\na,b,10\nb,a,12\na,c,4\n')
    expect(m.format).toBe('rtt_ms')
    expect(at(m, 'a', 'b')).toBe(5)
    expect(at(m, 'b', 'a')).toBe(6)
  })

  it('uses a one-way row for both directions when only one is present', () => {
    const m = parseMatrixCsv('src,dst,rtt_ms\na,b,10\nb,a,12\na,c,4\n')
    expect(at(m, 'c', 'a')).toBe(2)
    expect(m.filledFromReverse).toBe(1)
  })

  it('reads directed one_way_ms files as is and counts pairs absent both ways', () => {
    const m = parseMatrixCsv('src,dst,one_way_ms\r\nx,y,3.5\r\ny,x,7\r\ny,z,1\r\n')
    expect(at(m, 'x', 'y')).toBe(3.5)
    expect(at(m, 'y', 'x')).toBe(7)
    expect(Number.isNaN(at(m, 'x', 'z'))).toBe(true)
    expect(m.missingPairs).toBe(1)
  })

  it('names line and column of a bad value', () => {
    const e = parseError('src,dst,rtt_ms\na,b,10\na,c,ten\n')
    expect(e.name).toBe('MatrixParseError')
    expect(e.line).toBe(3)
    expect(e.column).toBe('3 (rtt_ms)')
    expect(e.message).toContain('m.csv:3 column 3 (rtt_ms)')
  })

  it('rejects negative delays, wrong column counts, self pairs and duplicates with their line', () => {
    expect(parseError('src,dst,one_way_ms\na,b,-1\n').line).toBe(2)
    expect(parseError('src,dst,rtt_ms\na,b,1\n\na,c\n').line).toBe(4)
    expect(parseError('src,dst,rtt_ms\na,a,1\n').column).toBe('2 (dst)')
    const dup = parseError('src,dst,rtt_ms\na,b,1\nb,a,1\na,b,2\n')
    expect(dup.line).toBe(4)
    expect(dup.message).toContain('first at line 2')
  })

  it('rejects an unknown header on line 1', () => {
    const e = parseError('from,to,ms\na,b,1\n')
    expect(e.line).toBe(1)
    expect(e.message).toContain('src,dst,rtt_ms')
  })
})

describe('applyAsymmetry', () => {
  const m = parseMatrixCsv('src,dst,rtt_ms\na,b,100\nb,a,100\na,c,40\nb,c,60\nc,b,64\n')

  it("preserves each pair's round trip and stays within the fraction", () => {
    const s = applyAsymmetry(m, 0.3, new Rng(7))
    for (const [x, y] of [['a', 'b'], ['a', 'c'], ['b', 'c']]) {
      expect(at(s, x, y) + at(s, y, x)).toBeCloseTo(at(m, x, y) + at(m, y, x), 9)
      const half = (at(m, x, y) + at(m, y, x)) / 2
      expect(Math.abs(at(s, x, y) - half)).toBeLessThanOrEqual(0.3 * half + 1e-9)
    }
    expect(at(s, 'a', 'b')).not.toBe(50)
  })

  it('is deterministic for a seed and differs across seeds', () => {
    const a = applyAsymmetry(m, 0.3, new Rng(7)).oneWayMs
    const b = applyAsymmetry(m, 0.3, new Rng(7)).oneWayMs
    const c = applyAsymmetry(m, 0.3, new Rng(8)).oneWayMs
    expect(Array.from(a)).toEqual(Array.from(b))
    expect(Array.from(a)).not.toEqual(Array.from(c))
  })
})

describe('site subsets', () => {
  const m = parseMatrixCsv('src,dst,rtt_ms\na,b,2\na,c,4\nb,c,6\nc,d,8\n')

  it('keeps the named sites and their delays', () => {
    const s = selectSites(m, ['c', 'a'])
    expect(s.sites).toEqual(['c', 'a'])
    expect(s.oneWayMs[1]).toBe(2)
    expect(() => selectSites(m, ['zz'])).toThrow(/unknown site "zz"/)
  })

  it('samples the same sites for the same seed', () => {
    expect(sampleSites(m, 3, new Rng(3)).sites).toEqual(sampleSites(m, 3, new Rng(3)).sites)
    expect(sampleSites(m, 3, new Rng(3)).sites).toHaveLength(3)
  })
})
