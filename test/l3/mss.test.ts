import { describe, expect, it } from 'vitest'
import { IpPacket, clampTcpMss, maxMssFor, parseIpPacket } from '../../src/l3/index.js'
import { buildV4, buildV6, refChecksum, rng } from './packets.js'

const SYN = 0x02
const ACK = 0x10

/** A TCP header (20 bytes + options, padded to 4) with the given flags, then `data`. */
function tcpSegment(flags: number, options: number[], data: number[] = []): number[] {
  const padded = [...options, ...Array((4 - (options.length % 4)) % 4).fill(0)]
  const hl = 20 + padded.length
  return [0x30, 0x39, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, (hl / 4) << 4, flags, 0xff, 0xff, 0, 0, 0, 0, ...padded, ...data]
}

/** TCP checksum over the pseudo-header, computed independently of src/l3. */
function refTcpChecksum(pkt: Buffer): number {
  const v6 = pkt[0] >> 4 === 6
  const l4 = v6 ? 40 : (pkt[0] & 0xf) * 4
  const seg = Buffer.from(pkt.subarray(l4))
  seg.writeUInt16BE(0, 16)
  const pseudo = v6
    ? Buffer.concat([pkt.subarray(8, 40), Buffer.from([0, 0, seg.length >> 8, seg.length & 0xff, 0, 0, 0, 6])])
    : Buffer.concat([pkt.subarray(12, 20), Buffer.from([0, 6, seg.length >> 8, seg.length & 0xff])])
  return refChecksum(Buffer.concat([pseudo, seg]))
}

function withChecksum(pkt: Buffer): Buffer {
  const l4 = pkt[0] >> 4 === 6 ? 40 : (pkt[0] & 0xf) * 4
  pkt.writeUInt16BE(refTcpChecksum(pkt), l4 + 16)
  return pkt
}

const v4 = (seg: number[]): Buffer => withChecksum(buildV4({ protocol: 6, payload: seg }))
const v6 = (seg: number[]): Buffer => withChecksum(buildV6({ nextHeader: 6, payload: seg }))

function clamp(pkt: Buffer, maxMss: number): boolean {
  const p = new IpPacket()
  expect(parseIpPacket(pkt, 0, pkt.length, p)).toBe(pkt.length)
  return clampTcpMss(pkt, p, maxMss)
}

const mssOf = (pkt: Buffer, at: number): number => pkt.readUInt16BE(at)
const sameChecksum = (a: number, b: number): boolean => a === b || (a % 0xffff === 0 && b % 0xffff === 0)

describe('TCP MSS clamping', () => {
  it('derives the MSS that fits the TUN MTU per family', () => {
    expect(maxMssFor(1388, 4)).toBe(1348)
    expect(maxMssFor(1368, 6)).toBe(1308)
  })

  it('lowers a SYN\'s MSS to the TUN limit and keeps the TCP checksum valid', () => {
    const pkt = v4(tcpSegment(SYN, [2, 4, 0x05, 0xb4]))
    expect(clamp(pkt, 1348)).toBe(true)
    expect(mssOf(pkt, 20 + 22)).toBe(1348)
    expect(pkt.readUInt16BE(20 + 16)).toBe(refTcpChecksum(pkt))
  })

  it('clamps a SYN-ACK and IPv6 segments too', () => {
    const pkt = v6(tcpSegment(SYN | ACK, [2, 4, 0x05, 0xa0]))
    expect(clamp(pkt, 1308)).toBe(true)
    expect(mssOf(pkt, 40 + 22)).toBe(1308)
    expect(pkt.readUInt16BE(40 + 16)).toBe(refTcpChecksum(pkt))
  })

  it('finds the option after NOPs and other options, at an odd offset too', () => {
    // NOP, window scale (3 bytes) puts MSS at TCP offset 24: even. One more NOP makes it odd.
    for (const lead of [[1, 3, 3, 7], [1, 1, 3, 3, 7]]) {
      const pkt = v4(tcpSegment(SYN, [...lead, 2, 4, 0x23, 0x28], [9, 8, 7]))
      const at = 20 + 20 + lead.length + 2
      expect(clamp(pkt, 1348)).toBe(true)
      expect(mssOf(pkt, at)).toBe(1348)
      expect(sameChecksum(pkt.readUInt16BE(36), refTcpChecksum(pkt))).toBe(true)
    }
  })

  it('keeps the checksum right for random option layouts and payloads (seeded)', () => {
    const rand = rng(1624)
    for (let n = 0; n < 500; n++) {
      const lead = Array.from({ length: Math.floor(rand() * 7) }, () => 1)
      const mss = 1349 + Math.floor(rand() * 8000)
      const data = Array.from({ length: Math.floor(rand() * 9) }, () => Math.floor(rand() * 256))
      const pkt = (rand() < 0.5 ? v4 : v6)(tcpSegment(SYN, [...lead, 2, 4, mss >> 8, mss & 0xff], data))
      const l4 = pkt[0] >> 4 === 6 ? 40 : 20
      expect(clamp(pkt, 1348)).toBe(true)
      expect(mssOf(pkt, l4 + 20 + lead.length + 2)).toBe(1348)
      expect(sameChecksum(pkt.readUInt16BE(l4 + 16), refTcpChecksum(pkt))).toBe(true)
    }
  })

  it('leaves alone what it must not or need not change', () => {
    const cases: [string, Buffer][] = [
      ['an MSS already small enough', v4(tcpSegment(SYN, [2, 4, 0x05, 0x00]))],
      ['a segment without SYN', v4(tcpSegment(ACK, [2, 4, 0x05, 0xb4]))],
      ['a SYN without an MSS option', v4(tcpSegment(SYN, [1, 1, 4, 2]))],
      ['an option list cut short by its own length', v4(tcpSegment(SYN, [8, 40, 2, 4, 0x05, 0xb4]))],
      ['an MSS option of the wrong length', v4(tcpSegment(SYN, [2, 3, 0x05, 0xb4]))],
      ['options after END', v4(tcpSegment(SYN, [0, 2, 4, 0x05, 0xb4]))],
      ['UDP', buildV4({ protocol: 17 })],
    ]
    for (const [what, pkt] of cases) {
      const before = Buffer.from(pkt)
      expect(clamp(pkt, 1348), what).toBe(false)
      expect(pkt.equals(before), what).toBe(true)
    }
  })
})
