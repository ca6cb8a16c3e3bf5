/**
 * Services added and removed on running relays (node/live-apply.ts), in
 * process on the four-relay WAN (in-memory network, fake clock): the flow of
 * the service `game` (lax -> dal) runs throughout and must lose nothing
 * while a service `voice` is added (its port opens at lax, dal starts
 * serving it), used, removed (it drains: its flow carries on, new flows are
 * refused), and finally gone (port closed, flows forgotten).
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { RelayConfig, ServiceConfig } from '../../src/config/types.js'
import type { PacketSocket } from '../../src/io/index.js'
import { silentLogger } from '../../src/io/log.js'
import { applyNetworkChange, createRelayNode, sameSockets, SERVICE_DRAIN_MS, type RelayNode } from '../../src/node/index.js'
import type { FakeNetwork } from '../../src/io/fake-network.js'
import type { FakeClock } from '../../src/io/fake-clock.js'
import { buildConfigs, fullService } from '../dataplane/helpers.js'
import { fourRelayWan } from '../daemon/four-relay-wan.js'

const BASE = 7600
const GAME_PORT = 27015
const VOICE_PORT = 27016
const VOICE: ServiceConfig = fullService({ name: 'voice', ingress: [{ relay: 'lax', listen: { host: '127.0.0.1', port: VOICE_PORT } }], origin: { host: '127.0.0.1', port: 9001 }, exits: ['dal'] })
const IDS = ['lax', 'sea', 'dal']

let cleanup: (() => void) | undefined
afterEach(() => cleanup?.())

/** A client sending to `port`; counts what it sent and what came back. */
function client(net: FakeNetwork, port: number, clientPort: number) {
  const socket = net.open('127.0.0.1', clientPort)
  const c = { socket, sent: 0, received: 0, send: () => void socket.send(Buffer.from(`p${c.sent++}`), 0, 8, port, '127.0.0.1') }
  socket.onMessage(() => c.received++)
  return c
}

async function world() {
  const { clock, net } = fourRelayWan(BASE)
  const full = buildConfigs({ relays: ['lax', 'sea', 'dal', 'atl'], basePort: BASE, services: [{ exits: ['dal'], paths: [] }] })
  const base = new Map<string, RelayConfig>()
  for (const id of IDS) {
    const c = full.get(id)!
    base.set(id, { ...c, peers: c.peers.filter((p) => p.id !== 'atl') })
  }
  const relays = new Map<string, RelayNode>()
  for (const id of IDS) {
    const node = createRelayNode({ config: base.get(id)!, clock, timers: clock, sockets: sameSockets(net), log: silentLogger, cryptoBackend: 'tweetnacl' })
    await node.start()
    relays.set(id, node)
  }
  const sockets: PacketSocket[] = []
  for (const port of [9000, 9001]) {
    const origin = net.open('127.0.0.1', port)
    origin.onMessage((d, from) => origin.send(d, 0, d.length, from.port, from.address))
    sockets.push(origin)
  }
  const game = client(net, GAME_PORT, 50000)
  sockets.push(game.socket)
  cleanup = () => {
    for (const r of relays.values()) r.stop()
    for (const s of sockets) s.close()
  }
  /** Runs the game flow (and `also`, every 20 ms) for `ms`. */
  const run = (ms: number, ...also: { send(): void }[]): void => {
    for (let t = 0; t < ms; t += 20) {
      game.send()
      for (const c of also) c.send()
      clock.advance(20)
    }
    clock.advance(500) // the last packets' round trip
  }
  const withServices = (id: string, services: ServiceConfig[]): RelayConfig => ({ ...relays.get(id)!.live.config, services })
  const applyAll = async (services: (id: string) => ServiceConfig[]): Promise<void> => {
    for (const id of IDS) expect((await applyNetworkChange(relays.get(id)!, withServices(id, services(id)))).status).toBe('applied')
  }
  return { clock, net, relays, game, run, applyAll, withServices, sockets, client: (port: number, clientPort: number) => { const c = client(net, port, clientPort); sockets.push(c.socket); return c } }
}

type World = Awaited<ReturnType<typeof world>>

async function warmWorld(): Promise<World> {
  const w = await world()
  w.run(4000)
  expect(w.game.received).toBeGreaterThan(0)
  w.game.sent = w.game.received = 0
  return w
}

async function addVoice(w: World): Promise<void> {
  await w.applyAll((id) => [...w.relays.get(id)!.live.config.services, VOICE])
}

