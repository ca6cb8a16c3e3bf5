/**
 * Attacks on the TWAMP-Light reflector (issue 14, point 6), on the sans-IO
 * core: addresses are strings here, nothing is sent anywhere.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parsePrefix } from '../../src/l3/prefix.js'
import { DEFAULT_TEST_PACKET_BYTES, R_HEADER_BYTES, S_MBZ_BYTES, S_OFF_MBZ, TwampReflectorCore, TwampSender } from '../../src/origin/index.js'
import { REFLECTOR_BURST, ReflectorGuard } from '../../src/origin/reflector-guard.js'

const T = 3_900_000_000_000 // an NTP-era ms time stamp; its value does not matter here

function reflector(listenPort: number, allow: string[] = []): TwampReflectorCore {
  return new TwampReflectorCore(new ReflectorGuard({ listenPort, allow: allow.map(parsePrefix) }))
}

function senderPacket(): Buffer {
  const s = new TwampSender({ service: 'svc' })
  return Buffer.from(s.tick(0).packet!)
}

/**
 * R1 at a1:p1 and R2 at a2:p2. The attacker sends R2 one packet with R1's
 * address as the source; each reply goes to the other reflector. Returns how
 * many replies were sent before the exchange stopped (at most `maxHops`).
 */
function bounce(r1: TwampReflectorCore, a1: string, p1: number, r2: TwampReflectorCore, a2: string, p2: number, maxHops = 1_000): number {
  let pkt = senderPacket()
  const out = Buffer.alloc(2048)
  let hops = 0
  let to = { r: r2, fromAddr: a1, fromPort: p1 }
  const other = (r: TwampReflectorCore) => (r === r2 ? { r: r1, fromAddr: a2, fromPort: p2 } : { r: r2, fromAddr: a1, fromPort: p1 })
  while (hops < maxHops) {
    const n = to.r.handle(to.fromAddr, to.fromPort, hops, pkt, pkt.length, T, T, 255, out)
    if (n === 0) break
    expect(n).toBeLessThanOrEqual(pkt.length)
    hops++
    pkt = Buffer.from(out.subarray(0, n))
    to = other(to.r)
  }
  return hops
}

