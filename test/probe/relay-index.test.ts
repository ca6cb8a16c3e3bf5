import { describe, expect, it } from 'vitest'
import { RelayIndex } from '../../src/probe/relay-index.js'

describe('RelayIndex', () => {
  it('answers like a Map of the same list, for names of other lists and unknown names too', () => {
    const a = ['paris', 'london', 'tokyo', 'london']
    const b = ['sydney', 'tokyo', 'paris', 'lima', 'nairobi']
    const ia = new RelayIndex(a)
    const ib = new RelayIndex(b) // registers names after `ia` was built
    const ma = new Map(a.map((r, i) => [r, i]))
    const mb = new Map(b.map((r, i) => [r, i]))
    for (const name of [...a, ...b, 'nowhere', '']) {
      expect(ia.get(name)).toBe(ma.get(name))
      expect(ib.get(name)).toBe(mb.get(name))
      expect(ia.has(name)).toBe(ma.has(name))
    }
    expect(ia.size).toBe(ma.size)
    expect(ib.size).toBe(mb.size)
  })

  it('does not learn names from lookups', () => {
    const i = new RelayIndex(['x1'])
    expect(i.get('never-listed')).toBeUndefined()
    const j = new RelayIndex(['never-listed'])
    expect(j.get('never-listed')).toBe(0)
    expect(i.get('never-listed')).toBeUndefined()
  })

  it('keeps lists with the same names in another order apart', () => {
    const lists = [['a1', 'b1', 'c1'], ['c1', 'a1', 'b1'], ['a1', 'b1', 'c1'], ['a1\u0000b1', 'c1']]
    const indices = lists.map((l) => new RelayIndex(l))
    lists.forEach((l, j) => l.forEach((name, i) => expect(indices[j].get(name)).toBe(i)))
    expect(indices[3].get('a1')).toBeUndefined()
  })
})