describe('services changed live', () => {
  it('adds a service: its port opens, a client gets through with no restart, and the other flow loses nothing', async () => {
    const w = await warmWorld()
    const game = w.relays.get('lax')!.live.config.services[0]
    await addVoice(w)
    const voice = w.client(VOICE_PORT, 50001)
    w.run(6000, voice)
    expect(w.game.sent).toBeGreaterThan(250)
    expect(w.game.received).toBe(w.game.sent)
    // The new service's route takes a hand-over and a flood; from then on every packet gets through.
    expect(voice.received).toBeGreaterThan(voice.sent / 2)
    const lax = w.relays.get('lax')!
    expect(lax.router.forwardPath('voice')).toBeDefined()
    expect(lax.relay.stats().services.voice.ingress_flows).toBe(1)
    expect(w.relays.get('dal')!.relay.stats().services.voice.exit_flows).toBe(1)
    // The router's origin edge for voice is up at dal (its origin probe started).
    expect(w.relays.get('dal')!.router.edges().some((e) => e.from === 'dal' && e.to === 'origin:voice' && e.up)).toBe(true)
    expect(lax.live.config.services.map((s) => s.name)).toEqual([game.name, 'voice'])
    // Steady: nothing lost once the route is there.
    const before = voice.received
    voice.sent = 0
    w.run(2000, voice)
    expect(voice.received - before).toBe(voice.sent)
  })

  it('removes a service: new flows are refused at once, the existing one keeps working through the drain, then the port closes', async () => {
    const w = await warmWorld()
    await addVoice(w)
    const voice = w.client(VOICE_PORT, 50001)
    w.run(5000, voice)
    expect(voice.received).toBeGreaterThan(0)
    w.game.sent = w.game.received = 0
    voice.sent = voice.received = 0
    const removed = await Promise.all(IDS.map((id) => applyNetworkChange(w.relays.get(id)!, w.withServices(id, w.relays.get(id)!.live.config.services.filter((s) => s.name !== 'voice')))))
    for (const r of removed) {
      expect(r.status).toBe('applied')
      if (r.status === 'applied') expect(r.diff.servicesRemoved).toEqual(['voice'])
    }
    const lax = w.relays.get('lax')!
    expect(lax.relay.stats().services.voice.draining).toBe(true)
    expect([...lax.live.draining.keys()]).toEqual(['voice'])
    // A new client of voice during the drain: refused at the ingress.
    const late = w.client(VOICE_PORT, 50002)
    w.run(SERVICE_DRAIN_MS - 2000, voice, late)
    expect(voice.received).toBe(voice.sent)
    expect(late.received).toBe(0)
    expect(lax.relay.stats().services.voice.drops.service_draining).toBe(late.sent)
    // The drain ends: port closed, flow state dropped, a router without voice takes over.
    w.run(3000, voice)
    await new Promise((r) => setImmediate(r)) // the drain's end continues after its await (the workers' answer)
    w.run(2000)
    expect(lax.relay.stats().services.voice).toBeUndefined()
    expect(w.relays.get('dal')!.relay.stats().services.voice).toBeUndefined()
    expect(lax.live.draining.size).toBe(0)
    expect(lax.live.handingOver).toBe(false)
    expect(lax.router.forwardPath('voice')).toBeUndefined()
    const port = w.net.open('127.0.0.1', VOICE_PORT)
    w.sockets.push(port)
    await expect(port.bound()).resolves.toMatchObject({ port: VOICE_PORT })
    // The game flow lost nothing through all of it.
    expect(w.game.sent).toBeGreaterThan(3000)
    expect(w.game.received).toBe(w.game.sent)
  })

  it('an exit that drains a service refuses new flows of it from an ingress that has not applied the removal yet, and keeps the old ones', async () => {
    const w = await warmWorld()
    await addVoice(w)
    const voice = w.client(VOICE_PORT, 50001)
    w.run(5000, voice)
    const dal = w.relays.get('dal')!
    expect((await applyNetworkChange(dal, w.withServices('dal', dal.live.config.services.filter((s) => s.name !== 'voice')))).status).toBe('applied')
    voice.sent = voice.received = 0
    const late = w.client(VOICE_PORT, 50002)
    w.run(3000, voice, late)
    expect(voice.received).toBe(voice.sent)
    expect(late.received).toBe(0)
    // lax (still serving voice) opened the flow; dal refused it, and counted it.
    expect(w.relays.get('lax')!.relay.stats().services.voice.ingress_flows).toBe(2)
    expect(dal.relay.stats().services.voice.drops.service_draining).toBe(late.sent)
    expect(dal.relay.stats().services.voice.exit_flows).toBe(1)
  })

  it('refuses the whole change when a new port cannot be opened, naming the port and the reason, and changes nothing', async () => {
    const w = await warmWorld()
    const squatter = w.net.open('127.0.0.1', VOICE_PORT)
    w.sockets.push(squatter)
    const lax = w.relays.get('lax')!
    const before = lax.live.config
    const c = before
    // The same version also removes a relay: nothing of it may happen either.
    const r = await applyNetworkChange(lax, { ...c, peers: c.peers.filter((p) => p.id !== 'sea'), services: [...c.services, VOICE] })
    expect(r.status).toBe('failed')
    if (r.status === 'failed') {
      expect(r.reasons[0].path).toBe('services.voice.ingress')
      expect(r.reasons[0].message).toContain(`127.0.0.1:${VOICE_PORT}`)
      expect(r.reasons[0].message).toContain('address in use')
    }
    expect(lax.live.config).toBe(before)
    expect(lax.live.handingOver).toBe(false)
    expect(lax.relay.peerById('sea')).toBeDefined()
    expect(lax.relay.stats().services.voice).toBeUndefined()
    w.run(1000)
    expect(w.game.received).toBe(w.game.sent)
  })

  it('changes a service\'s fallback and redundancy in place: applied live, the flow loses nothing', async () => {
    const w = await warmWorld()
    await w.applyAll((id) => w.relays.get(id)!.live.config.services.map((s) => ({ ...s, redundant: true, fallback: 'direct' as const })))
    w.run(6000)
    expect(w.game.received).toBe(w.game.sent)
    const lax = w.relays.get('lax')!
    expect(lax.relay.services[0].cfg.fallback).toBe('direct')
    // The new router plans a second, disjoint path for it.
    expect(lax.router.forwardPath('game')?.backup).toBeDefined()
  })

  it('moves a service to another port and origin: new clients take the new ones, the old flow drains on the old ones, then they close', async () => {
    const w = await warmWorld()
    await addVoice(w)
    const old = w.client(VOICE_PORT, 50001)
    w.run(5000, old)
    expect(old.received).toBeGreaterThan(0)
    // What reaches the old origin (9001) from now on: only the old flow's packets may.
    let atOldOrigin = 0
    w.sockets[1].onMessage(() => atOldOrigin++)
    w.game.sent = w.game.received = 0
    old.sent = old.received = 0
    const moved = { ...VOICE, ingress: [{ relay: 'lax', listen: { host: '127.0.0.1', port: VOICE_PORT + 1 } }], origin: { host: '127.0.0.1', port: 9000 } }
    for (const id of IDS) {
      const r = await applyNetworkChange(w.relays.get(id)!, w.withServices(id, [...w.relays.get(id)!.live.config.services.filter((s) => s.name !== 'voice'), moved]))
      expect(r.status).toBe('applied')
      if (r.status === 'applied') expect(r.changes).toEqual(['services moved (old ports and origin draining): voice'])
    }
    const fresh = w.client(VOICE_PORT + 1, 50002)
    const late = w.client(VOICE_PORT, 50003)
    w.run(SERVICE_DRAIN_MS - 2000, old, fresh, late)
    // The old flow kept its port and origin all through the drain; the new port works at once; the old port takes no one new.
    expect(old.received).toBe(old.sent)
    expect(fresh.received).toBe(fresh.sent)
    expect(late.received).toBe(0)
    const lax = w.relays.get('lax')!
    expect(lax.relay.stats().services.voice.drops.service_draining).toBe(late.sent)
    expect(lax.relay.stats().services.voice.ingress_flows).toBe(2)
    // The new flow went to the new origin (game's, 9000, which echoes it too), the old one to the old origin.
    expect(atOldOrigin).toBe(old.sent)
    // The drain ends: the old port closes and the old flow goes, at the ingress and at the exit; the new one carries on.
    w.run(3000, fresh)
    await new Promise((r) => setImmediate(r))
    old.sent = old.received = fresh.sent = fresh.received = 0
    w.run(2000, old, fresh)
    expect(old.received).toBe(0)
    expect(fresh.received).toBe(fresh.sent)
    expect(lax.relay.stats().services.voice.ingress_flows).toBe(1)
    expect(w.relays.get('dal')!.relay.stats().services.voice.exit_flows).toBe(1)
    expect(lax.live.draining.size).toBe(0)
    const port = w.net.open('127.0.0.1', VOICE_PORT)
    w.sockets.push(port)
    await expect(port.bound()).resolves.toMatchObject({ port: VOICE_PORT })
    expect(w.game.received).toBe(w.game.sent)
  })

  it('takes back a draining service only as it was', async () => {
    const w = await warmWorld()
    await addVoice(w)
    const lax = w.relays.get('lax')!
    const services = lax.live.config.services
    expect((await applyNetworkChange(lax, w.withServices('lax', services.filter((s) => s.name !== 'voice')))).status).toBe('applied')
    const changed = await applyNetworkChange(lax, w.withServices('lax', [...services.filter((s) => s.name !== 'voice'), { ...VOICE, origin: { host: '127.0.0.1', port: 9002 } }]))
    expect(changed.status).toBe('failed')
    if (changed.status === 'failed') expect(changed.reasons[0].message).toContain('still draining')
    expect((await applyNetworkChange(lax, w.withServices('lax', services))).status).toBe('applied')
    expect(lax.relay.stats().services.voice.draining).toBeUndefined()
    expect(lax.live.draining.size).toBe(0)
    // Its old drain timer ends nothing.
    w.run(SERVICE_DRAIN_MS + 1000)
    expect(lax.relay.stats().services.voice).toBeDefined()
  })
})
