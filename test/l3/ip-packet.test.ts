import { describe, expect, it } from 'vitest'
import { IpPacket, IP_ERROR_NAMES, parseIpPacket } from '../../src/l3/ip-packet.js'
import { buildV4, buildV6, ext8, fragHeader, refChecksum } from './packets.js'

function parse(b: Uint8Array, offset = 0, length = b.length - offset): { code: number; pkt: IpPacket } {
  const pkt = new IpPacket()
  return { code: parseIpPacket(b, offset, length, pkt), pkt }
}

function errorName(b: Uint8Array, length?: number): string {
  const { code } = parse(b, 0, length)
  return code < 0 ? IP_ERROR_NAMES[code] : 'ok'
}

/** Rewrites the IPv4 checksum after a test mutated the header. */
function fixV4(b: Buffer): Buffer {
  const hl = (b[0] & 15) * 4
  b.writeUInt16BE(0, 10)
  b.writeUInt16BE(refChecksum(b.subarray(0, Math.min(hl, b.length))), 10)
  return b
}

describe('parseIpPacket: IPv4', () => {
  it('reads every field of a UDP packet', () => {
    const b = buildV4({ src: '10.1.2.3', dst: '198.18.5.6', ttl: 17, id: 0xbeef, df: true })
    const { code, pkt } = parse(b)
    expect(code).toBe(b.length)
    expect(pkt).toMatchObject({
      version: 4, offset: 0, totalLen: 32, headerLen: 20, l4Offset: 20, protocol: 17, ttl: 17,
      dontFragment: true, isFragment: false, moreFragments: false, fragOffset: 0, fragId: 0xbeef,
      srcOffset: 12, dstOffset: 16, addrLen: 4, src4: 0x0a010203, dst4: 0xc6120506,
      srcPort: 12345, dstPort: 53, icmpType: -1,
    })
  })

  it('parses at an offset and ignores bytes after the total length', () => {
    const b = buildV4()
    const framed = Buffer.concat([Buffer.alloc(7, 0xee), b, Buffer.alloc(5, 0xee)])
    const { code, pkt } = parse(framed, 7)
    expect(code).toBe(b.length)
    expect(pkt.offset).toBe(7)
    expect(pkt.srcOffset).toBe(19)
    expect(pkt.l4Offset).toBe(27)
  })

  it('skips options to find the ports', () => {
    const b = buildV4({ options: [0x94, 4, 0, 0] }) // router alert
    const { pkt } = parse(b)
    expect(pkt.headerLen).toBe(24)
    expect(pkt.srcPort).toBe(12345)
  })

  it('reads the ICMP type and no ports for ICMP', () => {
    const { pkt } = parse(buildV4({ protocol: 1, payload: [8, 0, 0, 0, 0, 1, 0, 1] }))
    expect(pkt.icmpType).toBe(8)
    expect(pkt.srcPort).toBe(-1)
  })

  it('reports fragments: first has ports, non-first has none', () => {
    const first = parse(buildV4({ mf: true, payload: new Uint8Array(16).fill(7) })).pkt
    expect(first).toMatchObject({ isFragment: true, moreFragments: true, fragOffset: 0, srcPort: 0x0707 })
    const later = parse(buildV4({ fragOffsetBytes: 1480, payload: [1, 2, 3, 4, 5] })).pkt
    expect(later).toMatchObject({ isFragment: true, moreFragments: false, fragOffset: 1480, srcPort: -1, dstPort: -1 })
  })

  // Numbered table: each malformed packet and the reason it is dropped for.
  const cases: [string, () => Uint8Array, string, number?][] = [
    ['1 empty buffer', () => new Uint8Array(0), 'truncated'],
    ['2 shorter than 20 bytes', () => buildV4().subarray(0, 19), 'truncated'],
    ['3 version 5', () => fixV4(Object.assign(buildV4(), { 0: 0x55 })), 'bad_version'],
    ['4 IHL 4', () => fixV4(Object.assign(buildV4(), { 0: 0x44 })), 'bad_ihl'],
    ['5 IHL beyond the buffer', () => fixV4(Object.assign(buildV4(), { 0: 0x4f })), 'truncated'],
    ['6 total length below IHL', () => { const b = buildV4(); b.writeUInt16BE(19, 2); return fixV4(b) }, 'bad_total_length'],
    ['7 total length beyond the buffer', () => { const b = buildV4(); b.writeUInt16BE(b.length + 1, 2); return fixV4(b) }, 'truncated'],
    ['8 length argument shorter than total length', () => buildV4(), 'truncated', 31],
    ['9 checksum off by one', () => { const b = buildV4(); b[11] ^= 1; return b }, 'bad_checksum'],
    ['10 TTL changed without checksum', () => { const b = buildV4(); b[8]--; return b }, 'bad_checksum'],
    ['11 MF with 12 data bytes (not a multiple of 8)', () => buildV4({ mf: true }), 'bad_fragment'],
    ['12 fragment past 64 KiB', () => buildV4({ fragOffsetBytes: 65528, payload: new Uint8Array(16) }), 'bad_fragment'],
    ['13 TCP fragment at offset 8 (RFC 1858)', () => buildV4({ protocol: 6, fragOffsetBytes: 8 }), 'bad_fragment'],
    ['14 UDP with 3 payload bytes', () => buildV4({ payload: [1, 2, 3] }), 'truncated_transport'],
    ['15 version nibble 0', () => new Uint8Array(40), 'bad_version'],
  ]
  for (const [name, make, want, length] of cases) {
    it(`drops ${name} as ${want}`, () => expect(errorName(make(), length)).toBe(want))
  }

  it('never throws on random bytes', () => {
    const b = Buffer.alloc(80)
    for (let i = 0; i < 2000; i++) {
      for (let j = 0; j < b.length; j++) b[j] = (i * 131 + j * 71 + ((i * j) >> 3)) & 0xff
      b[0] = (i & 1 ? 0x40 : 0x60) | (b[0] & 0x0f)
      expect(() => parse(b, 0, i % 81)).not.toThrow()
    }
  })
})

