/**
 * The native transit fast path where it runs: inside the batched overlay
 * socket's receive loop (native/udp.c), on real loopback sockets. A transit
 * relay "tr" sits between two endpoints on node:dgram sockets; what reaches
 * "ex" must be what the TypeScript path would have sent (the differential
 * test checks the bytes), the relay's counters must account for every
 * datagram, and with the fast path off the same traffic goes through JS.
 */
import dgram from 'node:dgram'
import { afterEach, expect, it } from 'vitest'
import { dataPlaneConfig } from '../../src/config/data-plane.js'
import { createSecureEndpoint, type SecureEndpoint } from '../../src/crypto/index.js'
import { Relay } from '../../src/dataplane/relay.js'
import { monotonicClock, realTimers } from '../../src/io/clock.js'
import { silentLogger } from '../../src/io/log.js'
import { nativeTransitUnavailable } from '../../src/io/native-transit.js'
import { nativeUdpFactory } from '../../src/io/native-udp.js'
import { NativeConnectedUdpSocket } from '../../src/io/native-udp-connected.js'
import { nodeUdp } from '../../src/io/udp.js'
import { nameId } from '../../src/wire/ids.js'
import { waitFor } from '../integration/harness.js'
import { describeIf, needsAvailable } from '../support/requirements.js'
import { buildConfigs } from './helpers.js'

const unavailable = nativeTransitUnavailable()
const COUNT = 300

const cleanup: (() => void)[] = []
afterEach(() => {
  for (const f of cleanup.splice(0)) f()
})

interface End {
  endpoint: SecureEndpoint
  socket: dgram.Socket
  data: Buffer[]
}

/** `origin`: "tr" is the service's exit too, delivering to this origin (a datagram ending at tr is local). */
async function world(nativeTransit: boolean, origin?: dgram.Socket): Promise<{ relay: Relay; ing: End; ex: End }> {
  const exits = origin === undefined ? ['ex'] : ['tr']
  const originAt = origin === undefined ? undefined : { host: '127.0.0.1', port: origin.address().port }
  const configs = buildConfigs({ relays: ['ing', 'tr', 'ex'], services: [{ ingress: [{ relay: 'ing', listen: { host: '127.0.0.1', port: 27015 } }], exits, ...(originAt && { origin: originAt }) }] })
  const sockets = new Map<string, dgram.Socket>()
  for (const id of ['ing', 'ex']) {
    const s = dgram.createSocket('udp4')
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve))
    sockets.set(id, s)
    cleanup.push(() => s.close())
  }
  const tr = configs.get('tr')!
  tr.relay.listen = { host: '127.0.0.1', port: 0 }
  for (const p of tr.peers) p.endpoint = { host: '127.0.0.1', port: sockets.get(p.id)!.address().port }
  const relay = new Relay({
    plane: dataPlaneConfig(tr),
    // As the daemon opens them: the exit's origin sockets connected and native (the table delivers on them).
    udp: { open: (host, port) => nodeUdp.open(host, port), openConnected: (lh, lp, ph, pp) => new NativeConnectedUdpSocket(lh, lp, ph, pp) },
    overlayUdp: nativeUdpFactory(),
    clock: monotonicClock,
    timers: realTimers,
    log: silentLogger,
    nativeTransit,
    makeEndpoint: (o) => createSecureEndpoint({ ...o, privateKey: tr.relay.privateKey }),
  })
  await relay.start()
  cleanup.push(() => relay.stop())
  const trPort = await boundPort(relay)
  const end = (id: string): End => {
    const socket = sockets.get(id)!
    const data: Buffer[] = []
    const endpoint = createSecureEndpoint({
      privateKey: configs.get(id)!.relay.privateKey,
      peers: [{ index: 0, publicKey: tr.relay.publicKey }],
      transmit: (_peer, d, length) => socket.send(Buffer.from(d.subarray(0, length)), trPort, '127.0.0.1'), // dgram sends later: copy
    })
    socket.on('message', (msg) => {
      const n = endpoint.receive(0, monotonicClock.nowMs(), msg, msg.length)
      if (n > 0 && endpoint.plaintext()[0] === 1) data.push(Buffer.from(endpoint.plaintext().subarray(0, n)))
    })
    return { endpoint, socket, data }
  }
  return { relay, ing: end('ing'), ex: end('ex') }
}

/** The relay's bound overlay port (it listens on port 0). */
async function boundPort(relay: Relay): Promise<number> {
  const socket = (relay as unknown as { socket: { bound(): Promise<{ port: number }> } }).socket
  return (await socket.bound()).port
}

function dataPacket(seq: number): Buffer {
  const b = Buffer.alloc(20 + 12 + 64, 0x5a)
  b[0] = 1
  b[1] = 0
  b[2] = 4
  b[3] = 3
  b[4] = 1
  b.fill(0, 5, 8)
  b.writeUInt32BE(0x01020304, 8)
  b.writeUInt32BE(7, 12)
  b.writeUInt32BE(seq, 16)
  b.writeUInt32BE(nameId('ing'), 20)
  b.writeUInt32BE(nameId('tr'), 24)
  b.writeUInt32BE(nameId('ex'), 28)
  return b
}

