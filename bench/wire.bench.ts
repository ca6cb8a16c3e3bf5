/**
 * Header codec and per-packet lookups on the data path. Baselines are the
 * cheapest thing that touches the same bytes (a plain copy of the header),
 * so the ratio shows what parsing costs on top of reading the packet.
 */
import { pack, unpack } from 'msgpackr'
import { DataHeader, decodeDataHeader, encodeDataHeader } from '../src/wire/data.js'
import { ratioSuite } from './lib.js'

export async function run(): Promise<void> {
  const buf = Buffer.alloc(2048)
  const scratch = Buffer.alloc(64)
  const path = Uint32Array.from([0x11111111, 0x22222222, 0x33333333, 0x44444444])
  const len = encodeDataHeader(buf, 0, 8, 0xabcdef01, 77, 1, path, 4) + 200
  const hdr = new DataHeader()
  const asObject = { kind: 1, flags: 0, hops: 8, service: 0xabcdef01, flow: 77, seq: 1, path: [...path] }
  const packed = pack(asObject)
  let seq = 0
  await ratioSuite('data header codec (4-relay path)', [
    { name: 'baseline: copy 36 header bytes', fn: () => buf.copy(scratch, 0, 0, 36) },
    { name: 'encodeDataHeader', fn: () => encodeDataHeader(buf, 0, 8, 0xabcdef01, 77, seq++, path, 4) },
    { name: 'decodeDataHeader', fn: () => decodeDataHeader(buf, len, hdr) },
    { name: 'msgpackr pack (what the hot path avoids)', fn: () => pack(asObject) },
    { name: 'msgpackr unpack (what the hot path avoids)', fn: () => unpack(packed) },
  ])

  // Flow lookup at the ingress: address then port, versus building a string key per packet.
  const nested = new Map<string, Map<number, number>>()
  const flat = new Map<string, number>()
  const addrs = Array.from({ length: 100 }, (_, i) => `10.0.${i >> 8}.${i & 255}`)
  for (let i = 0; i < 10_000; i++) {
    const a = addrs[i % 100]
    const p = 1024 + i
    if (!nested.has(a)) nested.set(a, new Map())
    nested.get(a)!.set(p, i)
    flat.set(`${a}:${p}`, i)
  }
  let k = 0
  await ratioSuite('ingress flow lookup (10k flows)', [
    { name: 'baseline: string key `${addr}:${port}`', fn: () => flat.get(`${addrs[k % 100]}:${1024 + (k++ % 10_000)}`) },
    { name: 'nested Map address -> port', fn: () => nested.get(addrs[k % 100])!.get(1024 + (k++ % 10_000)) },
  ])
}
