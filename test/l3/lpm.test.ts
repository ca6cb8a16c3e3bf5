import { describe, expect, it } from 'vitest'
import { NO_MATCH, PrefixTable, PrefixValueError, type Stride } from '../../src/l3/lpm.js'
import { formatPrefix, parsePrefix, PrefixParseError, type Prefix } from '../../src/l3/prefix.js'
import { ip4, ip6, rng } from './packets.js'

/** The obviously correct reference: scan every prefix, keep the longest that covers the address. */
class BruteForce {
  readonly entries = new Map<string, { bytes: Uint8Array; length: number; value: number }>()
  insert(bytes: Uint8Array, length: number, value: number): void {
    this.entries.set(`${bytes.length}/${length}/${Buffer.from(bytes).toString('hex')}`, { bytes, length, value })
  }
  remove(bytes: Uint8Array, length: number): boolean {
    return this.entries.delete(`${bytes.length}/${length}/${Buffer.from(bytes).toString('hex')}`)
  }
  lookup(addr: Uint8Array): number {
    let best = -1
    let value = NO_MATCH
    for (const e of this.entries.values()) {
      if (e.bytes.length !== addr.length || e.length <= best) continue
      let ok = true
      for (let bit = 0; bit < e.length && ok; bit++) {
        const m = 0x80 >> (bit & 7)
        ok = (addr[bit >> 3] & m) === (e.bytes[bit >> 3] & m)
      }
      if (ok) {
        best = e.length
        value = e.value
      }
    }
    return value
  }
}

function randomPrefix(rand: () => number, bytes: number, near: Uint8Array[]): Prefix {
  const bits = bytes * 8
  const addr = new Uint8Array(bytes)
  // Half of the prefixes share a start with an earlier one, so overlaps and nesting are common.
  if (near.length > 0 && rand() < 0.5) addr.set(near[Math.floor(rand() * near.length)])
  else for (let i = 0; i < bytes; i++) addr[i] = Math.floor(rand() * 256)
  const pick = rand()
  const length = pick < 0.03 ? 0 : pick < 0.1 ? bits : Math.floor(rand() * (bits + 1))
  for (let bit = length; bit < bits; bit++) addr[bit >> 3] &= ~(0x80 >> (bit & 7))
  return { family: bytes === 4 ? 4 : 6, bytes: addr, length }
}

function randomAddress(rand: () => number, bytes: number, near: Uint8Array[]): Uint8Array {
  const a = new Uint8Array(bytes)
  for (let i = 0; i < bytes; i++) a[i] = Math.floor(rand() * 256)
  if (near.length > 0 && rand() < 0.7) {
    // Keep a random-length head of a known prefix so lookups land inside, at and around prefixes.
    const src = near[Math.floor(rand() * near.length)]
    const keep = Math.floor(rand() * (bytes * 8 + 1))
    for (let bit = 0; bit < keep; bit++) {
      const m = 0x80 >> (bit & 7)
      a[bit >> 3] = (a[bit >> 3] & ~m) | (src[bit >> 3] & m)
    }
  }
  return a
}

function compareWithBruteForce(seed: number, bytes: 4 | 16, stride: Stride, prefixes: number, lookups: number): void {
  const rand = rng(seed)
  const table = new PrefixTable({ stride })
  const ref = new BruteForce()
  const starts: Uint8Array[] = []
  const live: Prefix[] = []
  const buf = Buffer.alloc(64)
  const check = (round: string): void => {
    for (let i = 0; i < lookups; i++) {
      const a = randomAddress(rand, bytes, starts)
      const off = 3 + (i % 20)
      buf.set(a, off)
      const got = bytes === 4 ? table.lookup4(buf, off) : table.lookup6(buf, off)
      const want = ref.lookup(a)
      if (got !== want) throw new Error(`${round}: seed ${seed} address ${Buffer.from(a).toString('hex')}: table ${got}, reference ${want}`)
    }
  }
  for (let i = 0; i < prefixes; i++) {
    const p = randomPrefix(rand, bytes, starts)
    const value = Math.floor(rand() * 0xffffffff)
    table.insert(p, value)
    ref.insert(p.bytes, p.length, value)
    starts.push(p.bytes)
    live.push(p)
  }
  expect(table.size).toBe(ref.entries.size)
  check('after inserts')
  // Remove a random half (and some prefixes that were never there), then check again.
  for (let i = 0; i < prefixes / 2; i++) {
    const p = live[Math.floor(rand() * live.length)]
    expect(table.remove(p)).toBe(ref.remove(p.bytes, p.length))
  }
  expect(table.size).toBe(ref.entries.size)
  check('after removals')
  // Re-insert with new values: replacement must overwrite, not duplicate.
  for (let i = 0; i < prefixes / 4; i++) {
    const p = live[Math.floor(rand() * live.length)]
    table.insert(p, i)
    ref.insert(p.bytes, p.length, i)
  }
  check('after re-inserts')
}

describe('PrefixTable longest-prefix match against brute force (seeded)', () => {
  for (const stride of [4, 8, 1] as Stride[]) {
    for (const seed of [1, 2, 3]) {
      it(`IPv4, stride ${stride}, seed ${seed}`, () => compareWithBruteForce(seed, 4, stride, 400, 2000))
      it(`IPv6, stride ${stride}, seed ${seed}`, () => compareWithBruteForce(seed + 100, 16, stride, 300, 1500))
    }
  }

  it('frees every node once all prefixes are removed', () => {
    const rand = rng(9)
    const table = new PrefixTable()
    const ps = Array.from({ length: 200 }, () => randomPrefix(rand, 16, []))
    for (const p of ps) table.insert(p, 1)
    expect(table.v6.nodeCount).toBeGreaterThan(1)
    for (const p of ps) table.remove(p)
    expect(table.size).toBe(0)
    expect(table.v6.nodeCount).toBe(1)
    expect(table.lookup6(new Uint8Array(16), 0)).toBe(NO_MATCH)
  })
})

