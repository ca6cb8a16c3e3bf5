/**
 * Property tests of the L3 packet core (l3/): the IPv4/IPv6 parser on any
 * bytes and on mutations of valid packets (IPv4 checksum recomputed on half,
 * so they get past it), and what the data path then does with a parsed
 * packet: flow key, TTL, MSS clamp, fragmentation, ICMP errors.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fixIpv4Checksum, ipPacket } from '../../bench/fuzz/messages.js'
import { Rng } from '../../bench/fuzz/rng.js'
import {
  FlowKey,
  Fragments,
  ICMPV4_MAX_ERROR_LEN,
  ICMPV6_MAX_ERROR_LEN,
  ICMP_REFUSAL_NAMES,
  IP_ERROR_NAMES,
  IpPacket,
  PROTO_ICMP,
  PROTO_ICMPV6,
  buildTimeExceeded,
  buildTooBig,
  clampTcpMss,
  decrementTtl,
  flowKeyOf,
  fragmentIpv4,
  parseIpPacket,
} from '../../src/l3/index.js'
import { bytes, mutate, mutations, RUNS } from '../bench/mutations.js'

const KNOWN = new Set(Object.keys(IP_ERROR_NAMES).map(Number))
const REFUSALS = new Set(Object.keys(ICMP_REFUSAL_NAMES).map(Number))

/** A valid IPv4 or IPv6 packet (bench/fuzz/messages.ts), drawn from a seed. */
const validPacket = fc.nat().map((seed) => ipPacket(new Rng(seed)))
const mutatedPacket = fc.tuple(validPacket, mutations, fc.boolean()).map(([p, ops, fix]) => {
  const m = mutate(p, ops)
  if (fix) fixIpv4Checksum(m)
  return m
})

/** Checks the parsed view stays inside buf[off, off + n). */
function expectInBounds(pkt: IpPacket, off: number, n: number): void {
  const end = off + n
  expect(pkt.totalLen).toBe(n)
  expect(pkt.l4Offset).toBeGreaterThanOrEqual(off)
  expect(pkt.l4Offset).toBeLessThanOrEqual(end)
  expect(pkt.srcOffset + pkt.addrLen).toBeLessThanOrEqual(end)
  expect(pkt.dstOffset + pkt.addrLen).toBeLessThanOrEqual(end)
  if (pkt.srcPort >= 0) expect(pkt.l4Offset + 4).toBeLessThanOrEqual(end)
}

describe('IP packet parser under fuzzing', () => {
  it('never throws on any bytes at any offset: a total length within the buffer or a named error', () => {
    fc.assert(
      fc.property(bytes(200), fc.nat(8), (b, off) => {
        const o = Math.min(off, b.length)
        const pkt = new IpPacket()
        const n = parseIpPacket(b, o, b.length - o, pkt)
        if (n < 0) expect(KNOWN.has(n)).toBe(true)
        else expectInBounds(pkt, o, n)
      }),
      { numRuns: RUNS },
    )
  })

  it('parses every valid packet whole', () => {
    fc.assert(
      fc.property(validPacket, (b) => {
        const pkt = new IpPacket()
        const n = parseIpPacket(b, 0, b.length, pkt)
        // The generator may build fragment fields RFC 791 forbids (e.g. MF with a ragged length): those are refused by name.
        if (n < 0) expect(KNOWN.has(n)).toBe(true)
        else {
          expect(n).toBe(b.length)
          expect(pkt.version).toBe(b[0] >> 4)
        }
      }),
      { numRuns: RUNS },
    )
  })

  it('a mutated packet is refused by name or parsed within its bytes', () => {
    fc.assert(
      fc.property(mutatedPacket, (b) => {
        const pkt = new IpPacket()
        const n = parseIpPacket(b, 0, b.length, pkt)
        if (n < 0) expect(KNOWN.has(n)).toBe(true)
        else expectInBounds(pkt, 0, n)
      }),
      { numRuns: RUNS },
    )
  })
})

describe('what the L3 data path does with a parsed packet, under fuzzing', () => {
  it('flow key, TTL decrement, MSS clamp and fragmentation never throw and keep the packet parseable', () => {
    const frags = new Fragments(64)
    const out = Buffer.alloc(70_000)
    fc.assert(
      fc.property(mutatedPacket, fc.integer({ min: 68, max: 1500 }), (b, mtu) => {
        const pkt = new IpPacket()
        const n = parseIpPacket(b, 0, b.length, pkt)
        if (n < 0) return
        flowKeyOf(b, pkt, new FlowKey(), 7)
        decrementTtl(b, 0)
        clampTcpMss(b, pkt, 1200)
        const again = new IpPacket()
        expect(parseIpPacket(b, 0, b.length, again)).toBe(n)
        if (pkt.version !== 4) return
        const count = fragmentIpv4(b, pkt, mtu, out, 0, frags)
        for (let i = 0; i < count; i++) {
          expect(frags.lengths[i]).toBeLessThanOrEqual(mtu)
          expect(parseIpPacket(out, frags.offsets[i], frags.lengths[i], new IpPacket())).toBe(frags.lengths[i])
        }
      }),
      { numRuns: RUNS },
    )
  })

  it('ICMP errors are refused by name or are one valid ICMP packet within the RFC size limit, never about an ICMP error', () => {
    const out = Buffer.alloc(ICMPV6_MAX_ERROR_LEN)
    const relay4 = Uint8Array.from([10, 255, 0, 1])
    const relay6 = Uint8Array.from([0xfd, 0, ...Array(13).fill(0), 1])
    fc.assert(
      fc.property(mutatedPacket, fc.boolean(), (b, tooBig) => {
        const pkt = new IpPacket()
        if (parseIpPacket(b, 0, b.length, pkt) < 0) return
        const src = pkt.version === 4 ? relay4 : relay6
        const len = tooBig ? buildTooBig(out, 0, b, pkt, src, 1280) : buildTimeExceeded(out, 0, b, pkt, src)
        if (len < 0) {
          expect(REFUSALS.has(len)).toBe(true)
          return
        }
        expect(len).toBeLessThanOrEqual(pkt.version === 4 ? ICMPV4_MAX_ERROR_LEN : ICMPV6_MAX_ERROR_LEN)
        const err = new IpPacket()
        expect(parseIpPacket(out, 0, len, err)).toBe(len)
        expect(err.protocol).toBe(pkt.version === 4 ? PROTO_ICMP : PROTO_ICMPV6)
        // About an ICMP error we must say nothing (RFC 1122 3.2.2): two relays would answer each other forever.
        if (pkt.protocol === err.protocol) {
          const t = pkt.icmpType
          // ICMPv6 errors are types below 128 (RFC 4443 2.1); ICMPv4 ones 3, 4, 5, 11, 12, and unknown types count as errors.
          expect(pkt.version === 4 ? t >= 0 && t <= 18 && ![3, 4, 5, 11, 12].includes(t) : t >= 128).toBe(true)
        }
      }),
      { numRuns: RUNS },
    )
  })
})
