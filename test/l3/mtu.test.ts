import { describe, expect, it } from 'vitest'
import { IpPacket, parseIpPacket } from '../../src/l3/ip-packet.js'
import {
  checkedL3TunMtu,
  FRAGMENT_ERROR_NAMES,
  fragmentIpv4,
  Fragments,
  L3MtuError,
  l3TunMtu,
  OversizeAction,
  oversizeAction,
} from '../../src/l3/mtu.js'
import { buildV4, buildV6, refChecksum, rng } from './packets.js'

function parsed(b: Buffer): IpPacket {
  const pkt = new IpPacket()
  expect(parseIpPacket(b, 0, b.length, pkt)).toBeGreaterThan(0)
  return pkt
}

describe('l3TunMtu', () => {
  it('leaves 1388 bytes on a 1500-byte IPv4 underlay and 1368 on IPv6', () => {
    // 1500 - 20 IP - 8 UDP - 16 outer - 16 tag - (20 + 4 x 8) data header
    expect(l3TunMtu(1500, false)).toBe(1388)
    expect(l3TunMtu(1500, true)).toBe(1368)
    expect(l3TunMtu(9000, false)).toBe(8888)
  })

  it('refuses an underlay too small for IPv6 traffic, naming the MTU to use', () => {
    expect(checkedL3TunMtu(1500, true, true)).toBe(1368)
    try {
      checkedL3TunMtu(1400, true, true)
      expect.unreachable()
    } catch (err) {
      expect((err as Error).name).toBe('L3MtuError')
      const e = err as L3MtuError
      expect([e.tunMtu, e.requiredTunMtu]).toEqual([1268, 1280])
      expect(e.fix).toBe('raise the underlay MTU to at least 1412')
      expect(l3TunMtu(1412, true)).toBe(1280)
    }
    expect(checkedL3TunMtu(1400, true, false)).toBe(1268)
  })
})

describe('oversizeAction', () => {
  const mtu = 1388
  const cases: [string, Buffer, boolean, OversizeAction][] = [
    ['1 IPv4 at the MTU', buildV4({ payload: new Uint8Array(mtu - 20) }), false, OversizeAction.Forward],
    ['2 IPv4 one byte over with DF', buildV4({ df: true, payload: new Uint8Array(mtu - 19) }), true, OversizeAction.TooBig],
    ['3 IPv4 over without DF, fragmenting', buildV4({ payload: new Uint8Array(mtu) }), true, OversizeAction.Fragment],
    ['4 IPv4 over without DF, dropping', buildV4({ payload: new Uint8Array(mtu) }), false, OversizeAction.Drop],
    ['5 IPv6 over (never fragmented by routers)', buildV6({ payload: new Uint8Array(mtu) }), true, OversizeAction.TooBig],
    ['6 IPv6 at the MTU', buildV6({ payload: new Uint8Array(mtu - 40) }), true, OversizeAction.Forward],
  ]
  for (const [name, b, frag, want] of cases) it(name, () => expect(oversizeAction(parsed(b), mtu, frag)).toBe(want))
})

/** Reassembles IPv4 fragments the way a receiver would: data placed by offset, until the last (MF clear) one. */
function reassemble(out: Buffer, frags: Fragments): { header: Buffer; data: Buffer; lastMf: boolean } {
  const data = Buffer.alloc(65535)
  let end = 0
  let header = Buffer.alloc(0)
  let lastMf = true
  for (let i = 0; i < frags.count; i++) {
    const f = out.subarray(frags.offsets[i], frags.offsets[i] + frags.lengths[i])
    const hl = (f[0] & 15) * 4
    expect(refChecksum(f.subarray(0, hl))).toBe(0)
    expect(f.readUInt16BE(2)).toBe(f.length)
    const word = f.readUInt16BE(6)
    const off = (word & 0x1fff) * 8
    const mf = (word & 0x2000) !== 0
    if (mf) expect((f.length - hl) % 8).toBe(0)
    if (i === 0) header = Buffer.from(f.subarray(0, hl))
    f.copy(data, off, hl)
    end = Math.max(end, off + f.length - hl)
    if (i === frags.count - 1) lastMf = mf
  }
  return { header, data: data.subarray(0, end), lastMf }
}

