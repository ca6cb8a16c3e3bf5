/**
 * L3 mode on the in-memory network with fake TUN devices:
 *
 *   branch 10.101.0.0/24        lax ──── sea ──── dal        DC 10.200.0.0/24
 *   fd00:101::/64        [op3lax]      (transit)     [op3dal] fd00:200::/64
 *
 * Services (static paths, so the path is known): dc (exit dal, path
 * lax > sea > dal) and site-lax (exit lax, path dal > sea > lax).
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { L3Config, RelayConfig, ServiceConfig } from '../../src/config/types.js'
import type { Relay } from '../../src/dataplane/relay.js'
import { MissingTunError } from '../../src/dataplane/l3-ingress.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import { FakeNetwork } from '../../src/io/fake-network.js'
import { silentLogger } from '../../src/io/log.js'
import { parsePrefix } from '../../src/l3/prefix.js'
import { buildV4, buildV6, ip4, refChecksum, refIcmpv6Checksum } from '../l3/packets.js'
import { FakeTun } from './fake-tun.js'
import { buildConfigs, staticRelay } from './helpers.js'

const DC: Partial<ServiceConfig> = {
  name: 'dc',
  mode: 'l3',
  prefixes: [parsePrefix('10.200.0.0/24'), parsePrefix('fd00:200::/64')],
  exits: ['dal'],
  paths: [['lax', 'sea', 'dal']],
}
const SITE: Partial<ServiceConfig> = {
  name: 'site-lax',
  mode: 'l3',
  prefixes: [parsePrefix('10.101.0.0/24'), parsePrefix('fd00:101::/64')],
  exits: ['lax'],
  paths: [['dal', 'sea', 'lax']],
}

function l3(tun: string, extra: Partial<L3Config> = {}): L3Config {
  return { tun, mtu: 1388, maxMtu: 1388, oversizeWithoutDf: 'fragment', clampMss: true, addresses: [], ...extra }
}

let stopAll: (() => void) | undefined
afterEach(() => stopAll?.())

interface Options {
  laxL3?: Partial<L3Config>
  /** Change lax's copy of the services (e.g. to make it claim a prefix dal does not own). */
  laxServices?: (s: ServiceConfig[]) => ServiceConfig[]
}

async function world(opts: Options = {}) {
  const clock = new FakeClock(1000)
  const net = new FakeNetwork(clock, { delayMs: () => 5 })
  const configs = buildConfigs({ relays: ['lax', 'sea', 'dal'], services: [DC, SITE] })
  const tuns = new Map([['lax', new FakeTun('op3lax')], ['dal', new FakeTun('op3dal')]])
  configs.get('lax')!.l3 = l3('op3lax', opts.laxL3)
  configs.get('dal')!.l3 = l3('op3dal')
  if (opts.laxServices) configs.get('lax')!.services = opts.laxServices(configs.get('lax')!.services)
  const relays = new Map<string, Relay>()
  for (const [id, config] of configs) {
    const relay = staticRelay(config, { udp: net, clock, timers: clock, log: silentLogger, cryptoBackend: 'tweetnacl', tun: tuns.get(id) })
    await relay.start()
    relays.set(id, relay)
  }
  stopAll = () => {
    for (const r of relays.values()) r.stop()
  }
  return {
    relays,
    lax: tuns.get('lax')!,
    dal: tuns.get('dal')!,
    stats: (id: string) => relays.get(id)!.stats(),
    async run(ms = 200) {
      for (let t = 0; t < ms; t += 10) {
        clock.advance(10)
        await Promise.resolve()
      }
    },
  }
}

/** Every byte equal except the TTL (one less) and the header checksum (still valid). */
function expectForwardedV4(got: Buffer, sent: Buffer): void {
  expect(got.length).toBe(sent.length)
  expect(got[8]).toBe(sent[8] - 1)
  const mask = (b: Buffer) => Buffer.concat([b.subarray(0, 8), b.subarray(9, 10), b.subarray(12)])
  expect(mask(got).equals(mask(sent))).toBe(true)
  expect(refChecksum(got.subarray(0, 20))).toBe(0)
}

