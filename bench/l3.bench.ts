/**
 * L3 packet core, per packet. Prefix lookups run against 10k-prefix tables
 * (IPv4 /16../32 weighted to /24; IPv6 /32../64 plus some /128) with a
 * baseline of the cheapest possible owner lookup: a Map get of an exact
 * 32-bit key read from the same buffer. The parse/flow-key suite's baseline
 * copies the header bytes the parser reads.
 */
import { FlowKey, flowKeyOf } from '../src/l3/flow-key.js'
import { IpPacket, parseIpPacket } from '../src/l3/ip-packet.js'
import { PrefixTable, type Stride } from '../src/l3/lpm.js'
import type { Prefix } from '../src/l3/prefix.js'
import { decrementTtl, TTL_EXPIRED } from '../src/l3/ttl.js'
import { internetChecksum } from '../src/l3/checksum.js'
import { seededRandom } from '../src/route/seeded-random.js'
import { parseConfig } from '../src/config/index.js'
import { encodeKey, generateKeyPair } from '../src/crypto/index.js'
import { ServiceState, type RelayContext } from '../src/dataplane/context.js'
import { DropCounts, L3Counters } from '../src/dataplane/counters.js'
import { IngressSide } from '../src/dataplane/ingress.js'
import { L3Ingress } from '../src/dataplane/l3-ingress.js'
import { StaticPaths } from '../src/dataplane/paths.js'
import { resolveServiceRoles } from '../src/config/data-plane.js'
import { FakeClock } from '../src/io/fake-clock.js'
import type { DatagramHandler, Logger, PacketSocket, TunDevice, UdpSocketFactory } from '../src/io/index.js'
import { nameId } from '../src/wire/ids.js'
import { ratioSuite } from './lib.js'

const PREFIXES = 10_000
const ADDRESSES = 4096

function randomPrefixes(rand: () => number, bytes: 4 | 16): Prefix[] {
  const out: Prefix[] = []
  for (let i = 0; i < PREFIXES; i++) {
    const addr = new Uint8Array(bytes)
    for (let j = 0; j < bytes; j++) addr[j] = Math.floor(rand() * 256)
    const r = rand()
    const length = bytes === 4 ? (r < 0.6 ? 24 : 16 + Math.floor(rand() * 17)) : r < 0.1 ? 128 : r < 0.6 ? 48 : 32 + Math.floor(rand() * 33)
    for (let bit = length; bit < bytes * 8; bit++) addr[bit >> 3] &= ~(0x80 >> (bit & 7))
    out.push({ family: bytes === 4 ? 4 : 6, bytes: addr, length })
  }
  return out
}

/** Addresses packed in one buffer: 3 in 4 fall inside a table prefix, the rest are random. */
function addressBuffer(rand: () => number, prefixes: Prefix[], bytes: number): Buffer {
  const buf = Buffer.alloc(ADDRESSES * bytes)
  for (let i = 0; i < ADDRESSES; i++) {
    for (let j = 0; j < bytes; j++) buf[i * bytes + j] = Math.floor(rand() * 256)
    if (rand() < 0.75) {
      const p = prefixes[Math.floor(rand() * prefixes.length)]
      for (let bit = 0; bit < p.length; bit++) {
        const m = 0x80 >> (bit & 7)
        const k = i * bytes + (bit >> 3)
        buf[k] = (buf[k] & ~m) | (p.bytes[bit >> 3] & m)
      }
    }
  }
  return buf
}

