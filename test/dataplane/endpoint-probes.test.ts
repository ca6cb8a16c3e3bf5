/**
 * Spare endpoints are probed (wire/endpoint-probe.ts) so a failover goes to
 * one known to work. Two relays' data planes on the in-memory network and a
 * fake clock: lax knows dal at three addresses,
 *
 *   A 127.0.0.1:P  dal's socket (in use first; "provider A", fails on demand)
 *   C 127.0.0.3:P  nothing there (a provider that is down)
 *   B 127.0.0.2:P  a 1:1 NAT onto dal's socket ("provider B")
 *
 * listed A, C, B so that plain round robin would fail over to the dead C.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createSecureEndpoint } from '../../src/crypto/index.js'
import { dataPlaneConfig } from '../../src/config/data-plane.js'
import { SPARE_DOWN_AFTER_LOST, SPARE_PROBE_INTERVAL_MS, TRY_MS } from '../../src/dataplane/peer-endpoints.js'
import { Relay } from '../../src/dataplane/relay.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import { FakeNetwork } from '../../src/io/fake-network.js'
import type { PeerAddress } from '../../src/io/index.js'
import { silentLogger } from '../../src/io/log.js'
import { KIND_PROBE } from '../../src/wire/data.js'
import { ENDPOINT_PROBE_REPLY, KIND_ENDPOINT_PROBE, writeEndpointProbe } from '../../src/wire/endpoint-probe.js'
import { buildConfigs, runInSteps } from './helpers.js'

const BASE = 7400
const P = BASE + 1
const A = `127.0.0.1:${P}`
const B = `127.0.0.2:${P}`
const C = `127.0.0.3:${P}`
let cleanup: (() => void) | undefined
afterEach(() => cleanup?.())

interface Sent {
  peer: number
  length: number
  kind: number
  type: number
}

async function world() {
  const clock = new FakeClock(1_000_000)
  const aDown = { value: false }
  const net = new FakeNetwork(clock, { delayMs: () => 5, lossProbability: (from, to) => (aDown.value && from.port === BASE && to.address === '127.0.0.1' && to.port === P ? 1 : 0) })
  const configs = buildConfigs({ relays: ['lax', 'dal'], basePort: BASE, services: [{ exits: ['dal'], paths: [] }] })
  const laxCfg = configs.get('lax')!
  const dalPeer = laxCfg.peers[0]
  dalPeer.endpoints = [A, C, B].map((e) => ({ host: e.split(':')[0], port: P }))
  const sent = new Map<string, Sent[]>([['lax', []], ['dal', []]])
  const relays = new Map<string, Relay>()
  for (const [id, config] of configs) {
    const relay = new Relay({
      plane: dataPlaneConfig(config),
      udp: net,
      clock,
      timers: clock,
      log: silentLogger,
      // Records the plaintexts of endpoint probes the relay seals (kind, type, length).
      makeEndpoint: (o) => {
        const e = createSecureEndpoint({ ...o, privateKey: config.relay.privateKey, backend: 'tweetnacl' })
        const send = e.send.bind(e)
        e.send = (peer, nowMs, plain, length, lane) => {
          if (plain[0] === KIND_ENDPOINT_PROBE) sent.get(id)!.push({ peer, length, kind: plain[0], type: plain[1] })
          return send(peer, nowMs, plain, length, lane)
        }
        return e
      },
    })
    await relay.start()
    relays.set(id, relay)
  }
  // Provider B: a 1:1 NAT in front of dal's socket.
  const nat = net.open('127.0.0.2', P)
  nat.onMessage((d, from) => net.inject(from, { address: '127.0.0.1', port: P }, d))
  cleanup = () => {
    for (const r of relays.values()) r.stop()
    nat.close()
  }
  const lax = relays.get('lax')!
  const dal = relays.get('dal')!
  // What the control plane would say of lax's edge to dal: up unless it runs over provider A and A is down.
  const check = (): void => lax.checkEndpoints(clock.nowMs(), () => !(aDown.value && lax.peerById('dal')!.endpoint.address === '127.0.0.1'))
  const view = () => lax.stats().peers.dal.endpoints as { endpoint: string; active: boolean; health: string; rtt_ms?: number }[]
  // A session: lax's first datagram to dal starts the handshake.
  lax.sendPlain(lax.peerById('dal')!, Buffer.from([KIND_PROBE]), 1)
  await runInSteps(clock, 500)
  expect(lax.endpoint.hasSession(0)).toBe(true)
  return { clock, net, aDown, lax, dal, sent, check, view }
}

describe('probing spare endpoints', () => {
  it('finds the working spare up (with its round-trip time) and the dead one down, at the probe rate', async () => {
    const w = await world()
    expect(w.view().map((e) => e.health)).toEqual(['unknown', 'unknown', 'unknown'])
    await runInSteps(w.clock, (SPARE_DOWN_AFTER_LOST + 1.5) * SPARE_PROBE_INTERVAL_MS, w.check)
    expect(w.view()).toEqual([
      { endpoint: A, active: true, health: 'up' },
      { endpoint: C, active: false, health: 'down' },
      { endpoint: B, active: false, health: 'up', rtt_ms: expect.any(Number) },
    ])
    // About one probe per spare per interval (±20 % jitter), not one per check.
    const requests = w.sent.get('lax')!.filter((s) => s.type === 1).length
    expect(requests).toBeGreaterThanOrEqual(2 * SPARE_DOWN_AFTER_LOST)
    expect(requests).toBeLessThanOrEqual(2 * (SPARE_DOWN_AFTER_LOST + 3))
  })

  it('fails over to the spare known to work, not the next one in the list', async () => {
    const w = await world()
    await runInSteps(w.clock, 4 * SPARE_PROBE_INTERVAL_MS, w.check)
    w.aDown.value = true
    await runInSteps(w.clock, TRY_MS + 1000, w.check)
    expect(w.lax.stats().peers.dal.endpoint).toBe(B)
    expect(w.view().map((e) => [e.endpoint, e.active, e.health])).toEqual([
      [A, false, 'unknown'],
      [C, false, 'down'],
      [B, true, 'up'],
    ])
  })

  it('answers a request with a reply of exactly its length, and only to an authenticated peer', async () => {
    const w = await world()
    const onWire: { from: string; to: string; length: number }[] = []
    w.net.onTransmit = (from, to, data) => onWire.push({ from: `${from.address}:${from.port}`, to: `${to.address}:${to.port}`, length: data.length })
    await runInSteps(w.clock, 2 * SPARE_PROBE_INTERVAL_MS, w.check)
    const requests = w.sent.get('lax')!.filter((s) => s.type === 1)
    const replies = w.sent.get('dal')!.filter((s) => s.type === ENDPOINT_PROBE_REPLY)
    expect(requests.length).toBeGreaterThan(0)
    expect(replies.length).toBeGreaterThan(0)
    for (const r of [...requests, ...replies]) expect(r.length).toBe(9)
    // Sealed, they are the same size too: every datagram to a spare is a request.
    const sizes = new Set(onWire.filter((d) => d.to === B || d.to === C).map((d) => d.length))
    expect(sizes.size).toBe(1)
    expect(onWire.some((d) => d.from === A && sizes.has(d.length))).toBe(true)
  })

  it('sends nothing back to an unknown address replaying a captured request', async () => {
    const w = await world()
    const captured: Buffer[] = []
    w.net.onTransmit = (_from, to, data) => {
      if (`${to.address}:${to.port}` === B) captured.push(data)
    }
    await runInSteps(w.clock, 2 * SPARE_PROBE_INTERVAL_MS, w.check)
    expect(captured.length).toBeGreaterThan(0)
    const stranger: PeerAddress = { address: '127.0.0.9', port: 4444 }
    const socket = w.net.open(stranger.address, stranger.port)
    const got: Buffer[] = []
    socket.onMessage((d) => got.push(d))
    const before = w.dal.stats().drops.unknown_source ?? 0
    for (const d of captured) w.net.inject(stranger, { address: '127.0.0.1', port: P }, d)
    await runInSteps(w.clock, 200)
    expect(got).toEqual([])
    expect(w.dal.stats().drops.unknown_source).toBe(before + captured.length)
    socket.close()
  })

  it('ignores a reply no probe asked for (counted), so a peer cannot vouch for a spare', async () => {
    const w = await world()
    const forged = Buffer.alloc(9)
    forged[0] = KIND_ENDPOINT_PROBE
    writeEndpointProbe(forged, 1, ENDPOINT_PROBE_REPLY, 0x1234_5678)
    // Before the first probe of C is due, dal claims it answered one.
    w.dal.sendPlain(w.dal.peerById('lax')!, forged, forged.length)
    await runInSteps(w.clock, 100)
    expect(w.view()[1].health).toBe('unknown')
    expect(w.lax.stats().drops.endpoint_probe_unexpected).toBe(1)
  })

  it('drops a malformed probe from a peer without answering it', async () => {
    const w = await world()
    const long = Buffer.alloc(20)
    long[0] = KIND_ENDPOINT_PROBE
    long[1] = 1
    w.lax.sendPlain(w.lax.peerById('dal')!, long, long.length)
    await runInSteps(w.clock, 100)
    expect(w.dal.stats().drops).toMatchObject({ endpoint_probe_malformed: 1, endpoint_probe_malformed_bad_length: 1 })
    expect(w.sent.get('dal')!).toEqual([])
  })
})