describe('L3 data plane', () => {
  it('carries a branch packet to the exit TUN byte-identical except TTL-1 and its checksum, through the configured transit', async () => {
    const w = await world()
    const pkt = buildV4({ src: '10.101.0.5', dst: '10.200.0.7', ttl: 64, payload: [0x13, 0x88, 0x00, 0x35, 0, 12, 0, 0, 9, 8, 7, 6] })
    w.lax.inject(pkt)
    await w.run()
    expect(w.dal.written).toHaveLength(1)
    expectForwardedV4(w.dal.written[0], pkt)
    // The static path lax > sea > dal: sea carried it, lax never sent to dal directly.
    expect(w.stats('sea').peers.lax.packets_in).toBeGreaterThan(0)
    expect(w.stats('dal').peers.lax.packets_in).toBe(0)
    expect(w.stats('lax').services.dc.client.packets_in).toBe(1)
    expect(w.stats('dal').services.dc.origin.packets_out).toBe(1)
    expect(w.stats('dal').l3).toMatchObject({ tun: 'op3dal', tun_packets_out: 1 })
  })

  it('brings the reply written into the exit TUN out of the branch TUN', async () => {
    const w = await world()
    w.lax.inject(buildV4({ src: '10.101.0.5', dst: '10.200.0.7' }))
    await w.run()
    const reply = buildV4({ src: '10.200.0.7', dst: '10.101.0.5', ttl: 63, payload: [0x00, 0x35, 0x13, 0x88, 0, 12, 0, 0, 1, 1, 1, 1] })
    w.dal.inject(reply)
    await w.run()
    expect(w.lax.written).toHaveLength(1)
    expectForwardedV4(w.lax.written[0], reply)
    expect(w.stats('dal').services['site-lax'].client.packets_in).toBe(1)
    expect(w.stats('lax').services['site-lax'].origin.packets_out).toBe(1)
  })

  it('carries IPv6 with the hop limit decremented', async () => {
    const w = await world()
    const pkt = buildV6({ src: 'fd00:101::5', dst: 'fd00:200::7', hopLimit: 10 })
    w.lax.inject(pkt)
    await w.run()
    expect(w.dal.written).toHaveLength(1)
    const got = w.dal.written[0]
    expect(got[7]).toBe(9)
    got[7] = 10
    expect(got.equals(pkt)).toBe(true)
  })

  it('answers TTL 1 with ICMP Time Exceeded into the ingress TUN, from the configured address', async () => {
    const w = await world({ laxL3: { addresses: [{ family: 4, bytes: new Uint8Array(ip4('10.255.0.1')), length: 32, text: '10.255.0.1/32' }] } })
    const pkt = buildV4({ src: '10.101.0.5', dst: '10.200.0.7', ttl: 1 })
    w.lax.inject(pkt)
    await w.run()
    expect(w.dal.written).toHaveLength(0)
    expect(w.lax.written).toHaveLength(1)
    const icmp = w.lax.written[0]
    expect([...icmp.subarray(12, 16)]).toEqual(ip4('10.255.0.1'))
    expect([...icmp.subarray(16, 20)]).toEqual(ip4('10.101.0.5'))
    expect(icmp[9]).toBe(1)
    expect(icmp[20]).toBe(11) // Time Exceeded
    expect(icmp.subarray(28, 28 + pkt.length).equals(pkt)).toBe(true) // quotes the packet as received
    expect(w.stats('lax').services.dc.drops.l3_ttl_expired).toBe(1)
    expect(w.stats('lax').l3?.icmp_errors_sent).toBe(1)
  })

  it('answers IPv6 hop limit 1 with ICMPv6 Time Exceeded from the destination address when none is configured', async () => {
    const w = await world()
    w.lax.inject(buildV6({ src: 'fd00:101::5', dst: 'fd00:200::7', hopLimit: 1 }))
    await w.run()
    expect(w.lax.written).toHaveLength(1)
    const icmp = w.lax.written[0]
    expect(icmp[6]).toBe(58)
    expect(icmp[40]).toBe(3)
    expect(icmp.subarray(8, 24).equals(Buffer.from(parsePrefix('fd00:200::7/128').bytes))).toBe(true)
    expect(refIcmpv6Checksum(icmp)).toBe(0)
  })

  it('answers an oversize DF packet with Fragmentation Needed carrying the TUN MTU', async () => {
    const w = await world()
    const pkt = buildV4({ src: '10.101.0.5', dst: '10.200.0.7', df: true, payload: new Uint8Array(1400) })
    w.lax.inject(pkt)
    await w.run()
    expect(w.dal.written).toHaveLength(0)
    const icmp = w.lax.written[0]
    expect([icmp[20], icmp[21]]).toEqual([3, 4])
    expect(icmp.readUInt16BE(26)).toBe(1388)
    expect(w.stats('lax').services.dc.drops.l3_too_big).toBe(1)
  })

  it('answers an oversize IPv6 packet with Packet Too Big carrying the TUN MTU', async () => {
    const w = await world()
    w.lax.inject(buildV6({ src: 'fd00:101::5', dst: 'fd00:200::7', payload: new Uint8Array(1400) }))
    await w.run()
    const icmp = w.lax.written[0]
    expect(icmp[40]).toBe(2)
    expect(icmp.readUInt32BE(44)).toBe(1388)
    expect(refIcmpv6Checksum(icmp)).toBe(0)
  })

  it('fragments an oversize packet without DF, and the fragments reassemble to the original', async () => {
    const w = await world()
    const payload = Uint8Array.from({ length: 2000 }, (_, i) => i & 0xff)
    const pkt = buildV4({ src: '10.101.0.5', dst: '10.200.0.7', payload })
    w.lax.inject(pkt)
    await w.run()
    const frags = w.dal.written
    expect(frags.length).toBe(2)
    const data = Buffer.alloc(2000)
    for (const f of frags) {
      expect(f.length).toBeLessThanOrEqual(1388)
      expect(refChecksum(f.subarray(0, 20))).toBe(0)
      expect(f[8]).toBe(63)
      f.copy(data, (f.readUInt16BE(6) & 0x1fff) * 8, 20)
    }
    expect((frags[0].readUInt16BE(6) & 0x2000) !== 0).toBe(true) // MF on the first
    expect(data.equals(Buffer.from(payload))).toBe(true)
    expect(w.stats('lax').l3?.packets_fragmented).toBe(1)
  })

  it('lowers a TCP SYN\'s MSS to fit the TUN MTU on the way through, unless clamp_mss is off', async () => {
    // SYN from the branch offering MSS 1460 (a 1500-byte LAN); the TUN carries 1388 => MSS 1348.
    const syn = (): Buffer => {
      const tcp = [0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0, 2, 4, 0x05, 0xb4]
      const pkt = buildV4({ src: '10.101.0.5', dst: '10.200.0.7', protocol: 6, payload: tcp })
      const pseudo = Buffer.concat([pkt.subarray(12, 20), Buffer.from([0, 6, 0, tcp.length])])
      pkt.writeUInt16BE(refChecksum(Buffer.concat([pseudo, pkt.subarray(20)])), 36)
      return pkt
    }
    const w = await world()
    w.lax.inject(syn())
    await w.run()
    const got = w.dal.written[0]
    expect(got.readUInt16BE(20 + 22)).toBe(1348)
    const pseudo = Buffer.concat([got.subarray(12, 20), Buffer.from([0, 6, 0, got.length - 20])])
    expect(refChecksum(Buffer.concat([pseudo, got.subarray(20)]))).toBe(0)
    expect(w.stats('lax').l3?.tcp_mss_clamped).toBe(1)
    stopAll?.()

    const off = await world({ laxL3: { clampMss: false } })
    off.lax.inject(syn())
    await off.run()
    expect(off.dal.written[0].readUInt16BE(20 + 22)).toBe(1460)
    expect(off.stats('lax').l3?.tcp_mss_clamped).toBe(0)
  })

  it('drops an oversize packet without DF under oversize_without_df: drop', async () => {
    const w = await world({ laxL3: { oversizeWithoutDf: 'drop' } })
    w.lax.inject(buildV4({ src: '10.101.0.5', dst: '10.200.0.7', payload: new Uint8Array(2000) }))
    await w.run()
    expect(w.dal.written).toHaveLength(0)
    expect(w.lax.written).toHaveLength(0)
    expect(w.stats('lax').services.dc.drops.l3_oversize).toBe(1)
  })

  it('counts malformed and unrouted packets by reason', async () => {
    const w = await world()
    const badSum = buildV4({ src: '10.101.0.5', dst: '10.200.0.7' })
    badSum[10] ^= 0xff
    w.lax.inject(badSum)
    w.lax.inject(Buffer.from([0x50, 0, 0, 0]))
    w.lax.inject(buildV4({ src: '10.101.0.5', dst: '10.200.0.7' }).subarray(0, 24))
    w.lax.inject(buildV4({ src: '10.101.0.5', dst: '192.0.2.1' }))
    w.lax.inject(buildV6({ src: 'fd00:101::5', dst: '2001:db8::1' }))
    await w.run()
    expect(w.dal.written).toHaveLength(0)
    expect(w.stats('lax').drops).toMatchObject({ l3_bad_checksum: 1, l3_bad_version: 1, l3_truncated: 1, l3_no_route: 2 })
  })

  it('drops a packet whose best exit is the relay itself (a route pointing back into the TUN)', async () => {
    const w = await world()
    w.dal.inject(buildV4({ src: '10.200.0.5', dst: '10.200.0.9' }))
    await w.run()
    expect(w.lax.written).toHaveLength(0)
    expect(w.stats('dal').services.dc.drops.l3_local_destination).toBe(1)
  })

  it('drops at the exit a packet whose destination is not in that service\'s prefixes', async () => {
    // lax believes dc also owns 10.99.0.0/16; dal (the exit) does not, so it must not inject it.
    const w = await world({
      laxServices: (list) => list.map((s) => (s.name === 'dc' ? { ...s, prefixes: [...s.prefixes, parsePrefix('10.99.0.0/16')] } : s)),
    })
    w.lax.inject(buildV4({ src: '10.101.0.5', dst: '10.99.1.1' }))
    w.lax.inject(buildV4({ src: '10.101.0.5', dst: '10.200.0.7' }))
    await w.run()
    expect(w.dal.written).toHaveLength(1)
    expect([...w.dal.written[0].subarray(16, 20)]).toEqual(ip4('10.200.0.7'))
    expect(w.stats('dal').services.dc.drops.l3_dst_not_owned).toBe(1)
  })

  it('drops at the ingress a branch host spoofing a source outside its own site', async () => {
    const w = await world()
    // From the lax branch: the DC's (dal's own site's) address, an address of no site, and IPv6 likewise.
    w.lax.inject(buildV4({ src: '10.200.0.9', dst: '10.200.0.7' }))
    w.lax.inject(buildV4({ src: '192.0.2.1', dst: '10.200.0.7' }))
    w.lax.inject(buildV6({ src: 'fd00:200::9', dst: 'fd00:200::7' }))
    w.lax.inject(buildV4({ src: '10.101.0.5', dst: '10.200.0.7' }))
    await w.run()
    expect(w.dal.written).toHaveLength(1)
    expect([...w.dal.written[0].subarray(12, 16)]).toEqual(ip4('10.101.0.5'))
    expect(w.stats('lax').services.dc.drops.l3_src_not_local).toBe(3)
  })

  it("drops at the exit a packet whose source is not in its ingress relay's sites", async () => {
    // lax claims 10.102.0.0/24 (another branch) as its own site; dal's config says otherwise.
    const w = await world({
      laxServices: (list) => list.map((s) => (s.name === 'site-lax' ? { ...s, prefixes: [...s.prefixes, parsePrefix('10.102.0.0/24')] } : s)),
    })
    w.lax.inject(buildV4({ src: '10.102.0.5', dst: '10.200.0.7' }))
    w.lax.inject(buildV4({ src: '10.101.0.5', dst: '10.200.0.7' }))
    await w.run()
    expect(w.dal.written).toHaveLength(1)
    expect([...w.dal.written[0].subarray(12, 16)]).toEqual(ip4('10.101.0.5'))
    expect(w.stats('dal').services.dc.drops.l3_src_not_ingress).toBe(1)
  })

  it('keeps one flow per 5-tuple and expires idle flows', async () => {
    const w = await world()
    for (let i = 0; i < 3; i++) w.lax.inject(buildV4({ src: '10.101.0.5', dst: '10.200.0.7' }))
    w.lax.inject(buildV4({ src: '10.101.0.6', dst: '10.200.0.7' }))
    await w.run()
    expect(w.dal.written).toHaveLength(4)
    expect(w.stats('lax').services.dc.ingress_flows).toBe(2)
    await w.run(32_000)
    expect(w.stats('lax').services.dc.ingress_flows).toBe(0)
  })

  it('refuses to start an l3 relay without a TUN device', () => {
    const config = buildConfigs({ relays: ['lax', 'dal'], services: [DC] }).get('lax') as RelayConfig
    config.l3 = l3('op3lax')
    const clock = new FakeClock(0)
    expect(() => staticRelay(config, { udp: new FakeNetwork(clock), clock, timers: clock, log: silentLogger, cryptoBackend: 'tweetnacl' })).toThrow(MissingTunError)
  })
})