async function lpmSuite(family: 4 | 6): Promise<void> {
  const bytes = family === 4 ? 4 : 16
  const rand = seededRandom(family)
  const prefixes = randomPrefixes(rand, bytes)
  const addrs = addressBuffer(rand, prefixes, bytes)
  const tables = ([4, 8] as Stride[]).map((stride) => {
    const t = new PrefixTable({ stride })
    prefixes.forEach((p, i) => t.insert(p, i))
    return t
  })
  const exact = new Map<number, number>()
  for (let i = 0; i < ADDRESSES; i += 2) exact.set(addrs.readUInt32BE(i * bytes), i)
  let i = 0
  let sink = 0
  const next = (): number => (i = (i + 1) & (ADDRESSES - 1)) * bytes
  const lookup = (t: PrefixTable) => (family === 4 ? () => (sink ^= t.lookup4(addrs, next())) : () => (sink ^= t.lookup6(addrs, next())))
  const nodes = tables.map((t) => (family === 4 ? t.v4 : t.v6).nodeCount)
  await ratioSuite(`l3 LPM IPv${family}, ${PREFIXES} prefixes (nodes: stride 4 ${nodes[0]}, stride 8 ${nodes[1]})`, [
    { name: 'baseline: Map.get(exact u32 key from buffer)', fn: () => (sink ^= exact.get(addrs.readUInt32BE(next())) ?? -1) },
    { name: 'PrefixTable stride 4 (default)', fn: lookup(tables[0]) },
    { name: 'PrefixTable stride 8', fn: lookup(tables[1]) },
  ])
  if (sink === 0.5) console.log(sink) // keep the results alive
}

function udpV4(): Buffer {
  const b = Buffer.alloc(60)
  b[0] = 0x45
  b.writeUInt16BE(60, 2)
  b[8] = 64
  b[9] = 17
  b.set([10, 1, 2, 3, 198, 18, 5, 6], 12)
  b.writeUInt16BE(internetChecksum(b, 0, 20), 10)
  b.writeUInt16BE(5000, 20)
  b.writeUInt16BE(53, 22)
  return b
}

function udpV6WithExt(): Buffer {
  const b = Buffer.alloc(80)
  b[0] = 0x60
  b.writeUInt16BE(40, 4)
  b[6] = 0 // hop-by-hop, then destination options, then UDP
  b[7] = 64
  b.fill(0x20, 8, 40)
  b.set([60, 0, 1, 4, 0, 0, 0, 0, 17, 0, 1, 4, 0, 0, 0, 0], 40)
  b.writeUInt16BE(5000, 56)
  b.writeUInt16BE(53, 58)
  return b
}

/**
 * The whole L3 ingress step (parse, LPM over 16 services' prefixes, path
 * lookup, TTL, size check, flow key + flow table, data header, copy) against
 * the L4 ingress step for a client datagram of the same size (flow lookup,
 * path lookup, data header, copy). Both stop where sealing would start:
 * sendOnPath is a no-op, so crypto (the same for both) is left out.
 */
