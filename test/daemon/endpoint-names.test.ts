/**
 * Peers that know dal by a DNS name, through startDaemon on the in-memory
 * WAN (four-relay-wan.ts): the name first points at an address where nothing
 * listens (as after a move); when its TTL runs out the relays look it up
 * again, get dal's real address, and traffic flows through dal.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { RelayConfig } from '../../src/config/types.js'
import { startDaemon, type RunningDaemon } from '../../src/daemon/index.js'
import { FakeDnsResolver } from '../../src/io/fake-dns.js'
import { silentLogger } from '../../src/io/log.js'
import { sameSockets } from '../../src/node/index.js'
import { buildConfigs } from '../dataplane/helpers.js'
import { WAN_RELAYS, echoOriginAndClient, fourRelayWan } from './four-relay-wan.js'

const BASE = 7900
const DAL_PORT = BASE + WAN_RELAYS.indexOf('dal')
let cleanup: (() => void) | undefined
afterEach(() => cleanup?.())

describe('peer endpoints given as DNS names', () => {
  it('follows the name to its new address when the TTL runs out', async () => {
    const { clock, net } = fourRelayWan(BASE)
    const dns = new FakeDnsResolver()
    dns.records.set('dal.example.net', [{ address: '127.0.0.9', ttlS: 30 }])
    const configs = buildConfigs({ relays: WAN_RELAYS, basePort: BASE, services: [{ exits: ['dal'], paths: [] }] })
    for (const c of configs.values()) for (const p of c.peers) if (p.id === 'dal') p.endpoint = { host: 'dal.example.net', port: DAL_PORT }
    const daemons: RunningDaemon[] = []
    for (const config of configs.values()) {
      daemons.push(await startDaemon(config as RelayConfig, { log: silentLogger, noControlSocket: true, clock, timers: clock, sockets: sameSockets(net), resolver: dns, cryptoBackend: 'tweetnacl' }))
    }
    const { received, send, close } = echoOriginAndClient(net)
    cleanup = () => {
      for (const d of daemons) d.stop()
      close()
    }
    const lax = daemons[WAN_RELAYS.indexOf('lax')]
    clock.advance(10_000)
    expect(lax.relay.stats().peers.dal).toMatchObject({ endpoint: `127.0.0.9:${DAL_PORT}`, session: false })

    dns.records.set('dal.example.net', [{ address: '127.0.0.1', ttlS: 30 }])
    clock.advance(20_000)
    await new Promise((r) => setImmediate(r))
    expect(lax.relay.stats().peers.dal.endpoint).toBe(`127.0.0.1:${DAL_PORT}`)
    clock.advance(5000)
    expect(lax.relay.stats().peers.dal.session).toBe(true)
    expect(lax.router.forwardPath('game')).toBeDefined()
    send('hi')
    clock.advance(300)
    expect(received).toEqual(['hi'])
    expect(dns.lookups.filter((n) => n === 'dal.example.net').length).toBeGreaterThanOrEqual(6)
  })

  it('never lets a name take over another peer\'s address (a bad or forged DNS answer)', async () => {
    const { clock, net } = fourRelayWan(BASE + 20)
    const dalPort = BASE + 20 + WAN_RELAYS.indexOf('dal')
    const seaPort = BASE + 20 + WAN_RELAYS.indexOf('sea')
    const dns = new FakeDnsResolver()
    dns.records.set('dal.example.net', [{ address: '127.0.0.1', ttlS: 30 }])
    const configs = buildConfigs({ relays: WAN_RELAYS, basePort: BASE + 20, services: [{ exits: ['dal'], paths: [] }] })
    const lax = configs.get('lax')!
    lax.peers.find((p) => p.id === 'dal')!.endpoint = { host: 'dal.example.net', port: dalPort }
    const daemons: RunningDaemon[] = []
    for (const config of configs.values()) {
      daemons.push(await startDaemon(config as RelayConfig, { log: silentLogger, noControlSocket: true, clock, timers: clock, sockets: sameSockets(net), resolver: dns, cryptoBackend: 'tweetnacl' }))
    }
    cleanup = () => {
      for (const d of daemons) d.stop()
    }
    const laxDaemon = daemons[WAN_RELAYS.indexOf('lax')]
    clock.advance(5000)
    expect(laxDaemon.relay.stats().peers.sea.session).toBe(true)
    // dal's name now points at sea's address (here all relays share 127.0.0.1, so the port tells them
    // apart and the refresher cannot produce sea's port: the update is handed over as it would hand it).
    laxDaemon.relay.setPeerEndpoints('dal', [{ host: '127.0.0.1', port: seaPort }])
    expect(laxDaemon.relay.stats().peers.dal.endpoint).toBe(`127.0.0.1:${dalPort}`)
    const before = laxDaemon.relay.stats().peers.sea.packets_in as number
    clock.advance(3000)
    expect(laxDaemon.relay.stats().peers.sea.packets_in as number).toBeGreaterThan(before + 10)
    expect(laxDaemon.relay.stats().drops.unknown_source).toBeUndefined()
  })

  it('resolves a relay added live by name, follows its name on the TTL, and stops when it is removed', async () => {
    const base = BASE + 40
    const { clock, net } = fourRelayWan(base)
    const atlPort = base + WAN_RELAYS.indexOf('atl')
    const dns = new FakeDnsResolver()
    dns.records.set('atl.example.net', [{ address: '127.0.0.9', ttlS: 30 }])
    const configs = buildConfigs({ relays: WAN_RELAYS, basePort: base, services: [{ exits: ['dal'], paths: [] }] })
    const full = configs.get('lax')! as RelayConfig
    const byName = { ...full, peers: full.peers.map((p) => (p.id === 'atl' ? { ...p, endpoint: { host: 'atl.example.net', port: atlPort } } : p)) }
    const withoutAtl = { ...full, peers: full.peers.filter((p) => p.id !== 'atl') }
    const daemons: RunningDaemon[] = []
    for (const [id, config] of configs) {
      daemons.push(await startDaemon(id === 'lax' ? withoutAtl : (config as RelayConfig), { log: silentLogger, noControlSocket: true, clock, timers: clock, sockets: sameSockets(net), resolver: dns, cryptoBackend: 'tweetnacl' }))
    }
    cleanup = () => {
      for (const d of daemons) d.stop()
    }
    const lax = daemons[WAN_RELAYS.indexOf('lax')]
    clock.advance(3000)
    expect(lax.relay.stats().peers.atl).toBeUndefined()

    expect(await lax.apply(byName, 'test')).toMatchObject({ status: 'applied', changes: ['relays added: atl'] })
    clock.advance(5000)
    expect(lax.relay.stats().peers.atl).toMatchObject({ endpoint: `127.0.0.9:${atlPort}`, session: false })
    dns.records.set('atl.example.net', [{ address: '127.0.0.1', ttlS: 30 }])
    for (let t = 0; t < 30_000; t += 1000) {
      clock.advance(1000)
      await new Promise((r) => setImmediate(r))
    }
    expect(lax.relay.stats().peers.atl.endpoint).toBe(`127.0.0.1:${atlPort}`)
    clock.advance(3000)
    expect(lax.relay.stats().peers.atl.session).toBe(true)
    expect(dns.lookups.filter((n) => n === 'atl.example.net').length).toBe(2)

    expect(await lax.apply(withoutAtl, 'test')).toMatchObject({ status: 'applied', changes: ['relays removed: atl'] })
    for (let t = 0; t < 120_000; t += 1000) {
      clock.advance(1000)
      await new Promise((r) => setImmediate(r))
    }
    expect(dns.lookups.filter((n) => n === 'atl.example.net').length).toBe(2)
    expect(lax.relay.stats().peers.atl).toBeUndefined()
  })
})
