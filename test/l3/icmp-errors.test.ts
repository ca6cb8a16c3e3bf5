import { describe, expect, it } from 'vitest'
import {
  buildTimeExceeded,
  buildTooBig,
  ICMP_REFUSAL_NAMES,
  icmpv4FragNeeded,
  icmpv4TimeExceeded,
  icmpv6PacketTooBig,
  icmpv6TimeExceeded,
} from '../../src/l3/icmp-errors.js'
import { IcmpRateLimiter } from '../../src/l3/icmp-rate-limit.js'
import { IpPacket, parseIpPacket } from '../../src/l3/ip-packet.js'
import { buildV4, buildV6, fragHeader, ip4, ip6, refChecksum, refIcmpv6Checksum } from './packets.js'

const RELAY4 = Uint8Array.from(ip4('192.0.2.1'))
const RELAY6 = Uint8Array.from(ip6('2001:db8:aa::1'))

function parsed(b: Buffer): IpPacket {
  const pkt = new IpPacket()
  expect(parseIpPacket(b, 0, b.length, pkt)).toBeGreaterThan(0)
  return pkt
}

function refusal(n: number): string {
  return n < 0 ? ICMP_REFUSAL_NAMES[n] : 'built'
}

describe('ICMPv4 errors', () => {
  it('builds Fragmentation Needed with the MTU, valid checksums and the quoted packet', () => {
    const orig = buildV4({ df: true, payload: new Uint8Array(100).fill(0x5a) })
    const out = Buffer.alloc(2048, 0xee)
    const n = icmpv4FragNeeded(out, 4, orig, parsed(orig), RELAY4, 1388)
    expect(n).toBe(20 + 8 + orig.length)
    const e = out.subarray(4, 4 + n)
    expect(refChecksum(e.subarray(0, 20))).toBe(0)
    expect(refChecksum(e.subarray(20))).toBe(0)
    expect(e.readUInt16BE(2)).toBe(n)
    expect(e[9]).toBe(1)
    expect(Array.from(e.subarray(12, 16))).toEqual(ip4('192.0.2.1'))
    expect(Array.from(e.subarray(16, 20))).toEqual(ip4('10.1.2.3'))
    expect([e[20], e[21], e.readUInt16BE(26)]).toEqual([3, 4, 1388])
    expect(e.subarray(28).equals(orig)).toBe(true)
    expect(out[3]).toBe(0xee) // nothing written before the offset
    const back = parsed(Buffer.from(e))
    expect([back.protocol, back.icmpType]).toEqual([1, 3])
  })

  it('quotes at most what fits in 576 bytes', () => {
    const orig = buildV4({ payload: new Uint8Array(1400) })
    const out = Buffer.alloc(2048)
    const n = icmpv4TimeExceeded(out, 0, orig, parsed(orig), RELAY4)
    expect(n).toBe(576)
    expect(out.subarray(28, 576).equals(orig.subarray(0, 548))).toBe(true)
    expect([out[20], out[21]]).toEqual([11, 0])
    expect(refChecksum(out.subarray(20, 576))).toBe(0)
    expect(refChecksum(out.subarray(0, 20))).toBe(0)
  })

  it('refuses when the buffer cannot hold the header plus 8 bytes, and shortens the quote when it can', () => {
    const orig = buildV4({ payload: new Uint8Array(100) })
    expect(refusal(icmpv4TimeExceeded(Buffer.alloc(55), 0, orig, parsed(orig), RELAY4))).toBe('buffer_too_small')
    expect(icmpv4TimeExceeded(Buffer.alloc(56), 0, orig, parsed(orig), RELAY4)).toBe(56)
  })
})

