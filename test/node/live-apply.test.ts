/**
 * Live config changes on running relays (node/live-apply.ts), in process on
 * the four-relay WAN (in-memory network, fake clock): a flow runs from a
 * client at lax to the origin behind dal while relays are added, removed
 * and re-tuned; every packet of it must arrive.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { PeerConfig, RelayConfig } from '../../src/config/types.js'
import { generateKeyPair, signPublicKeyOf } from '../../src/crypto/index.js'
import type { CryptoStats } from '../../src/crypto/types.js'
import type { PacketSocket } from '../../src/io/index.js'
import { applyNetworkChange, REMOVED_PEER_LINGER_MS } from '../../src/node/index.js'
import { buildConfigs } from '../dataplane/helpers.js'
import { fourRelayWan, startRoutedRelay, WAN_RELAYS, type RoutedRelay } from '../daemon/four-relay-wan.js'

const BASE = 7400
let cleanup: (() => void) | undefined
afterEach(() => cleanup?.())

/** `config` as a network without `gone` would give it. */
function without(config: RelayConfig, ...gone: string[]): RelayConfig {
  return { ...config, peers: config.peers.filter((p) => !gone.includes(p.id)) }
}

async function world(rekeyAfterMs = 120_000) {
  const { clock, net, cut } = fourRelayWan(BASE)
  const full = buildConfigs({ relays: WAN_RELAYS, basePort: BASE, services: [{ exits: ['dal'], paths: [] }] })
  for (const c of full.values()) c.tuning.rekeyAfterMs = rekeyAfterMs
  const relays = new Map<string, RoutedRelay>()
  // The network starts without atl.
  for (const id of ['lax', 'sea', 'dal']) relays.set(id, await startRoutedRelay(without(full.get(id)!, 'atl'), net, clock))
  const origin = net.open('127.0.0.1', 9000)
  origin.onMessage((d, from) => origin.send(d, 0, d.length, from.port, from.address))
  const client = net.open('127.0.0.1', 50000)
  let received = 0
  client.onMessage(() => received++)
  let sent = 0
  const sockets: PacketSocket[] = [origin, client]
  cleanup = () => {
    for (const r of relays.values()) r.stop()
    for (const s of sockets) s.close()
  }
  /** Runs the flow (one packet every 20 ms) for `ms`. */
  const flow = (ms: number): void => {
    for (let t = 0; t < ms; t += 20) {
      client.send(Buffer.from(`p${sent++}`), 0, 8, 27015, '127.0.0.1')
      clock.advance(20)
    }
  }
  const lost = (): number => {
    clock.advance(500) // the last packets' round trip
    return sent - received
  }
  /** Warms the network up (sessions, map, routes) and starts counting from there. */
  const warmUp = (ms: number): void => {
    flow(ms)
    clock.advance(500)
    sent = 0
    received = 0
  }
  return { clock, warmUp, net, cut, full, relays, flow, lost, path: () => relays.get('lax')!.router.forwardPath('game')?.path.join('>') }
}

