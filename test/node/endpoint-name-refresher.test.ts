/**
 * Peers given by DNS name that a live change adds, moves or removes
 * (node/endpoint-name-refresher.ts with node/live-apply.ts), on a fake DNS
 * and a fake clock: the names are resolved before the change applies, the
 * node only ever gets addresses, each peer is looked up again on its own
 * TTL, and a removed peer is no longer looked up.
 */
import { describe, expect, it } from 'vitest'
import type { PeerConfig, RelayConfig } from '../../src/config/types.js'
import type { IndexedPeer } from '../../src/dataplane/relay.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import { FakeDnsResolver } from '../../src/io/fake-dns.js'
import { silentLogger } from '../../src/io/log.js'
import { EndpointNameRefresher } from '../../src/node/endpoint-name-refresher.js'
import { MIN_REFRESH_S, resolveEndpointNames } from '../../src/node/endpoint-names.js'
import { applyNetworkChange, type LiveNodeControl } from '../../src/node/live-apply.js'
import { buildConfigs } from '../dataplane/helpers.js'

const settle = () => new Promise((r) => setImmediate(r))

/** lax's config with sea given as sea.example.net, and atl kept aside to be added live. */
function configs() {
  const all = buildConfigs({ relays: ['lax', 'sea', 'dal', 'atl'], basePort: 7000, services: [{ exits: ['dal'] }] }).get('lax')!
  const named = (p: PeerConfig, host: string): PeerConfig => ({ ...p, endpoint: { host, port: p.endpoint.port } })
  const [sea, dal, atl] = all.peers
  const start: RelayConfig = { ...all, peers: [named(sea, 'sea.example.net'), dal] }
  const withAtl: RelayConfig = { ...start, peers: [...start.peers, named(atl, 'atl.example.net')] }
  return { start, withAtl, atl: named(atl, 'atl.example.net') }
}

/** A node's live control that records what it is handed. */
function fakeNode(resolvedAtStart: RelayConfig) {
  let table: IndexedPeer[] = resolvedAtStart.peers.map((peer, index) => ({ index, peer }))
  const handed: IndexedPeer[][] = []
  let config = resolvedAtStart
  const live: LiveNodeControl = {
    get config() {
      return config
    },
    handingOver: false,
    peerTable: () => table,
    peerIndexLimit: () => 8,
    setPeers(t) {
      handed.push(t)
      table = t
    },
    setPrivateKey() {},
    handOver: (_next, onTakeOver) => onTakeOver(),
    commit(next) {
      config = next
    },
    later() {},
    draining: new Map(),
    serviceDrainMs: 0,
    log: silentLogger,
    async setServices() {},
  }
  return { live, handed, get config() { return config } }
}

async function world() {
  const dns = new FakeDnsResolver()
  dns.records.set('sea.example.net', [{ address: '192.0.2.7', ttlS: 600 }])
  dns.records.set('atl.example.net', [{ address: '192.0.2.9', ttlS: 60 }])
  const clock = new FakeClock(0)
  const c = configs()
  const resolved = await resolveEndpointNames(c.start, dns)
  const node = fakeNode(resolved.config)
  const applied: string[] = []
  const refresher = new EndpointNameRefresher(resolved, { resolver: dns, clock, timers: clock, log: silentLogger, apply: (peer, a) => applied.push(`${peer}=${a.map((e) => e.host).join(',')}`) })
  refresher.start()
  const live = refresher.liveControl(node.live, c.start)
  const lookups = (name: string) => dns.lookups.filter((n) => n === name).length
  return { dns, clock, c, node, applied, refresher, live, lookups }
}

