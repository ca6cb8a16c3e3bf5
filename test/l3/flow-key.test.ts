import { describe, expect, it } from 'vitest'
import { copyFlowKey, FlowKey, flowKeyEquals, flowKeyOf } from '../../src/l3/flow-key.js'
import { IpPacket, parseIpPacket } from '../../src/l3/ip-packet.js'
import { buildV4, buildV6, fragHeader } from './packets.js'

function keyOf(b: Buffer, seed = 0): FlowKey {
  const pkt = new IpPacket()
  expect(parseIpPacket(b, 0, b.length, pkt)).toBeGreaterThan(0)
  const k = new FlowKey()
  flowKeyOf(b, pkt, k, seed)
  return k
}

const udp = (sport: number, dport: number) => [sport >> 8, sport & 255, dport >> 8, dport & 255, 0, 8, 0, 0]

describe('flowKeyOf', () => {
  it('gives packets of one UDP flow the same key and hash', () => {
    const a = keyOf(buildV4({ payload: [...udp(5000, 53), 1, 2] , id: 1 }))
    const b = keyOf(buildV4({ payload: [...udp(5000, 53), 9, 9, 9, 9], id: 2, ttl: 3 }))
    expect(flowKeyEquals(a, b)).toBe(true)
    expect(a.hash).toBe(b.hash)
    expect(a).toMatchObject({ version: 4, protocol: 17, withPorts: true, srcPort: 5000, dstPort: 53 })
  })

  it('separates flows by each element of the 5-tuple', () => {
    const base = keyOf(buildV4({ payload: udp(5000, 53) }))
    const variants = [
      buildV4({ payload: udp(5001, 53) }),
      buildV4({ payload: udp(5000, 54) }),
      buildV4({ payload: udp(5000, 53), src: '10.1.2.4' }),
      buildV4({ payload: udp(5000, 53), dst: '198.18.5.7' }),
      buildV4({ payload: udp(5000, 53), protocol: 6 }),
      buildV4({ payload: udp(53, 5000) }),
    ]
    for (const v of variants) expect(flowKeyEquals(base, keyOf(v))).toBe(false)
  })

  it('uses the address pair and protocol for ICMP', () => {
    const a = keyOf(buildV4({ protocol: 1, payload: [8, 0, 0, 0, 0, 1, 0, 1] }))
    const b = keyOf(buildV4({ protocol: 1, payload: [8, 0, 0, 0, 0, 2, 0, 9] }))
    expect(a.withPorts).toBe(false)
    expect(flowKeyEquals(a, b)).toBe(true)
  })

  it('keys a first fragment by its ports and later fragments by addresses only', () => {
    const first = keyOf(buildV4({ mf: true, payload: [...udp(5000, 53), 0, 0, 0, 0, 0, 0, 0, 0] }))
    const later = keyOf(buildV4({ fragOffsetBytes: 16, payload: [1, 2, 3] }))
    const laterOther = keyOf(buildV4({ fragOffsetBytes: 800, payload: [7] }))
    expect(first.withPorts).toBe(true)
    expect(later.withPorts).toBe(false)
    expect(flowKeyEquals(later, laterOther)).toBe(true)
    expect(flowKeyEquals(first, later)).toBe(false)
  })

  it('keys IPv6 flows on all 128 bits of both addresses', () => {
    const a = keyOf(buildV6({ src: '2001:db8::1' }))
    const b = keyOf(buildV6({ src: '2001:db8::1:0:0:1' }))
    const c = keyOf(buildV6({ src: '2001:db8::1' }))
    expect(flowKeyEquals(a, b)).toBe(false)
    expect(flowKeyEquals(a, c)).toBe(true)
    expect(a.src[3]).toBe(1)
  })

  it('does not confuse an IPv4 key with an IPv6 key of the same leading words', () => {
    const v4 = keyOf(buildV4({ src: '32.1.13.184', dst: '0.0.0.0', payload: udp(1, 2) }))
    const v6 = keyOf(buildV6({ src: '2001:db8::', dst: '::', payload: udp(1, 2) }))
    expect(v4.src[0]).toBe(v6.src[0])
    expect(flowKeyEquals(v4, v6)).toBe(false)
  })

  it('non-first IPv6 fragments use the address pair', () => {
    const a = keyOf(buildV6({ nextHeader: 44, ext: fragHeader(17, 8, false, 1), payload: [1] }))
    expect(a.withPorts).toBe(false)
  })

  it('changes every hash with the seed but never equality', () => {
    const b = buildV4()
    const k0 = keyOf(b, 0)
    const k1 = keyOf(b, 12345)
    expect(k0.hash).not.toBe(k1.hash)
    expect(flowKeyEquals(k1, copyFlowKey(k1, new FlowKey()))).toBe(true)
  })

  it('spreads sequential ports evenly over 64 buckets', () => {
    const counts = new Array(64).fill(0)
    for (let p = 0; p < 6400; p++) counts[keyOf(buildV4({ payload: udp(10000 + p, 443) })).hash & 63]++
    expect(Math.min(...counts)).toBeGreaterThan(60)
    expect(Math.max(...counts)).toBeLessThan(140)
  })
})