/** ing > tr, tr the last relay (the exit): a stamped forward packet of the service, payload = seq then 60 bytes. */
function localPacket(seq: number): Buffer {
  const b = Buffer.alloc(20 + 8 + 64, 0x5a)
  b[0] = 1
  b[1] = 8 // FLAG_STAMPED, as an ingress sends it
  b[2] = 4
  b[3] = 2
  b[4] = 1
  b.writeUInt32BE(nameId('game'), 8)
  b.writeUInt32BE(7, 12)
  b.writeUInt32BE(seq, 16)
  b.writeUInt32BE(nameId('ing'), 20)
  b.writeUInt32BE(nameId('tr'), 24)
  b.writeUInt32BE(seq, 28)
  return b
}

async function connect(w: { ing: End; ex: End }): Promise<void> {
  const probe = Buffer.from([3, 0])
  for (const end of [w.ing, w.ex]) {
    end.endpoint.send(0, monotonicClock.nowMs(), probe, probe.length)
    expect(await waitFor(() => end.endpoint.hasSession(0), 5000, 10)).toBe(true)
    end.endpoint.send(0, monotonicClock.nowMs(), probe, probe.length) // confirms tr's responder keypair
  }
  await new Promise((r) => setTimeout(r, 50))
}

async function sendAll(w: { ing: End; ex: End }): Promise<void> {
  for (let i = 0; i < COUNT; i++) {
    const p = dataPacket(i)
    w.ing.endpoint.send(0, monotonicClock.nowMs(), p, p.length)
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 5)) // bounded bursts: loopback buffers never overflow
  }
  await waitFor(() => w.ex.data.length === COUNT, 10_000, 10)
  expect(w.ex.data.length).toBe(COUNT)
}

describeIf(needsAvailable('the native transit fast path', { ok: unavailable === undefined, reason: unavailable }), 'native transit fast path on the batched socket', () => {
  it('forwards transit packets inside the receive batch, popping the path, and counts them like the TypeScript path', async () => {
    const w = await world(true)
    await connect(w)
    await sendAll(w)
    for (const [i, d] of w.ex.data.entries()) {
      expect(d[2]).toBe(3) // hops - 1
      expect(d[4]).toBe(2) // pidx + 1
      expect(d.readUInt32BE(16)).toBe(i)
    }
    const stats = w.relay.stats()
    expect(stats.native_transit?.forwarded).toBe(COUNT)
    expect(stats.peers.ing.packets_in).toBeGreaterThanOrEqual(COUNT)
    expect(stats.peers.ex.packets_out).toBeGreaterThanOrEqual(COUNT)
    expect(Object.values(stats.drops).every((n) => n === 0)).toBe(true)
    const crypto = stats.crypto as { total: { rxPackets: number; txPackets: number } }
    expect(crypto.total.rxPackets).toBe((stats.peers.ing.packets_in as number) + (stats.peers.ex.packets_in as number) - handshakes(stats))
    expect(crypto.total.txPackets).toBeGreaterThanOrEqual(COUNT)
  })

  it('delivers datagrams that end here in the batch, natively once the flow is established, to the origin byte for byte', async () => {
    const origin = dgram.createSocket('udp4')
    await new Promise<void>((resolve) => origin.bind(0, '127.0.0.1', resolve))
    cleanup.push(() => origin.close())
    const got: Buffer[] = []
    origin.on('message', (msg) => got.push(msg))
    const w = await world(true, origin)
    await connect(w)
    for (let i = 0; i < COUNT; i++) {
      const p = localPacket(i)
      w.ing.endpoint.send(0, monotonicClock.nowMs(), p, p.length)
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 5))
    }
    await waitFor(() => got.length === COUNT, 10_000, 10)
    expect(got.map((g) => g.readUInt32BE(0))).toEqual(Array.from({ length: COUNT }, (_, i) => i))
    for (const g of got) expect(g.subarray(4).equals(Buffer.alloc(60, 0x5a))).toBe(true)
    const stats = w.relay.stats()
    // The flow's first datagram is JS's (it opens the origin socket); the table delivers the rest on that socket.
    expect(stats.native_transit?.delivered_local).toBeGreaterThan(0)
    expect(stats.native_transit!.delivered_local! + stats.native_transit!.opened_local!).toBeGreaterThanOrEqual(COUNT)
    expect(stats.services.game.origin.packets_out).toBe(COUNT)
    expect(stats.origin_sockets?.txPackets).toBe(COUNT)
    expect(stats.native_transit?.forwarded).toBe(0)
    expect(Object.values(stats.drops).every((n) => n === 0)).toBe(true)
    const crypto = stats.crypto as { total: { rxPackets: number } }
    expect(crypto.total.rxPackets).toBe((stats.peers.ing.packets_in as number) + (stats.peers.ex.packets_in as number) - handshakes(stats))
  })

  it('carries the same traffic through JS when turned off', async () => {
    const w = await world(false)
    await connect(w)
    await sendAll(w)
    const stats = w.relay.stats()
    expect(stats.native_transit).toBeUndefined()
    expect(stats.peers.ex.packets_out).toBeGreaterThanOrEqual(COUNT)
  })
})

/** Handshake datagrams counted in packets_in but not in the crypto rx counter. */
function handshakes(stats: ReturnType<Relay['stats']>): number {
  const c = stats.crypto as { total: { handshakeResponsesSent: number; handshakesInitiated: number } }
  return c.total.handshakeResponsesSent + c.total.handshakesInitiated
}