describe('DNS names of peers changed live', () => {
  it('resolves a name a live change adds before applying it, and hands the node addresses only', async () => {
    const w = await world()
    const r = await applyNetworkChange({ live: w.live }, w.c.withAtl)
    expect(r).toMatchObject({ status: 'applied', changes: ['relays added: atl'] })
    const atl = w.node.handed.at(-1)!.find((t) => t.peer.id === 'atl')!
    expect(atl.peer.endpoint).toEqual({ host: '192.0.2.9', port: 7003 })
    expect(w.node.config.peers.find((p) => p.id === 'atl')!.endpoint.host).toBe('192.0.2.9')
    // Compared as written: the same file again is no change, and no new lookup.
    expect(w.live.config).toBe(w.c.withAtl)
    const before = w.dns.lookups.length
    expect((await applyNetworkChange({ live: w.live }, w.c.withAtl)).status).toBe('unchanged')
    expect(w.dns.lookups.length).toBe(before)
    expect(w.refresher.tracked.sort()).toEqual(['atl', 'sea'])
  })

  it('looks the added peer up again on its own TTL, and hands over its new address', async () => {
    const w = await world()
    w.clock.advance(100_000)
    await applyNetworkChange({ live: w.live }, w.c.withAtl)
    expect(w.lookups('atl.example.net')).toBe(1)
    w.dns.records.set('atl.example.net', [{ address: '198.51.100.9', ttlS: 60 }])
    w.clock.advance(59_000)
    await settle()
    expect(w.lookups('atl.example.net')).toBe(1)
    w.clock.advance(1000)
    await settle()
    expect(w.lookups('atl.example.net')).toBe(2)
    expect(w.applied).toEqual(['atl=198.51.100.9'])
    // sea keeps its own 600 s TTL (lookups are async: let each finish before the clock moves on).
    expect(w.lookups('sea.example.net')).toBe(1)
    for (let t = 0; t < 439_000; t += 1000) {
      w.clock.advance(1000)
      await settle()
    }
    expect(w.lookups('sea.example.net')).toBe(1)
    w.clock.advance(1000)
    await settle()
    expect(w.lookups('sea.example.net')).toBe(2)
    expect(w.lookups('atl.example.net')).toBe(2 + Math.floor(440 / 60))
  })

  it('refuses a change whose new name does not resolve, applying none of it', async () => {
    const w = await world()
    w.dns.records.delete('atl.example.net')
    const r = await applyNetworkChange({ live: w.live }, w.c.withAtl)
    expect(r.status).toBe('invalid')
    expect(r.status === 'invalid' && r.reasons[0]).toMatchObject({ path: 'peers[2].endpoint', message: expect.stringMatching(/atl\.example\.net does not resolve/) })
    expect(w.node.handed).toEqual([])
    expect(w.live.config).toBe(w.c.start)
    expect(w.refresher.tracked).toEqual(['sea'])
  })

  it('stops looking up a peer a live change removed, and one moved from a name to an address', async () => {
    const w = await world()
    await applyNetworkChange({ live: w.live }, w.c.withAtl)
    const seaLiteral = { ...w.c.start.peers[0], endpoint: { host: '192.0.2.70', port: 7001 } }
    const r = await applyNetworkChange({ live: w.live }, { ...w.c.start, peers: [seaLiteral, w.c.start.peers[1]] })
    expect(r).toMatchObject({ status: 'applied', changes: ['relays removed: atl', 'endpoints changed: sea'] })
    expect(w.refresher.tracked).toEqual([])
    const atl = w.lookups('atl.example.net')
    const sea = w.lookups('sea.example.net')
    w.clock.advance(3_600_000)
    await settle()
    expect([w.lookups('atl.example.net'), w.lookups('sea.example.net')]).toEqual([atl, sea])
  })

  it('drops a lookup that was in flight when its peer was removed', async () => {
    const w = await world()
    await applyNetworkChange({ live: w.live }, w.c.withAtl)
    // atl's lookup starts at its TTL and answers only after the removal.
    let answer: (() => void) | undefined
    const resolve = w.dns.resolve.bind(w.dns)
    w.dns.resolve = async (name) => {
      if (name === 'atl.example.net') await new Promise<void>((r) => (answer = r))
      return [{ address: '203.0.113.1', ttlS: 60 }]
    }
    w.clock.advance(60_000)
    await settle()
    expect(answer).toBeDefined()
    await applyNetworkChange({ live: w.live }, w.c.start)
    answer!()
    await settle()
    expect(w.applied).toEqual([])
    w.dns.resolve = resolve
    w.clock.advance(MIN_REFRESH_S * 1000)
    await settle()
    expect(w.refresher.tracked).toEqual(['sea'])
  })
})