describe('live config changes', () => {
  it('adds a relay while a flow runs: it joins the map and the flow loses nothing', async () => {
    const w = await world()
    w.warmUp(5000)
    expect(w.path()).toBe('lax>sea>dal')
    w.relays.set('atl', await startRoutedRelay(w.full.get('atl')!, w.net, w.clock))
    for (const id of ['lax', 'sea', 'dal']) {
      const r = await applyNetworkChange(w.relays.get(id)!, w.full.get(id)!)
      expect(r.status).toBe('applied')
      if (r.status === 'applied') expect(r.diff.peersAdded).toEqual(['atl'])
    }
    w.flow(8000)
    expect(w.lost()).toBe(0)
    const lax = w.relays.get('lax')!
    expect(lax.live.handingOver).toBe(false)
    expect(lax.relay.stats().peers.atl.session).toBe(true)
    expect(lax.router.edges().some((e) => e.from === 'atl' && e.to === 'lax' && e.up)).toBe(true)
    // The routed path never changed: the hand-over kept the old router's routes until the new one had them.
    expect(w.path()).toBe('lax>sea>dal')
  })

  it('removes a relay a flow runs through: the flow moves off it before its session closes, losing nothing', async () => {
    const w = await world()
    w.warmUp(5000)
    expect(w.path()).toBe('lax>sea>dal')
    for (const id of ['lax', 'dal']) expect((await applyNetworkChange(w.relays.get(id)!, without(w.full.get(id)!, 'atl', 'sea'))).status).toBe('applied')
    w.flow(8000)
    expect(w.path()).toBe('lax>dal')
    if (process.env.DEBUG_LIVE) for (const [id, r] of w.relays) console.log(id, JSON.stringify(r.relay.stats().drops), JSON.stringify(Object.fromEntries(Object.entries(r.relay.stats().services).map(([k, v]) => [k, v.drops]))), JSON.stringify(r.bridge.history))
    expect(w.lost()).toBe(0)
    const lax = w.relays.get('lax')!
    // Its session outlives the last route through it by REMOVED_PEER_LINGER_MS (others may still route through it).
    expect(lax.relay.peerById('sea')).toBeDefined()
    w.clock.advance(REMOVED_PEER_LINGER_MS)
    expect(lax.relay.stats().peers.sea).toBeUndefined()
    expect(lax.relay.peerById('sea')).toBeUndefined()
  })

  it('changes routing settings live, and keeps the run: peers never reset their edges from it', async () => {
    const w = await world()
    w.warmUp(5000)
    const before = w.relays.get('sea')!.router.counters?.() ?? {}
    for (const id of ['lax', 'sea', 'dal']) {
      const c = without(w.full.get(id)!, 'atl')
      const r = await applyNetworkChange(w.relays.get(id)!, { ...c, routing: { ...c.routing, probeIntervalMs: 50, hopCostMs: 1 } })
      expect(r.status).toBe('applied')
    }
    w.flow(8000)
    expect(w.lost()).toBe(0)
    expect(w.path()).toBe('lax>sea>dal')
    // Every edge stayed up across the hand-over (no reset, no down-marking).
    expect(w.relays.get('lax')!.router.edges().filter((e) => e.from !== e.to && !e.to.startsWith('origin:')).every((e) => e.up)).toBe(true)
    expect(before).toBeDefined()
  })

  it('rotates a relay\'s key in three steps while flows run through it: no packet lost, handshakes work with either key', async () => {
    // Rekeys every 5 s, so handshakes happen at every step of the rotation.
    const w = await world(5000)
    w.warmUp(5000)
    const sea = w.relays.get('sea')!
    const fresh = generateKeyPair()
    const next = { publicKey: fresh.publicKey, signKey: signPublicKeyOf(fresh.privateKey) }
    /** Sessions relay `id` made with sea (first handshake and rekeys). */
    const sessionsUp = (id: string): number => {
      const r = w.relays.get(id)!.relay
      return (r.stats().crypto as CryptoStats).peers.find((p) => p.peer === r.peerById('sea')!.index)!.sessionsUp
    }
    const withSeaKeys = (id: string, keys: (p: PeerConfig) => PeerConfig): RelayConfig => {
      const c = w.relays.get(id)!.live.config
      return { ...c, peers: c.peers.map((p) => (p.id === 'sea' ? keys(p) : p)) }
    }
    // 1. The network lists sea's next key pair too: accepted, not used yet.
    for (const id of ['lax', 'dal']) expect((await applyNetworkChange(w.relays.get(id)!, withSeaKeys(id, (p) => ({ ...p, next })))).status).toBe('applied')
    w.flow(12_000)
    // 2. sea switches to its new private key (its local file, `overpass reload`).
    const r = await applyNetworkChange(sea, { ...sea.live.config, relay: { ...sea.live.config.relay, privateKey: fresh.privateKey, publicKey: fresh.publicKey } })
    expect(r.status).toBe('applied')
    const before = sessionsUp('lax')
    w.flow(12_000)
    // Sessions were made again since, under sea's new key (lax tried its old one first, then the next one).
    expect(sessionsUp('lax')).toBeGreaterThan(before + 1)
    expect(sessionsUp('dal')).toBeGreaterThan(before + 1)
    // 3. A later version retires the old key.
    for (const id of ['lax', 'dal']) expect((await applyNetworkChange(w.relays.get(id)!, withSeaKeys(id, (p) => ({ ...p, publicKey: next.publicKey, signKey: next.signKey, next: undefined })))).status).toBe('applied')
    const retired = sessionsUp('lax')
    w.flow(12_000)
    expect(sessionsUp('lax')).toBeGreaterThan(retired + 1)
    expect(w.path()).toBe('lax>sea>dal')
    expect(w.lost()).toBe(0)
    // sea's map columns, signed with its new key, are taken.
    expect(w.relays.get('lax')!.router.edges().some((e) => e.from === 'lax' && e.to === 'sea' && e.up)).toBe(true)
    expect(w.relays.get('lax')!.router.counters?.().control_forged ?? 0).toBe(0)
  })

  it('refuses a change that needs a restart, naming the field, and changes nothing', async () => {
    const w = await world()
    w.warmUp(3000)
    const lax = w.relays.get('lax')!
    const c = without(w.full.get('lax')!, 'atl', 'sea')
    const r = await applyNetworkChange(lax, { ...c, relay: { ...c.relay, listen: { host: '127.0.0.1', port: 7999 }, workers: 2 } })
    expect(r.status).toBe('needs-restart')
    if (r.status === 'needs-restart') {
      expect(r.fields.map((f) => f.field)).toEqual(['relay.listen', 'relay.workers'])
      expect(r.fields[0].message).toContain('restart')
    }
    // sea was removed in that config too, but nothing of it was applied.
    expect(lax.relay.peerById('sea')).toBeDefined()
    expect(lax.live.config.peers.map((p) => p.id)).toEqual(['sea', 'dal'])
    expect(lax.live.handingOver).toBe(false)
    w.flow(1000)
    expect(w.lost()).toBe(0)
  })

  it('reports an unchanged config as unchanged', async () => {
    const w = await world()
    const lax = w.relays.get('lax')!
    expect((await applyNetworkChange(lax, lax.live.config)).status).toBe('unchanged')
  })
})
