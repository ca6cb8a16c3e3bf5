/**
 * The diff between two relay configs and what it refuses (node/network-change.ts),
 * which service changes apply live,
 * and the peer tables a change goes through (node/live-apply.ts peerTables).
 */
import { describe, expect, it } from 'vitest'
import type { RelayConfig } from '../../src/config/types.js'
import { describeDiff, diffConfigs, isEmptyDiff, peerTables, routerServicesOf } from '../../src/node/index.js'
import { buildConfigs, fullService } from '../dataplane/helpers.js'

const configs = buildConfigs({ relays: ['lax', 'sea', 'dal', 'atl'], basePort: 7000, services: [{ exits: ['dal'], paths: [] }] })
const lax = configs.get('lax')!
const without = (c: RelayConfig, id: string): RelayConfig => ({ ...c, peers: c.peers.filter((p) => p.id !== id) })

describe('the diff of two configs', () => {
  it('is empty for the same config', () => {
    expect(isEmptyDiff(diffConfigs(lax, structuredClone(lax)))).toBe(true)
  })

  it.each([
    ['a relay added', without(lax, 'atl'), lax, { peersAdded: ['atl'] }],
    ['a relay removed', lax, without(lax, 'atl'), { peersRemoved: ['atl'] }],
    ['an endpoint moved', lax, { ...lax, peers: lax.peers.map((p) => (p.id === 'sea' ? { ...p, endpoint: { host: '127.0.0.2', port: 7001 } } : p)) }, { endpointsMoved: ['sea'] }],
    ['a key changed', lax, { ...lax, peers: lax.peers.map((p) => (p.id === 'sea' ? { ...p, publicKey: new Uint8Array(32).fill(9) } : p)) }, { keysChanged: ['sea'] }],
    ['a next key announced', lax, { ...lax, peers: lax.peers.map((p) => (p.id === 'sea' ? { ...p, next: { publicKey: new Uint8Array(32).fill(7), signKey: new Uint8Array(32).fill(8) } } : p)) }, { keysChanged: ['sea'] }],
    ['a service added', lax, { ...lax, services: [...lax.services, fullService({ name: 'voice' })] }, { servicesAdded: ['voice'] }],
    ['a service removed', { ...lax, services: [...lax.services, fullService({ name: 'voice' })] }, lax, { servicesRemoved: ['voice'] }],
    ['a service made redundant', lax, { ...lax, services: [{ ...lax.services[0], redundant: true }] }, { servicesChanged: ['game'] }],
    ['a service given direct fallback', lax, { ...lax, services: [{ ...lax.services[0], fallback: 'direct' as const }] }, { servicesChanged: ['game'] }],
    ['a service re-profiled', lax, { ...lax, services: [{ ...lax.services[0], profile: 'gaming' as const }] }, { servicesChanged: ['game'] }],
    ['a service\'s idle timeout', lax, { ...lax, services: [{ ...lax.services[0], flowIdleTimeoutMs: 5000 }] }, { servicesChanged: ['game'] }],
    ['a service\'s origin probe', lax, { ...lax, services: [{ ...lax.services[0], originProbe: { ...lax.services[0].originProbe, intervalMs: 100 } }] }, { servicesChanged: ['game'] }],
    ['routing changed', lax, { ...lax, routing: { ...lax.routing, hopCostMs: 2 } }, { routingChanged: true }],
    ['own key changed', lax, { ...lax, relay: { ...lax.relay, privateKey: new Uint8Array(32).fill(3) } }, { ownKeyChanged: true }],
  ])('names %s, and needs no restart for it', (_name, a, b, expected) => {
    const d = diffConfigs(a, b)
    expect(d).toMatchObject(expected)
    expect(d.restart).toEqual([])
    expect(isEmptyDiff(d)).toBe(false)
  })

  it.each([
    ['relay.listen', { ...lax, relay: { ...lax.relay, listen: { host: '127.0.0.1', port: 1 } } }],
    ['relay.workers', { ...lax, relay: { ...lax.relay, workers: 4 } }],
    ['relay.mtu', { ...lax, relay: { ...lax.relay, mtu: 1400 } }],
    ['relay.control_socket', { ...lax, relay: { ...lax.relay, controlSocket: '/tmp/other.sock' } }],
    ['tuning', { ...lax, tuning: { ...lax.tuning, hopLimit: 3 } }],
    ['l3', { ...lax, l3: { tun: 'op0', mtu: 1400, maxMtu: 1420, oversizeWithoutDf: 'drop' as const, clampMss: true, addresses: [] } }],
    ['peers[].endpoint', { ...lax, peers: lax.peers.map((p) => (p.id === 'sea' ? { ...p, endpoint: { host: '::1', port: 7001 } } : p)) }],
    ['services.game', { ...lax, services: [{ ...lax.services[0], exits: ['sea'] }] }],
  ])('refuses a change of %s as needing a restart, naming it', (field, next) => {
    const d = diffConfigs(lax, next as RelayConfig)
    expect(d.restart.map((r) => r.field)).toEqual([field])
    expect(d.restart[0].message).toMatch(/restart/)
  })

  it.each([
    ['its port', { ingress: [{ relay: 'lax', listen: { host: '127.0.0.1', port: 27999 } }] }],
    ['its origin', { origin: { host: '127.0.0.1', port: 9999 } }],
    ['its port and origin, and its redundancy', { ingress: [{ relay: 'lax', listen: { host: '127.0.0.1', port: 27999 } }], origin: { host: '127.0.0.1', port: 9999 }, redundant: true }],
  ])("takes a move of a service's %s live, as a move (the old ones drain)", (_name, change) => {
    const d = diffConfigs(lax, { ...lax, services: [{ ...lax.services[0], ...change }] })
    expect(d.restart).toEqual([])
    expect(d).toMatchObject({ servicesChanged: ['game'], servicesMoved: ['game'] })
    expect(describeDiff(d)).toEqual(['services moved (old ports and origin draining): game'])
  })

  it.each([
    ['its ingress relays', { ingress: [{ relay: 'sea', listen: { host: '127.0.0.1', port: 27015 } }] }, 'ingress'],
    ['its delivery', { delivery: 'proxy-protocol' as const }, 'delivery'],
    ['its flow limit', { maxFlows: 10 }, 'max_flows'],
    ['its pinned paths', { paths: [['lax', 'dal']] }, 'paths'],
  ])('refuses a change of a service\'s %s in place, naming the field and the way to do it live', (_name, change, field) => {
    const d = diffConfigs(lax, { ...lax, services: [{ ...lax.services[0], ...change, redundant: true }] })
    expect(d.restart.map((r) => r.field)).toEqual(['services.game'])
    expect(d.restart[0].message).toContain(`: ${field} changed in place`)
    expect(d.restart[0].message).toContain('under a new name')
    // A mixed change is refused whole: its live part is not listed as applied.
    expect(d.servicesChanged).toEqual([])
  })

  it('refuses adding or removing an l3 service as needing a restart', () => {
    const net = fullService({ name: 'net', mode: 'l3', exits: ['dal'] })
    expect(diffConfigs(lax, { ...lax, services: [...lax.services, net] }).restart).toMatchObject([{ field: 'services.net', message: expect.stringContaining('l3') }])
    expect(diffConfigs({ ...lax, services: [...lax.services, net] }, lax).restart).toMatchObject([{ field: 'services.net' }])
  })
})

