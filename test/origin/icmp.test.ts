import { describe, expect, it } from 'vitest'
import { internetChecksum } from '../../src/l3/checksum.js'
import { buildEcho6Request, buildEchoRequest, ICMP6_ECHO_REPLY, ICMP6_ECHO_REQUEST, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, isEchoReplyTo, parseEcho, parseEcho6Reply } from '../../src/origin/icmp.js'

/** What a Linux raw socket hands back for a reply: 20-byte IPv4 header + ICMP. */
function replyFor(request: Uint8Array, withIpHeader = true): Uint8Array {
  const icmp = Uint8Array.from(request)
  icmp[0] = ICMP_ECHO_REPLY
  icmp[2] = icmp[3] = 0
  const c = internetChecksum(icmp, 0, icmp.length)
  icmp[2] = c >> 8
  icmp[3] = c & 0xff
  if (!withIpHeader) return icmp
  const out = new Uint8Array(20 + icmp.length)
  out[0] = 0x45
  out.set(icmp, 20)
  return out
}

describe('ICMP echo codec', () => {
  it('computes the RFC 1071 example checksum', () => {
    // RFC 1071 §3: words 0001 f203 f4f5 f6f7 sum to ddf2, checksum is its complement.
    const words = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])
    expect(internetChecksum(words, 0, words.length)).toBe(~0xddf2 & 0xffff)
  })

  it('builds a request whose checksum verifies, odd payloads included', () => {
    const buf = new Uint8Array(64)
    const len = buildEchoRequest(buf, 0xbeef, 513, Uint8Array.from([1, 2, 3]))
    expect(len).toBe(11)
    expect(internetChecksum(buf, 0, len)).toBe(0)
    expect(parseEcho(buf, len)).toEqual({ type: ICMP_ECHO_REQUEST, code: 0, id: 0xbeef, seq: 513, payloadOffset: 8, payloadLength: 3 })
  })

  it('matches a reply by id and seq, with or without the IPv4 header', () => {
    const buf = new Uint8Array(16)
    const len = buildEchoRequest(buf, 7, 9, new Uint8Array(8).fill(0xab))
    const req = buf.subarray(0, len)
    expect(isEchoReplyTo(replyFor(req), 7, 9)).toBe(true)
    expect(isEchoReplyTo(replyFor(req, false), 7, 9)).toBe(true)
    expect(parseEcho(replyFor(req))?.payloadOffset).toBe(28)
    expect(isEchoReplyTo(replyFor(req), 7, 10)).toBe(false)
    expect(isEchoReplyTo(replyFor(req), 8, 9)).toBe(false)
    expect(isEchoReplyTo(req, 7, 9)).toBe(false) // a request is not a reply
  })

  it('drops truncated, corrupted and non-echo messages', () => {
    const buf = new Uint8Array(16)
    const len = buildEchoRequest(buf, 1, 1, new Uint8Array(8))
    const reply = replyFor(buf.subarray(0, len))
    expect(parseEcho(reply.subarray(0, 27))).toBeUndefined()
    const bad = Uint8Array.from(reply)
    bad[30] ^= 1
    expect(parseEcho(bad)).toBeUndefined()
    const unreachable = Uint8Array.from(reply)
    unreachable[20] = 3
    expect(parseEcho(unreachable)).toBeUndefined()
    expect(parseEcho(new Uint8Array(0))).toBeUndefined()
    expect(parseEcho(reply, reply.length + 1)).toBeUndefined()
  })
})

describe('ICMPv6 echo codec', () => {
  // Table: what a raw ICMPv6 socket may hand over (no IPv6 header; the kernel checked the checksum).
  const reply = (id: number, seq: number, extra: number[] = []): Uint8Array => Uint8Array.from([ICMP6_ECHO_REPLY, 0, 0xab, 0xcd, id >> 8, id & 0xff, seq >> 8, seq & 0xff, ...extra])
  const cases: [string, Uint8Array, boolean][] = [
    ['1: an echo reply', reply(0x1234, 7), true],
    ['2: an echo reply with payload', reply(1, 2, [9, 9, 9]), true],
    ['3: truncated to 7 bytes', reply(1, 2).subarray(0, 7), false],
    ['4: an echo request (ours, looped back)', Uint8Array.from([ICMP6_ECHO_REQUEST, 0, 0, 0, 0, 1, 0, 2]), false],
    ['5: neighbour solicitation', Uint8Array.from([135, 0, 0, 0, 0, 0, 0, 0, ...new Array(16).fill(0)]), false],
    ['6: a reply with a nonzero code', Uint8Array.from([ICMP6_ECHO_REPLY, 1, 0, 0, 0, 1, 0, 2]), false],
    ['7: empty', new Uint8Array(0), false],
  ]
  for (const [name, bytes, ok] of cases) {
    it(`parses ${name}: ${ok ? 'accepted' : 'refused'}`, () => {
      const m = parseEcho6Reply(bytes)
      expect(m !== undefined).toBe(ok)
      if (m) expect(m.payloadOffset + m.payloadLength).toBe(bytes.length)
    })
  }

  it('builds an echo request the kernel completes (checksum 0) with our id and seq', () => {
    const b = new Uint8Array(8)
    expect(buildEcho6Request(b, 0xbeef, 0x0102)).toBe(8)
    expect([...b]).toEqual([ICMP6_ECHO_REQUEST, 0, 0, 0, 0xbe, 0xef, 0x01, 0x02])
    const r = parseEcho6Reply(reply(0xbeef, 0x0102))!
    expect([r.id, r.seq]).toEqual([0xbeef, 0x0102])
  })
})
