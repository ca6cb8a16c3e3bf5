import { describe, expect, it } from 'vitest'
import type { RelayConfig } from '../../src/config/types.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import { FakeDnsResolver } from '../../src/io/fake-dns.js'
import { silentLogger } from '../../src/io/log.js'
import { MIN_REFRESH_S, resolveEndpointNames } from '../../src/node/endpoint-names.js'
import { EndpointNameRefresher } from '../../src/node/endpoint-name-refresher.js'
import { buildConfigs } from '../dataplane/helpers.js'

function laxConfig(): RelayConfig {
  const c = buildConfigs({ relays: ['lax', 'sea', 'dal'], basePort: 7000, services: [{ exits: ['dal'] }] }).get('lax')!
  c.peers[0].endpoint = { host: 'sea.example.net', port: 7001 }
  return c
}

const settle = () => new Promise((r) => setImmediate(r))

describe('peer endpoints given as DNS names', () => {
  it('resolves a name to all its addresses (A, then AAAA) and leaves IP literals alone', async () => {
    const dns = new FakeDnsResolver()
    dns.records.set('sea.example.net', [{ address: '192.0.2.7', ttlS: 300 }, { address: '2001:db8::7', ttlS: 120 }])
    const r = await resolveEndpointNames(laxConfig(), dns)
    const [sea, dal] = r.config.peers
    expect(sea.endpoint).toEqual({ host: '192.0.2.7', port: 7001 })
    expect(sea.endpoints).toEqual([{ host: '192.0.2.7', port: 7001 }, { host: '2001:db8::7', port: 7001 }])
    expect(dal.endpoint).toEqual({ host: '127.0.0.1', port: 7002 })
    expect(r.refreshS).toBe(120)
    expect(dns.lookups).toEqual(['sea.example.net'])
  })

  it('clamps a tiny TTL to the minimum, and has nothing to refresh without names', async () => {
    const dns = new FakeDnsResolver()
    dns.records.set('sea.example.net', [{ address: '192.0.2.7', ttlS: 0 }])
    expect((await resolveEndpointNames(laxConfig(), dns)).refreshS).toBe(MIN_REFRESH_S)
    const plain = buildConfigs({ relays: ['lax', 'sea'], services: [] }).get('lax')!
    expect(await resolveEndpointNames(plain, dns)).toMatchObject({ named: [], refreshS: undefined })
  })

  it('refuses to start with a name that has no address, naming the peer and the name', async () => {
    const dns = new FakeDnsResolver()
    await expect(resolveEndpointNames(laxConfig(), dns)).rejects.toMatchObject({ name: 'EndpointResolveError', peer: 'sea', host: 'sea.example.net' })
    dns.records.set('sea.example.net', Object.assign(new Error('timeout'), { code: 'ETIMEOUT' }))
    await expect(resolveEndpointNames(laxConfig(), dns)).rejects.toThrow(/sea\.example\.net does not resolve: ETIMEOUT/)
  })

  it('looks names up again when their TTL runs out and hands over changed addresses only', async () => {
    const dns = new FakeDnsResolver()
    dns.records.set('sea.example.net', [{ address: '192.0.2.7', ttlS: 60 }])
    const r = await resolveEndpointNames(laxConfig(), dns)
    const clock = new FakeClock(0)
    const applied: string[] = []
    const refresher = new EndpointNameRefresher(r, { resolver: dns, clock, timers: clock, log: silentLogger, apply: (peer, a) => applied.push(`${peer}=${a.map((e) => e.host).join(',')}`) })
    refresher.start()
    clock.advance(59_000)
    await settle()
    expect(dns.lookups).toHaveLength(1)
    clock.advance(1000)
    await settle()
    expect(dns.lookups).toHaveLength(2)
    expect(applied).toEqual([])
    dns.records.set('sea.example.net', [{ address: '198.51.100.9', ttlS: 60 }])
    clock.advance(60_000)
    await settle()
    expect(applied).toEqual(['sea=198.51.100.9'])
    refresher.stop()
    clock.advance(600_000)
    await settle()
    expect(dns.lookups).toHaveLength(3)
  })

  it('keeps the addresses in use when a later lookup fails or comes back empty, and retries sooner', async () => {
    const dns = new FakeDnsResolver()
    dns.records.set('sea.example.net', [{ address: '192.0.2.7', ttlS: 600 }])
    const r = await resolveEndpointNames(laxConfig(), dns)
    const clock = new FakeClock(0)
    const applied: string[] = []
    const refresher = new EndpointNameRefresher(r, { resolver: dns, clock, timers: clock, log: silentLogger, apply: (peer) => applied.push(peer) })
    refresher.start()
    dns.records.set('sea.example.net', [])
    clock.advance(600_000)
    await settle()
    expect(dns.lookups).toHaveLength(2)
    clock.advance(MIN_REFRESH_S * 1000)
    await settle()
    expect(dns.lookups).toHaveLength(3)
    expect(applied).toEqual([])
    refresher.stop()
  })
})