describe('what the router plans for', () => {
  const voice = fullService({ name: 'voice' })
  it('is the same whatever the order of the services, and for settings only the data plane reads', () => {
    expect(routerServicesOf({ ...lax, services: [voice, ...lax.services] })).toBe(routerServicesOf({ ...lax, services: [...lax.services, voice] }))
    expect(routerServicesOf({ ...lax, services: [{ ...lax.services[0], fallback: 'direct' }] })).toBe(routerServicesOf(lax))
  })

  it('differs for an added service, a redundant one, or a new profile; not for a pinned one', () => {
    expect(routerServicesOf({ ...lax, services: [...lax.services, voice] })).not.toBe(routerServicesOf(lax))
    expect(routerServicesOf({ ...lax, services: [{ ...lax.services[0], redundant: true }] })).not.toBe(routerServicesOf(lax))
    expect(routerServicesOf({ ...lax, services: [{ ...lax.services[0], profile: 'rtc' }] })).not.toBe(routerServicesOf(lax))
    expect(routerServicesOf({ ...lax, services: [...lax.services, { ...voice, paths: [['lax', 'dal']] }] })).toBe(routerServicesOf(lax))
  })
})

describe('the peer tables of a change', () => {
  const table = lax.peers.map((peer, index) => ({ index, peer }))

  it('keeps the indexes of kept peers and gives a new peer one never used, even after a removal', () => {
    const current = table.filter((t) => t.peer.id !== 'atl') // atl (index 2) was removed earlier
    const next = { ...lax, peers: [...lax.peers.filter((p) => p.id !== 'atl'), { ...lax.peers[2], id: 'mia' }] }
    const { after } = peerTables(current, next, 3)
    expect(after.map((t) => [t.peer.id, t.index])).toEqual([['sea', 0], ['dal', 1], ['mia', 3]])
  })

  it('keeps a removed peer during the hand-over and drops it after', () => {
    const { during, after } = peerTables(table, without(lax, 'sea'), 3)
    expect(during.map((t) => t.peer.id)).toEqual(['sea', 'dal', 'atl'])
    expect(after.map((t) => t.peer.id)).toEqual(['dal', 'atl'])
  })
})