describe('TWAMP reflector defences', () => {
  it('a spoofed R1:862 -> R2:862 packet does not loop between two reflectors', () => {
    const r1 = reflector(862)
    const r2 = reflector(862)
    expect(bounce(r1, '192.0.2.1', 862, r2, '192.0.2.2', 862)).toBe(0)
    expect(r2.counters.reflector_port).toBe(1)
  })

  it('two reflectors on unprivileged ports stop after one reply: a reply is no sender packet (MBZ)', () => {
    const r1 = reflector(8620)
    const r2 = reflector(8621)
    expect(bounce(r1, '192.0.2.1', 8620, r2, '192.0.2.2', 8621)).toBe(1)
    expect(r1.counters.mbz_nonzero).toBe(1)
  })

  it('drops a request whose must-be-zero bytes are not zero, and answers the same one with zeros', () => {
    const r = reflector(862)
    const out = Buffer.alloc(2048)
    for (const at of [S_OFF_MBZ, S_OFF_MBZ + S_MBZ_BYTES - 1]) {
      const pkt = senderPacket()
      pkt[at] = 1
      expect(r.handle('192.0.2.9', 40000, 0, pkt, pkt.length, T, T, 255, out)).toBe(0)
    }
    expect(r.counters.mbz_nonzero).toBe(2)
    const ok = senderPacket()
    expect(r.handle('192.0.2.9', 40000, 0, ok, ok.length, T, T, 255, out)).toBe(ok.length)
    // Padding after the MBZ bytes may be anything.
    ok[R_HEADER_BYTES] = 0xff
    expect(r.handle('192.0.2.9', 40000, 0, ok, ok.length, T, T, 255, out)).toBe(ok.length)
  })

  it('answers only sources inside --allow prefixes (IPv4-mapped IPv6 included)', () => {
    const r = reflector(862, ['192.0.2.0/24', '2001:db8::/32'])
    const out = Buffer.alloc(2048)
    const pkt = senderPacket()
    const answer = (addr: string) => r.handle(addr, 40000, 0, pkt, pkt.length, T, T, 255, out)
    expect(answer('198.51.100.1')).toBe(0)
    expect(answer('2001:db9::1')).toBe(0)
    expect(answer('192.0.2.200')).toBe(pkt.length)
    expect(answer('::ffff:192.0.2.5')).toBe(pkt.length)
    expect(answer('2001:db8:1::5')).toBe(pkt.length)
    expect(r.counters.not_allowed).toBe(2)
  })

  it('drops source ports of servers: 862, any below 1024, and its own listen port', () => {
    const r = reflector(8620)
    const out = Buffer.alloc(2048)
    const pkt = senderPacket()
    for (const port of [0, 7, 19, 123, 862, 1023, 8620]) expect(r.handle('192.0.2.3', port, 0, pkt, pkt.length, T, T, 255, out)).toBe(0)
    expect(r.counters.reflector_port).toBe(7)
    expect(r.handle('192.0.2.3', 1024, 0, pkt, pkt.length, T, T, 255, out)).toBe(pkt.length)
  })

  it('rate-limits each source address without starving the others', () => {
    const r = reflector(862)
    const out = Buffer.alloc(2048)
    const pkt = senderPacket()
    let answered = 0
    for (let i = 0; i < 1_000; i++) if (r.handle('192.0.2.66', 40000 + (i % 100), 5, pkt, pkt.length, T, T, 255, out) > 0) answered++
    expect(answered).toBe(REFLECTOR_BURST)
    expect(r.counters.rate_limited).toBe(1_000 - REFLECTOR_BURST)
    expect(r.handle('192.0.2.67', 40000, 5, pkt, pkt.length, T, T, 255, out)).toBe(pkt.length)
    // A second later the source has tokens again.
    expect(r.handle('192.0.2.66', 40000, 1_005, pkt, pkt.length, T, T, 255, out)).toBe(pkt.length)
  })

  it('fuzz: any datagram from any source gets no reply or one of exactly its size, and never throws', () => {
    const r = reflector(862, ['192.0.2.0/24'])
    const out = Buffer.alloc(2048)
    const sources = fc.constantFrom('192.0.2.1', '192.0.2.250', '198.51.100.1', '::ffff:192.0.2.9', '2001:db8::1', 'garbage')
    const bytes = fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 1600 }),
      // Sender-shaped: a real header, then a random tail that is often all zero.
      fc.tuple(fc.uint8Array({ minLength: 14, maxLength: 14 }), fc.nat(1500), fc.boolean()).map(([head, extra, zero]) => {
        const b = new Uint8Array(head.length + extra)
        b.set(head)
        if (!zero) b[14 + (extra % Math.max(1, extra))] = 1
        return b
      }),
    )
    let reflected = 0
    fc.assert(
      fc.property(bytes, sources, fc.integer({ min: 0, max: 65535 }), fc.nat(10_000), (req, src, port, nowMs) => {
        const n = r.handle(src, port, nowMs, req, req.length, T, T, 255, out)
        if (n === 0) return
        reflected++
        expect(n).toBe(req.length)
        expect(port).toBeGreaterThanOrEqual(1024)
        expect(src.endsWith('192.0.2.1') || src.startsWith('192.0.2.') || src === '::ffff:192.0.2.9').toBe(true)
        expect(req.subarray(S_OFF_MBZ, S_OFF_MBZ + S_MBZ_BYTES).every((b) => b === 0)).toBe(true)
      }),
      { numRuns: 5_000, seed: 862 },
    )
    expect(reflected).toBeGreaterThan(0)
    expect(DEFAULT_TEST_PACKET_BYTES).toBeGreaterThanOrEqual(R_HEADER_BYTES)
  })
})