describe('parseIpPacket: IPv6', () => {
  it('reads every field of a UDP packet', () => {
    const b = buildV6({ hopLimit: 3 })
    const { code, pkt } = parse(b)
    expect(code).toBe(52)
    expect(pkt).toMatchObject({
      version: 6, totalLen: 52, headerLen: 40, l4Offset: 40, protocol: 17, ttl: 3, dontFragment: false,
      isFragment: false, fragHeaderOffset: -1, srcOffset: 8, dstOffset: 24, addrLen: 16, srcPort: 12345, dstPort: 53,
    })
  })

  it('walks hop-by-hop, routing and destination options to the upper layer', () => {
    const ext = [...ext8(43), ...ext8(60), ...ext8(6)]
    const { pkt } = parse(buildV6({ nextHeader: 0, ext, payload: new Uint8Array(20).fill(9) }))
    expect(pkt.protocol).toBe(6)
    expect(pkt.headerLen).toBe(64)
    expect(pkt.srcPort).toBe(0x0909)
  })

  it('walks an AH header using its 4-byte length unit', () => {
    const ah = [17, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] // (4 + 2) * 4 = 24 bytes
    const { pkt } = parse(buildV6({ nextHeader: 51, ext: ah }))
    expect(pkt.headerLen).toBe(64)
    expect(pkt.protocol).toBe(17)
  })

  it('keeps walking after the Fragment header of a first fragment', () => {
    const { pkt } = parse(buildV6({ nextHeader: 44, ext: [...fragHeader(60, 0, true, 0xdeadbeef), ...ext8(17)], payload: new Uint8Array(8).fill(1) }))
    expect(pkt).toMatchObject({ isFragment: true, moreFragments: true, fragOffset: 0, fragId: 0xdeadbeef, fragHeaderOffset: 40, protocol: 17, srcPort: 0x0101 })
  })

  it('stops at the Fragment header of a non-first fragment', () => {
    const { pkt } = parse(buildV6({ nextHeader: 44, ext: fragHeader(17, 1232, false, 7), payload: [1, 2, 3] }))
    expect(pkt).toMatchObject({ isFragment: true, fragOffset: 1232, protocol: 17, l4Offset: 48, srcPort: -1 })
  })

  it('does not call an atomic fragment (offset 0, M 0) a fragment', () => {
    const { pkt } = parse(buildV6({ nextHeader: 44, ext: fragHeader(17, 0, false, 7) }))
    expect(pkt.isFragment).toBe(false)
    expect(pkt.srcPort).toBe(12345)
  })

  it('reads the ICMPv6 type', () => {
    expect(parse(buildV6({ nextHeader: 58, payload: [128, 0, 0, 0] })).pkt.icmpType).toBe(128)
  })

  it('treats No Next Header as an empty upper layer', () => {
    const { code, pkt } = parse(buildV6({ nextHeader: 59, payload: [] }))
    expect(code).toBe(40)
    expect(pkt.protocol).toBe(59)
  })

  const cases: [string, () => Uint8Array, string][] = [
    ['1 shorter than 40 bytes', () => buildV6().subarray(0, 39), 'truncated'],
    ['2 payload length beyond the buffer', () => { const b = buildV6(); b.writeUInt16BE(13, 4); return b }, 'truncated'],
    ['3 extension header running past the end', () => buildV6({ nextHeader: 0, ext: [17, 1, 0, 0, 0, 0, 0, 0], payload: [] }), 'truncated'],
    ['4 hop-by-hop after another header', () => buildV6({ nextHeader: 60, ext: [...ext8(0), ...ext8(17)] }), 'bad_extension_header'],
    ['5 two Fragment headers', () => buildV6({ nextHeader: 44, ext: [...fragHeader(44, 0, false, 1), ...fragHeader(17, 0, false, 1)] }), 'bad_extension_header'],
    ['6 nine extension headers', () => buildV6({ nextHeader: 60, ext: Array.from({ length: 9 }, (_, i) => ext8(i === 8 ? 17 : 60)).flat() }), 'too_many_extension_headers'],
    ['7 M set with 12 data bytes', () => buildV6({ nextHeader: 44, ext: fragHeader(17, 0, true, 1) }), 'bad_fragment'],
    ['8 first fragment cut inside the header chain', () => buildV6({ nextHeader: 44, ext: fragHeader(60, 0, true, 1), payload: [17, 2, 0, 0, 0, 0, 0, 0] }), 'truncated'],
    ['9 TCP with 2 bytes', () => buildV6({ nextHeader: 6, payload: [1, 2] }), 'truncated_transport'],
  ]
  for (const [name, make, want] of cases) {
    it(`drops ${name} as ${want}`, () => expect(errorName(make())).toBe(want))
  }

  it('accepts eight extension headers', () => {
    const ext = Array.from({ length: 8 }, (_, i) => ext8(i === 7 ? 17 : 60)).flat()
    expect(errorName(buildV6({ nextHeader: 60, ext }))).toBe('ok')
  })
})
