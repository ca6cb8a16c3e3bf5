import { describe, expect, it } from 'vitest'
import { IpPacket, parseIpPacket } from '../../src/l3/ip-packet.js'
import { decrementTtl, TTL_EXPIRED } from '../../src/l3/ttl.js'
import { buildV4, buildV6, refChecksum, rng } from './packets.js'

describe('decrementTtl', () => {
  it('decrements an IPv4 TTL and keeps the header valid', () => {
    const b = buildV4({ ttl: 64 })
    expect(decrementTtl(b, 0)).toBe(63)
    expect(b[8]).toBe(63)
    expect(parseIpPacket(b, 0, b.length, new IpPacket())).toBe(b.length)
  })

  it('decrements an IPv6 hop limit at an offset', () => {
    const b = Buffer.concat([Buffer.alloc(4), buildV6({ hopLimit: 2 })])
    expect(decrementTtl(b, 4)).toBe(1)
    expect(b[4 + 7]).toBe(1)
  })

  for (const ttl of [0, 1]) {
    it(`reports TTL ${ttl} as expired and leaves the packet untouched`, () => {
      for (const b of [buildV4({ ttl }), buildV6({ hopLimit: ttl })]) {
        const before = Buffer.from(b)
        expect(decrementTtl(b, 0)).toBe(TTL_EXPIRED)
        expect(b.equals(before)).toBe(true)
      }
    })
  }

  it('updates the checksum incrementally exactly as a full recompute on random headers', () => {
    const rand = rng(42)
    for (let n = 0; n < 5000; n++) {
      const hl = 20 + 4 * Math.floor(rand() * 11)
      const b = Buffer.alloc(hl)
      for (let i = 0; i < hl; i++) b[i] = Math.floor(rand() * 256)
      b[0] = 0x40 | (hl / 4)
      b[8] = 2 + Math.floor(rand() * 254)
      // Include the edge words: TTL/protocol words that wrap, and all-ones/zero checksums.
      if (n % 7 === 0) b[9] = 0xff
      if (n % 11 === 0) b[9] = 0
      b.writeUInt16BE(0, 10)
      b.writeUInt16BE(refChecksum(b), 10)
      const expected = Buffer.from(b)
      expected[8]--
      expected.writeUInt16BE(0, 10)
      expected.writeUInt16BE(refChecksum(expected), 10)
      decrementTtl(b, 0)
      expect(b.readUInt16BE(10)).toBe(expected.readUInt16BE(10))
      expect(refChecksum(b)).toBe(0)
    }
  })
})