describe('ICMPv6 errors', () => {
  it('builds Packet Too Big with the MTU and a pseudo-header checksum', () => {
    const orig = buildV6({ payload: new Uint8Array(200).fill(3) })
    const out = Buffer.alloc(2048)
    const n = icmpv6PacketTooBig(out, 0, orig, parsed(orig), RELAY6, 1368)
    expect(n).toBe(48 + orig.length)
    const e = out.subarray(0, n)
    expect(refIcmpv6Checksum(e)).toBe(0)
    expect(e.readUInt16BE(4)).toBe(n - 40)
    expect([e[6], e[40], e[41], e.readUInt32BE(44)]).toEqual([58, 2, 0, 1368])
    expect(Array.from(e.subarray(8, 24))).toEqual(ip6('2001:db8:aa::1'))
    expect(Array.from(e.subarray(24, 40))).toEqual(ip6('2001:db8::1'))
    expect(e.subarray(48).equals(orig)).toBe(true)
  })

  it('quotes at most what fits in 1280 bytes', () => {
    const orig = buildV6({ payload: new Uint8Array(1400).fill(1) })
    const out = Buffer.alloc(2048)
    const n = icmpv6TimeExceeded(out, 0, orig, parsed(orig), RELAY6)
    expect(n).toBe(1280)
    expect([out[40], out[41]]).toEqual([3, 0])
    expect(refIcmpv6Checksum(out.subarray(0, n))).toBe(0)
    expect(out.subarray(48, 1280).equals(orig.subarray(0, 1232))).toBe(true)
  })

  it('dispatches by family and refuses a relay address of the other family', () => {
    const v4 = buildV4()
    const v6 = buildV6()
    const out = Buffer.alloc(1500)
    expect(buildTooBig(out, 0, v4, parsed(v4), RELAY4, 1388)).toBeGreaterThan(0)
    expect(buildTimeExceeded(out, 0, v6, parsed(v6), RELAY6)).toBeGreaterThan(0)
    expect(refusal(buildTooBig(out, 0, v4, parsed(v4), RELAY6, 1388))).toBe('family_mismatch')
    expect(refusal(buildTimeExceeded(out, 0, v6, parsed(v6), RELAY4))).toBe('family_mismatch')
  })
})

