import { describe, expect, it } from 'vitest'
import {
  DATA_FIXED_LEN,
  DataHeader,
  FLAG_CLIENT_ADDR,
  FLAG_REPLY,
  HeaderError,
  KIND_DATA,
  MAX_PATH_RELAYS,
  OFF_FLAGS,
  OFF_KIND,
  OFF_PATH_INDEX,
  OFF_PATH_LEN,
  decodeDataHeader,
  encodeDataHeader,
} from '../../src/wire/data.js'
import { decodeClientAddr, encodeClientAddr } from '../../src/wire/client-addr.js'
import { maxServicePayload } from '../../src/wire/mtu.js'

function packet(pathLen = 3, ext?: Buffer, payload = Buffer.from('hello')): { buf: Buffer; len: number } {
  const buf = Buffer.alloc(2048)
  const path = Uint32Array.from({ length: pathLen }, (_, i) => 0x1000 + i)
  const off = encodeDataHeader(buf, FLAG_REPLY, 7, 0xdeadbeef, 42, 0xfffffffe, path, pathLen, ext)
  payload.copy(buf, off)
  return { buf, len: off + payload.length }
}

describe('data header', () => {
  it('round-trips every field for each path length', () => {
    for (let n = 2; n <= MAX_PATH_RELAYS; n++) {
      const { buf, len } = packet(n)
      const h = new DataHeader()
      const off = decodeDataHeader(buf, len, h)
      expect(off).toBe(DATA_FIXED_LEN + 4 * n)
      expect(h.flags).toBe(FLAG_REPLY)
      expect(h.hops).toBe(7)
      expect(h.pathLen).toBe(n)
      expect(h.pathIndex).toBe(1)
      expect(h.service).toBe(0xdeadbeef)
      expect(h.flow).toBe(42)
      expect(h.seq).toBe(0xfffffffe)
      expect([...h.path.subarray(0, n)]).toEqual(Array.from({ length: n }, (_, i) => 0x1000 + i))
      expect(buf.subarray(off, len).toString()).toBe('hello')
    }
  })

  it('round-trips the client-address extension for IPv4 and IPv6', () => {
    for (const [client, service] of [
      ['192.0.2.7', '127.0.0.1'],
      ['2001:db8::7', '::1'],
      ['10.1.2.3', '::'],
    ]) {
      const ext = encodeClientAddr({ family: 4, clientAddress: client, clientPort: 5555, serviceAddress: service, servicePort: 27015 })!
      const { buf, len } = packet(3, ext)
      const h = new DataHeader()
      const off = decodeDataHeader(buf, len, h)
      expect(h.flags & FLAG_CLIENT_ADDR).toBe(FLAG_CLIENT_ADDR)
      const a = decodeClientAddr(buf, h.clientAddrOffset)
      expect(a.clientPort).toBe(5555)
      expect(a.servicePort).toBe(27015)
      if (client.includes(':')) expect(a.clientAddress).toBe(client)
      expect(buf.subarray(off, len).toString()).toBe('hello')
    }
  })

  it('rejects every truncation of a valid header', () => {
    const ext = encodeClientAddr({ family: 4, clientAddress: '192.0.2.1', clientPort: 1, serviceAddress: '192.0.2.2', servicePort: 2 })!
    for (const withExt of [undefined, ext]) {
      const { buf } = packet(4, withExt, Buffer.alloc(0))
      const full = DATA_FIXED_LEN + 16 + (withExt?.length ?? 0)
      for (let len = 0; len < full; len++) {
        expect(decodeDataHeader(buf, len, new DataHeader()), `length ${len}`).toBe(HeaderError.Truncated)
      }
      expect(decodeDataHeader(buf, full, new DataHeader())).toBe(full)
    }
  })

  it.each([
    ['an unknown kind', (b: Buffer) => (b[OFF_KIND] = 9), HeaderError.BadKind],
    ['unknown flag bits', (b: Buffer) => (b[OFF_FLAGS] = 0x80), HeaderError.BadFlags],
    ['a nonzero reserved byte', (b: Buffer) => (b[6] = 1), HeaderError.BadReserved],
    ['a path of one relay', (b: Buffer) => (b[OFF_PATH_LEN] = 1), HeaderError.BadPathLength],
    ['a path longer than the maximum', (b: Buffer) => (b[OFF_PATH_LEN] = MAX_PATH_RELAYS + 1), HeaderError.BadPathLength],
    ['a path index of zero', (b: Buffer) => (b[OFF_PATH_INDEX] = 0), HeaderError.BadPathIndex],
    ['a path index past the end', (b: Buffer) => (b[OFF_PATH_INDEX] = 3), HeaderError.BadPathIndex],
    ['an extension of unknown family', (b: Buffer) => ((b[OFF_FLAGS] |= FLAG_CLIENT_ADDR), (b[DATA_FIXED_LEN + 12] = 5)), HeaderError.BadClientAddr],
  ])('rejects %s', (_name, mutate, expected) => {
    const { buf, len } = packet(3)
    mutate(buf)
    expect(decodeDataHeader(buf, len, new DataHeader())).toBe(expected)
  })

  it('never throws on random bytes', () => {
    let seed = 1
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
    const h = new DataHeader()
    const buf = Buffer.alloc(256)
    for (let i = 0; i < 20000; i++) {
      const len = Math.floor(rnd() * 256)
      for (let j = 0; j < len; j++) buf[j] = Math.floor(rnd() * 256)
      if (rnd() < 0.5) buf[OFF_KIND] = KIND_DATA
      const r = decodeDataHeader(buf, len, h)
      expect(r === -1 || r <= len).toBe(true)
    }
  })
})

describe('payload limit', () => {
  it('is 1388 bytes on a 1500-byte IPv4 underlay and shrinks for IPv6 and PROXY delivery', () => {
    expect(maxServicePayload(1500, false)).toBe(1388)
    expect(maxServicePayload(1500, true)).toBe(1368)
    expect(maxServicePayload(1500, false, 4)).toBe(1374)
    expect(maxServicePayload(1500, false, 6)).toBe(1350)
  })
})