describe('fragmentIpv4', () => {
  it('splits into fragments that reassemble to the original, for random sizes and MTUs', () => {
    const rand = rng(7)
    const frags = new Fragments(256)
    const out = Buffer.alloc(200_000)
    for (let n = 0; n < 300; n++) {
      const payload = Uint8Array.from({ length: 100 + Math.floor(rand() * 8000) }, () => Math.floor(rand() * 256))
      const orig = buildV4({ payload, id: n })
      const mtu = 68 + Math.floor(rand() * 1500)
      const count = fragmentIpv4(orig, parsed(orig), mtu, out, 0, frags)
      expect(count).toBe(frags.count)
      expect(count).toBe(orig.length <= mtu ? 1 : Math.ceil((orig.length - 20) / (((mtu - 20) >> 3) << 3)))
      for (let i = 0; i < count; i++) expect(frags.lengths[i]).toBeLessThanOrEqual(mtu)
      const r = reassemble(out, frags)
      expect(r.lastMf).toBe(false)
      expect(r.data.equals(orig.subarray(20))).toBe(true)
      expect(r.header.readUInt16BE(4)).toBe(n) // same identification on every fragment
    }
  })

  it('copies only the options with the copied flag into later fragments', () => {
    // Security (0x82, copied, 11 bytes) + NOP + Record Route (0x07, not copied, 7 bytes) + EOL padding = 20 bytes.
    const options = [0x82, 11, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 0x07, 7, 4, 0, 0, 0, 0, 0]
    const orig = buildV4({ options, payload: new Uint8Array(3000).fill(0x77) })
    const frags = new Fragments()
    const out = Buffer.alloc(8000)
    const count = fragmentIpv4(orig, parsed(orig), 1000, out, 0, frags)
    expect(count).toBeGreaterThan(2)
    const first = out.subarray(frags.offsets[0], frags.offsets[0] + 40)
    expect(first.subarray(20).equals(Buffer.from(options))).toBe(true)
    const later = out.subarray(frags.offsets[1], frags.offsets[1] + frags.lengths[1])
    expect(later[0] & 15).toBe(8) // 20 + 11 copied bytes padded to 12
    expect(Array.from(later.subarray(20, 32))).toEqual([0x82, 11, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0])
    expect(parseIpPacket(later, 0, later.length, new IpPacket())).toBe(later.length)
    expect(reassemble(out, frags).data.equals(orig.subarray(40))).toBe(true)
  })

  it('splits an existing non-last fragment keeping its offset and MF', () => {
    const orig = buildV4({ mf: true, fragOffsetBytes: 1600, payload: new Uint8Array(2400).fill(1) })
    const frags = new Fragments()
    const out = Buffer.alloc(6000)
    expect(fragmentIpv4(orig, parsed(orig), 1000, out, 0, frags)).toBe(3)
    const words = [0, 1, 2].map((i) => out.readUInt16BE(frags.offsets[i] + 6))
    expect(words.map((w) => (w & 0x1fff) * 8)).toEqual([1600, 1600 + 976, 1600 + 2 * 976])
    expect(words.every((w) => (w & 0x2000) !== 0)).toBe(true)
  })

  it('passes a packet that fits through as one copy', () => {
    const orig = buildV4({ df: true })
    const frags = new Fragments()
    const out = Buffer.alloc(100)
    expect(fragmentIpv4(orig, parsed(orig), 1388, out, 10, frags)).toBe(1)
    expect(out.subarray(10, 10 + orig.length).equals(orig)).toBe(true)
    expect(frags.offsets[0]).toBe(10)
  })

  const errors: [string, () => number, string][] = [
    ['DF set', () => { const b = buildV4({ df: true, payload: new Uint8Array(2000) }); return fragmentIpv4(b, parsed(b), 1388, Buffer.alloc(4000), 0, new Fragments()) }, 'dont_fragment'],
    ['IPv6', () => { const b = buildV6({ payload: new Uint8Array(2000) }); return fragmentIpv4(b, parsed(b), 1388, Buffer.alloc(4000), 0, new Fragments()) }, 'not_ipv4'],
    ['MTU below header + 8', () => { const b = buildV4({ payload: new Uint8Array(2000) }); return fragmentIpv4(b, parsed(b), 27, Buffer.alloc(9000), 0, new Fragments()) }, 'mtu_too_small'],
    ['output too small', () => { const b = buildV4({ payload: new Uint8Array(2000) }); return fragmentIpv4(b, parsed(b), 1388, Buffer.alloc(2000), 0, new Fragments()) }, 'buffer_too_small'],
    ['too many fragments', () => { const b = buildV4({ payload: new Uint8Array(2000) }); return fragmentIpv4(b, parsed(b), 100, Buffer.alloc(9000), 0, new Fragments(4)) }, 'too_many_fragments'],
  ]
  for (const [name, run, want] of errors) it(`refuses: ${name} (${want})`, () => expect(FRAGMENT_ERROR_NAMES[run()]).toBe(want))
})