describe('when ICMP errors are never sent', () => {
  const out = Buffer.alloc(2048)
  const v4 = (o: Parameters<typeof buildV4>[0]) => {
    const b = buildV4(o)
    return refusal(icmpv4TimeExceeded(out, 0, b, parsed(b), RELAY4))
  }
  const v6te = (o: Parameters<typeof buildV6>[0]) => {
    const b = buildV6(o)
    return refusal(icmpv6TimeExceeded(out, 0, b, parsed(b), RELAY6))
  }
  const v6ptb = (o: Parameters<typeof buildV6>[0]) => {
    const b = buildV6(o)
    return refusal(icmpv6PacketTooBig(out, 0, b, parsed(b), RELAY6, 1280))
  }

  const table: [string, () => string, string][] = [
    ['1 about an ICMPv4 Destination Unreachable', () => v4({ protocol: 1, payload: [3, 1, 0, 0, 0, 0, 0, 0] }), 'about_icmp_error'],
    ['2 about an ICMPv4 Time Exceeded', () => v4({ protocol: 1, payload: [11, 0, 0, 0, 0, 0, 0, 0] }), 'about_icmp_error'],
    ['3 about an ICMPv4 Redirect', () => v4({ protocol: 1, payload: [5, 0, 0, 0, 0, 0, 0, 0] }), 'about_icmp_error'],
    ['4 about an ICMPv4 Parameter Problem', () => v4({ protocol: 1, payload: [12, 0, 0, 0, 0, 0, 0, 0] }), 'about_icmp_error'],
    ['5 about an unknown ICMPv4 type', () => v4({ protocol: 1, payload: [42, 0, 0, 0] }), 'about_icmp_error'],
    ['6 about an empty ICMPv4 message', () => v4({ protocol: 1, payload: [] }), 'about_icmp_error'],
    ['7 about a non-first IPv4 fragment', () => v4({ fragOffsetBytes: 8, payload: [1, 2] }), 'non_first_fragment'],
    ['8 to 0.0.0.0', () => v4({ src: '0.0.0.0' }), 'source_not_host'],
    ['9 to loopback', () => v4({ src: '127.0.0.1' }), 'source_not_host'],
    ['10 to a multicast source', () => v4({ src: '224.0.0.5' }), 'source_not_host'],
    ['11 to 255.255.255.255', () => v4({ src: '255.255.255.255' }), 'source_not_host'],
    ['12 about a packet to multicast', () => v4({ dst: '239.1.1.1' }), 'multicast_destination'],
    ['13 about a packet to broadcast', () => v4({ dst: '255.255.255.255' }), 'multicast_destination'],
    ['14 about an ICMPv6 Destination Unreachable', () => v6te({ nextHeader: 58, payload: [1, 0, 0, 0, 0, 0, 0, 0] }), 'about_icmp_error'],
    ['15 about an ICMPv6 Packet Too Big', () => v6ptb({ nextHeader: 58, payload: [2, 0, 0, 0, 0, 0, 5, 0] }), 'about_icmp_error'],
    ['16 about an ICMPv6 type 127', () => v6te({ nextHeader: 58, payload: [127, 0, 0, 0] }), 'about_icmp_error'],
    ['17 about a non-first IPv6 fragment', () => v6ptb({ nextHeader: 44, ext: fragHeader(17, 8, false, 1), payload: [1] }), 'non_first_fragment'],
    ['18 to ::', () => v6te({ src: '::' }), 'source_not_host'],
    ['19 to ::1', () => v6te({ src: '::1' }), 'source_not_host'],
    ['20 to an IPv6 multicast source', () => v6ptb({ src: 'ff02::1' }), 'source_not_host'],
    ['21 Time Exceeded about a packet to IPv6 multicast', () => v6te({ dst: 'ff0e::1' }), 'multicast_destination'],
  ]
  for (const [name, run, want] of table) it(`${name}: ${want}`, () => expect(run()).toBe(want))

  const allowed: [string, () => string][] = [
    ['ICMPv4 echo request', () => v4({ protocol: 1, payload: [8, 0, 0, 0, 0, 1, 0, 1] })],
    ['ICMPv6 echo request', () => v6te({ nextHeader: 58, payload: [128, 0, 0, 0, 0, 1, 0, 1] })],
    ['Packet Too Big about a packet to IPv6 multicast (RFC 4443 2.4 e.3)', () => v6ptb({ dst: 'ff0e::1' })],
    ['a first IPv4 fragment', () => v4({ mf: true, payload: new Uint8Array(16) })],
    ['source ::2 (not loopback)', () => v6te({ src: '::2' })],
  ]
  for (const [name, run] of allowed) it(`still answers ${name}`, () => expect(run()).toBe('built'))

  it('never answers an error it generated itself (v4 and v6)', () => {
    const o4 = buildV4({ payload: new Uint8Array(40) })
    const e4 = Buffer.alloc(600)
    const n4 = icmpv4FragNeeded(e4, 0, o4, parsed(o4), RELAY4, 1388)
    expect(refusal(icmpv4TimeExceeded(Buffer.alloc(600), 0, e4, parsed(e4.subarray(0, n4)), RELAY4))).toBe('about_icmp_error')
    const o6 = buildV6()
    const e6 = Buffer.alloc(1300)
    const n6 = icmpv6TimeExceeded(e6, 0, o6, parsed(o6), RELAY6)
    expect(refusal(icmpv6PacketTooBig(Buffer.alloc(1300), 0, e6, parsed(e6.subarray(0, n6)), RELAY6, 1280))).toBe('about_icmp_error')
  })
})

describe('IcmpRateLimiter', () => {
  it('allows a burst, then the sustained rate', () => {
    const rl = new IcmpRateLimiter({ perSecond: 10, burst: 3 })
    expect([rl.allow(0), rl.allow(0), rl.allow(0), rl.allow(0)]).toEqual([true, true, true, false])
    expect(rl.allow(50)).toBe(false) // half a token
    expect(rl.allow(100)).toBe(true)
    expect(rl.allow(100)).toBe(false)
    expect([rl.allow(10_000), rl.allow(10_000), rl.allow(10_000), rl.allow(10_000)]).toEqual([true, true, true, false])
  })
})
