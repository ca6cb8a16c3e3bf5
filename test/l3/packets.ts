/**
 * Builds real IPv4/IPv6 packets for the l3 tests, with a checksum written
 * independently of src/l3/checksum.ts (a byte-pair reduce with end-around
 * carry per step), so a bug there cannot hide itself.
 */

export function refChecksum(bytes: Uint8Array): number {
  let sum = 0
  for (let i = 0; i < bytes.length; i += 2) {
    const word = bytes[i] * 256 + (i + 1 < bytes.length ? bytes[i + 1] : 0)
    sum += word
    if (sum > 0xffff) sum -= 0xffff // end-around carry
  }
  return 0xffff - sum
}

export function ip4(text: string): number[] {
  return text.split('.').map(Number)
}

/** Expands an IPv6 address (with ::) to 16 bytes, independently of src/l3/prefix.ts. */
export function ip6(text: string): number[] {
  const [h, t] = text.includes('::') ? text.split('::') : [text, undefined]
  const head = h ? h.split(':') : []
  const tail = t !== undefined && t !== '' ? t.split(':') : []
  const groups = [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail]
  return groups.flatMap((g) => {
    const n = parseInt(g, 16)
    return [n >> 8, n & 0xff]
  })
}

export interface V4Opts {
  src?: string
  dst?: string
  protocol?: number
  ttl?: number
  id?: number
  df?: boolean
  mf?: boolean
  fragOffsetBytes?: number
  options?: number[]
  payload?: number[] | Uint8Array
  tos?: number
}

export function buildV4(o: V4Opts = {}): Buffer {
  const options = o.options ?? []
  const hl = 20 + options.length
  const payload = Array.from(o.payload ?? [0x30, 0x39, 0x00, 0x35, 0, 12, 0, 0, 1, 2, 3, 4])
  const total = hl + payload.length
  const b = Buffer.alloc(total)
  b[0] = 0x40 | (hl / 4)
  b[1] = o.tos ?? 0
  b.writeUInt16BE(total, 2)
  b.writeUInt16BE(o.id ?? 0x1234, 4)
  const flags = (o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | ((o.fragOffsetBytes ?? 0) / 8)
  b.writeUInt16BE(flags, 6)
  b[8] = o.ttl ?? 64
  b[9] = o.protocol ?? 17
  Buffer.from(ip4(o.src ?? '10.1.2.3')).copy(b, 12)
  Buffer.from(ip4(o.dst ?? '198.18.5.6')).copy(b, 16)
  Buffer.from(options).copy(b, 20)
  b.writeUInt16BE(refChecksum(b.subarray(0, hl)), 10)
  Buffer.from(payload).copy(b, hl)
  return b
}

export interface V6Opts {
  src?: string
  dst?: string
  nextHeader?: number
  hopLimit?: number
  /** Raw extension-header bytes placed before the payload; `nextHeader` names the first of them. */
  ext?: number[]
  payload?: number[] | Uint8Array
}

export function buildV6(o: V6Opts = {}): Buffer {
  const ext = o.ext ?? []
  const payload = Array.from(o.payload ?? [0x30, 0x39, 0x00, 0x35, 0, 12, 0, 0, 1, 2, 3, 4])
  const b = Buffer.alloc(40 + ext.length + payload.length)
  b[0] = 0x60
  b.writeUInt16BE(ext.length + payload.length, 4)
  b[6] = o.nextHeader ?? 17
  b[7] = o.hopLimit ?? 64
  Buffer.from(ip6(o.src ?? '2001:db8::1')).copy(b, 8)
  Buffer.from(ip6(o.dst ?? '2001:db8:ff::2')).copy(b, 24)
  Buffer.from(ext).copy(b, 40)
  Buffer.from(payload).copy(b, 40 + ext.length)
  return b
}

/** A generic extension header (hop-by-hop, routing, destination options) of 8 bytes. */
export function ext8(next: number): number[] {
  return [next, 0, 1, 4, 0, 0, 0, 0]
}

/** An IPv6 Fragment header. */
export function fragHeader(next: number, offsetBytes: number, more: boolean, id: number): number[] {
  const w = offsetBytes | (more ? 1 : 0)
  return [next, 0, w >> 8, w & 0xff, (id >>> 24) & 0xff, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff]
}

/** ICMPv6 checksum over the pseudo-header, computed independently. */
export function refIcmpv6Checksum(pkt: Uint8Array): number {
  const len = pkt.length - 40
  const pseudo = new Uint8Array(40 + len)
  pseudo.set(pkt.subarray(8, 40), 0)
  pseudo[32] = (len >>> 24) & 0xff
  pseudo[33] = (len >>> 16) & 0xff
  pseudo[34] = (len >>> 8) & 0xff
  pseudo[35] = len & 0xff
  pseudo[39] = 58
  pseudo.set(pkt.subarray(40), 40)
  return refChecksum(pseudo)
}

/** Seeded PRNG shared with route/ (mulberry32), for reproducible random tests. */
export { seededRandom as rng } from '../../src/route/seeded-random.js'