describe('PrefixTable edge prefixes', () => {
  const addr4 = (s: string) => Uint8Array.from(ip4(s))
  const addr6 = (s: string) => Uint8Array.from(ip6(s))

  it('uses /0 as the default and a /32 as the most specific', () => {
    const t = new PrefixTable()
    t.insert(parsePrefix('0.0.0.0/0'), 1)
    t.insert(parsePrefix('198.18.0.0/15'), 2)
    t.insert(parsePrefix('198.18.7.9/32'), 3)
    expect(t.lookup4(addr4('8.8.8.8'), 0)).toBe(1)
    expect(t.lookup4(addr4('198.19.255.255'), 0)).toBe(2)
    expect(t.lookup4(addr4('198.18.7.9'), 0)).toBe(3)
    expect(t.lookup4(addr4('198.18.7.8'), 0)).toBe(2)
    t.remove(parsePrefix('198.18.0.0/15'))
    expect(t.lookup4(addr4('198.18.7.8'), 0)).toBe(1)
    expect(t.lookup4(addr4('198.18.7.9'), 0)).toBe(3)
  })

  it('matches a /128 only exactly and keeps families apart', () => {
    const t = new PrefixTable()
    t.insert(parsePrefix('2001:db8::/32'), 5)
    t.insert(parsePrefix('2001:db8::1/128'), 6)
    expect(t.lookup6(addr6('2001:db8::1'), 0)).toBe(6)
    expect(t.lookup6(addr6('2001:db8::2'), 0)).toBe(5)
    expect(t.lookup6(addr6('2001:db9::1'), 0)).toBe(NO_MATCH)
    expect(t.lookup4(addr4('32.1.13.184'), 0)).toBe(NO_MATCH) // the same leading bytes as 2001:db8
  })

  it('returns value 0 as a match, distinct from NO_MATCH', () => {
    const t = new PrefixTable()
    t.insert(parsePrefix('10.0.0.0/8'), 0)
    expect(t.lookup4(addr4('10.9.9.9'), 0)).toBe(0)
    expect(t.get(parsePrefix('10.0.0.0/8'))).toBe(0)
  })

  it('rejects values that are not relay ids', () => {
    const t = new PrefixTable()
    try {
      t.insert(parsePrefix('10.0.0.0/8'), -1)
      expect.unreachable()
    } catch (err) {
      expect((err as Error).name).toBe('PrefixValueError')
      expect(err).toBeInstanceOf(PrefixValueError)
    }
  })
})

describe('parsePrefix', () => {
  it('round-trips IPv4 and IPv6 prefixes through text', () => {
    for (const text of ['198.18.0.0/15', '0.0.0.0/0', '10.1.2.3/32', '2001:db8::/32', '::/0', '2001:db8::1/128', 'fe80::/10', '2001:db8:0:1::/64', '::ffff:198.18.0.0/112']) {
      const p = parsePrefix(text)
      expect(formatPrefix(parsePrefix(formatPrefix(p)))).toBe(formatPrefix(p))
    }
    expect(formatPrefix(parsePrefix('2001:0DB8:0000:0000:0000:0000:0000:0000/32'))).toBe('2001:db8::/32')
    expect(formatPrefix(parsePrefix('2001:db8:0:0:1:0:0:1/128'))).toBe('2001:db8::1:0:0:1/128')
    expect(Array.from(parsePrefix('::ffff:198.18.0.0/112').bytes.subarray(10))).toEqual([0xff, 0xff, 198, 18, 0, 0])
  })

  const bad: [string, string, RegExp][] = [
    ['198.18.0.0/14', 'host_bits_set', /use 198\.16\.0\.0\/14/],
    ['198.18.0.1/15', 'host_bits_set', /use 198\.18\.0\.0\/15/],
    ['2001:db8::1/32', 'host_bits_set', /use 2001:db8::\/32/],
    ['198.18.0.0', 'missing_length', /198\.18\.0\.0\/32/],
    ['2001:db8::1', 'missing_length', /2001:db8::1\/128/],
    ['198.18.0.0/33', 'bad_length', /0 to 32/],
    ['2001:db8::/129', 'bad_length', /0 to 128/],
    ['198.18.0.0/x', 'bad_length', /0 to 32/],
    ['198.18.0/16', 'bad_address', /dotted quad/],
    ['198.018.0.0/16', 'bad_address', /dotted quad/],
    ['256.0.0.0/8', 'bad_address', /dotted quad/],
    ['2001:db8:::/32', 'bad_address', /IPv6/],
    ['1:2:3:4:5:6:7:8:9/128', 'bad_address', /IPv6/],
    ['1::2::3/128', 'bad_address', /IPv6/],
    ['12345::/16', 'bad_address', /IPv6/],
  ]
  for (const [text, problem, fix] of bad) {
    it(`rejects ${text} as ${problem} with a fix`, () => {
      try {
        parsePrefix(text)
        expect.unreachable()
      } catch (err) {
        expect(err).toBeInstanceOf(PrefixParseError)
        const e = err as PrefixParseError
        expect(e.name).toBe('PrefixParseError')
        expect(e.problem).toBe(problem)
        expect(e.input).toBe(text)
        expect(e.fix).toMatch(fix)
      }
    })
  }
})