async function ingressSuite(): Promise<void> {
  const pub = (): string => encodeKey(generateKeyPair().publicKey)
  const l3Services = Array.from({ length: 16 }, (_, i) => ({ name: `site${i}`, mode: 'l3', prefixes: [`10.${100 + i}.0.0/16`, `fd00:${i}::/48`], exits: ['ex'], paths: [['ing', 'tr', 'ex']] }))
  const cfg = parseConfig(JSON.stringify({
    relay: { id: 'ing', private_key: encodeKey(generateKeyPair().privateKey), listen: '127.0.0.1:7000', control_socket: '/tmp/overpass-bench.sock' },
    peers: [{ id: 'tr', public_key: pub(), endpoint: '127.0.0.1:7001' }, { id: 'ex', public_key: pub(), endpoint: '127.0.0.1:7002' }],
    l3: { tun: 'op3bench' },
    services: [
      { name: 'game', ingress: [{ relay: 'ing', listen: '127.0.0.1:27015' }], origin: '127.0.0.1:9000', exits: ['ex'], paths: [['ing', 'tr', 'ex']] },
      ...l3Services,
      // The branch behind this ingress: the source of the measured packets must be one of its own sites.
      { name: 'site-ing', mode: 'l3', prefixes: ['10.99.0.0/16'], exits: ['ing'] },
    ],
  }))
  const clock = new FakeClock(1000)
  let handler: DatagramHandler = () => {}
  const socket = { send: () => true, onMessage: (h: DatagramHandler) => (handler = h), onError: () => {}, bound: async () => ({ address: '127.0.0.1', port: 27015 }), close: () => {} } as unknown as PacketSocket
  const udp: UdpSocketFactory = { open: () => socket }
  const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {}, child: () => quiet } as unknown as Logger
  let sent = 0
  const ctx: RelayContext = {
    selfNode: nameId('ing'), selfId: 'ing', mtu: cfg.relay.mtu, hopLimit: cfg.tuning.hopLimit, clock, udp, serviceUdp: udp, log: quiet, drops: new DropCounts(), ipv6Underlay: false, lane: 0, laneCount: 1, rxLane: 0,
    paths: new StaticPaths('ing', resolveServiceRoles('ing', true, cfg.services)),
    sendOnPath: (_b, len) => ((sent += len), true),
  }
  const states = cfg.services.map((s) => new ServiceState(s, nameId(s.name), true, false))
  const l4 = new IngressSide(ctx, states.filter((s) => s.cfg.mode === 'l4'))
  await l4.start()
  const tun = { name: 'op3bench', onPacket: () => {}, write: () => true, close: () => {} } as TunDevice
  const l3 = new L3Ingress(ctx, states.filter((s) => s.cfg.mode === 'l3'), tun, new L3Counters(), cfg.l3!)
  const template = udpV4()
  template.set([10, 99, 0, 5, 10, 107, 3, 4], 12)
  template[8] = 255
  template.writeUInt16BE(0, 10)
  template.writeUInt16BE(internetChecksum(template, 0, 20), 10)
  const pkt = Buffer.from(template)
  const payload = Buffer.alloc(template.length)
  const client = { address: '127.0.0.1', port: 50000 }
  await ratioSuite('l3 ingress step vs L4 ingress encap (60-byte packet, no crypto)', [
    { name: 'baseline: L4 ingress (flow, path, header, copy)', fn: () => handler(payload, client) },
    {
      name: 'L3 ingress (parse, LPM, path, TTL, flow, header, copy)',
      fn: () => {
        if (pkt[8] < 3) template.copy(pkt) // restore the TTL every ~250 packets
        l3.onTunPacket(pkt)
      },
    },
  ])
  const serviceDrops = states.reduce((n, s) => n + s.drops.total(), 0)
  if (sent === 0 || ctx.drops.total() + serviceDrops > 0) console.log('unexpected drops', ctx.drops.toJSON(), states.map((s) => s.drops.toJSON()))
}

export async function run(): Promise<void> {
  await ingressSuite()
  await lpmSuite(4)
  await lpmSuite(6)
  const v4 = udpV4()
  const v6 = udpV6WithExt()
  const scratch = Buffer.alloc(64)
  const pkt4 = new IpPacket()
  const pkt6 = new IpPacket()
  parseIpPacket(v4, 0, v4.length, pkt4)
  parseIpPacket(v6, 0, v6.length, pkt6)
  const key = new FlowKey()
  const ttlBuf = udpV4()
  await ratioSuite('l3 per-packet header work', [
    { name: 'baseline: copy 40 header bytes', fn: () => v4.copy(scratch, 0, 0, 40) },
    { name: 'parseIpPacket IPv4 UDP', fn: () => parseIpPacket(v4, 0, v4.length, pkt4) },
    { name: 'parseIpPacket IPv6 UDP + 2 ext headers', fn: () => parseIpPacket(v6, 0, v6.length, pkt6) },
    { name: 'flowKeyOf IPv4 5-tuple', fn: () => flowKeyOf(v4, pkt4, key) },
    { name: 'flowKeyOf IPv6 5-tuple', fn: () => flowKeyOf(v6, pkt6, key) },
    {
      name: 'decrementTtl IPv4 (incremental checksum)',
      fn: () => {
        if (decrementTtl(ttlBuf, 0) === TTL_EXPIRED) ttlBuf.set(v4.subarray(0, 20))
      },
    },
  ])
}
