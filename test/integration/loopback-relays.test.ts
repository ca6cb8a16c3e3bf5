/**
 * Four real relay processes on loopback:
 *
 *   client --> lax ==(link emulator)==> sea --> chi --> dal --> origin
 *   (ingress)                      (transit) (transit) (exit)
 *
 * The lax->sea link runs through the user-space link emulator so the test
 * can replay and tamper with real overlay datagrams in flight.
 */
import dgram from 'node:dgram'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RenderService } from '../../src/config/render.js'
import { parseProxyV2Header } from '../../src/dataplane/proxy-protocol.js'
import { UdpLinkEmulator } from '../../lab/linkemu/index.js'
import { nativeUdpAvailable } from '../../src/io/native-udp.js'
import { cleanUp, echoServer, freePorts, runCli, startRelay, statusJson, stopRelay, tempDir, waitFor, type RelayProcess } from './harness.js'
import { configPath, meshKeys, writeMeshConfigs } from './relay-configs.js'

const RELAYS = ['lax', 'sea', 'chi', 'dal'] as const
const dir = tempDir('overpass-it-')
const relays: RelayProcess[] = []
const origins: dgram.Socket[] = []
const emu = new UdpLinkEmulator()
let ports: Record<string, number>
let tapCount = 0

beforeAll(async () => {
  const p = await freePorts(8)
  ports = { lax: p[0], sea: p[1], chi: p[2], dal: p[3], game: p[4], voice: p[5], gameOrigin: p[6], voiceOrigin: p[7] }
  const link = await emu.addLink('lax-sea', { host: '127.0.0.1', port: ports.lax }, { host: '127.0.0.1', port: ports.sea }, { delayMs: 1 }, { delayMs: 1 })
  // Replay every 50th lax->sea datagram, and send a tampered copy (new
  // counter, flipped payload bit) so it must fail authentication.
  emu.tap('lax-sea', 'ab', (d) => {
    // Transport packets only (type 3): a replayed handshake is counted under its own name.
    if (d[1] !== 3 || ++tapCount % 50 !== 0) return [d]
    const tampered = Buffer.from(d)
    tampered.writeUInt32BE(tampered.readUInt32BE(12) + 100_000, 12)
    tampered[tampered.length - 1] ^= 0x01
    return [d, Buffer.from(d), tampered]
  })
  const endpoint = (from: string, to: string): string => {
    if (from === 'lax' && to === 'sea') return `127.0.0.1:${link.portForA}`
    if (from === 'sea' && to === 'lax') return `127.0.0.1:${link.portForB}`
    return `127.0.0.1:${ports[to]}`
  }
  const services: RenderService[] = [
    { name: 'game', ingress: [{ relay: 'lax', listen: `127.0.0.1:${ports.game}` }], origin: `127.0.0.1:${ports.gameOrigin}`, exits: ['dal'], paths: [['lax', 'sea', 'chi', 'dal']] },
    { name: 'voice', ingress: [{ relay: 'lax', listen: `127.0.0.1:${ports.voice}` }], origin: `127.0.0.1:${ports.voiceOrigin}`, exits: ['dal'], delivery: 'proxy-protocol', paths: [['lax', 'sea', 'chi', 'dal']] },
  ]
  writeMeshConfigs({ dir, ids: RELAYS, keys: meshKeys(RELAYS), ports, endpoint, services, tuning: { rekey_after_packets: 200 } })
  origins.push(await echoServer(ports.gameOrigin))
  // The voice origin answers with the client address it learned from PROXY v2.
  origins.push(await echoServer(ports.voiceOrigin, (d) => {
    const h = parseProxyV2Header(d)
    return Buffer.from(h ? `${h.client.clientAddress}:${h.client.clientPort}|${d.subarray(h.headerLen)}` : 'no header')
  }))
  for (const r of RELAYS) relays.push(await startRelay(r, configPath(dir, r)))
}, 60_000)

afterAll(() => cleanUp(relays, [...origins, emu], dir))

interface Client {
  socket: dgram.Socket
  port: number
  received: Buffer[]
}

async function client(): Promise<Client> {
  const socket = dgram.createSocket('udp4')
  const received: Buffer[] = []
  socket.on('message', (m) => received.push(m))
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()))
  return { socket, port: socket.address().port, received }
}

describe('four relay processes on loopback', () => {
  it('delivers payloads byte-exact both ways for 120 concurrent flows, across rekeys', async () => {
    const clients = await Promise.all(Array.from({ length: 120 }, client))
    const sent = new Map<Client, Buffer[]>()
    let seed = 7
    const rnd = (): number => ((seed = (seed * 48271) % 0x7fffffff) / 0x7fffffff)
    for (let round = 0; round < 5; round++) {
      for (const [i, c] of clients.entries()) {
        const payload = Buffer.alloc(1 + Math.floor(rnd() * 1387))
        for (let i = 0; i < payload.length; i++) payload[i] = Math.floor(rnd() * 256)
        if (!sent.has(c)) sent.set(c, [])
        sent.get(c)!.push(payload)
        c.socket.send(payload, ports.game, '127.0.0.1')
        // 120 flows live at once, but their datagrams are spread over a few
        // milliseconds like real clients', not fired in one burst at one socket.
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 2))
      }
      // Pace the rounds: this test checks correctness, not the socket buffers.
      await waitFor(() => clients.every((c) => c.received.length > round), 5000)
    }
    const complete = await waitFor(() => clients.every((c) => c.received.length === 5), 10_000)
    if (!complete) {
      // Say where packets went missing: every relay's drop counters and the emulator's.
      const missing = clients.filter((c) => c.received.length !== 5).map((c) => `${c.port}:${c.received.length}`)
      const drops: Record<string, unknown> = { emulator_lax_sea: emu.counters('lax-sea', 'ab'), emulator_sea_lax: emu.counters('lax-sea', 'ba') }
      for (const r of RELAYS.slice(0, relays.length)) {
        const st = await runCli(['status', '--json', '-c', configPath(dir, r)])
        const j = JSON.parse(st.stdout)
        drops[r] = { drops: j.drops, services: Object.fromEntries(Object.entries(j.services).map(([k, v]) => [k, (v as { drops: unknown }).drops])), crypto: j.crypto?.total ?? j.crypto }
      }
      expect.fail(`incomplete flows ${missing.join(' ')}; ${JSON.stringify(drops)}`)
    }
    for (const c of clients) {
      const got = c.received.map((b) => b.toString('hex')).sort()
      const want = sent.get(c)!.map((b) => b.toString('hex')).sort()
      expect(got).toEqual(want)
    }
    clients.forEach((c) => c.socket.close())
    // With the addon, the ingress's service socket is the batched native one and says so in status.
    if (nativeUdpAvailable().ok) {
      const st = await statusJson<{ service_sockets?: Record<string, Record<string, number>> }>(configPath(dir, 'lax'))
      const game = st.service_sockets?.[`game@127.0.0.1:${ports.game}`]
      expect(game?.rxPackets).toBeGreaterThanOrEqual(120 * 5)
      expect(game?.txPackets).toBeGreaterThanOrEqual(120 * 5)
      // The exit's per-flow origin sockets are the connected native ones, summed in status.
      const ex = await statusJson<{ origin_sockets?: Record<string, number> }>(configPath(dir, 'dal'))
      expect(ex.origin_sockets?.txPackets).toBeGreaterThanOrEqual(120 * 5)
      expect(ex.origin_sockets?.rxPackets).toBeGreaterThanOrEqual(120 * 5)
      expect(ex.origin_sockets?.rxErrors).toBe(0)
    }
  }, 60_000)

  it('tells a proxy-protocol origin the real client address and port', async () => {
    const c = await client()
    c.socket.send(Buffer.from('hello voice'), ports.voice, '127.0.0.1')
    expect(await waitFor(() => c.received.length === 1, 5000)).toBe(true)
    expect(c.received[0].toString()).toBe(`127.0.0.1:${c.port}|hello voice`)
    c.socket.close()
  })

  it('drops and counts replayed and tampered datagrams, and reports them in status', async () => {
    expect(tapCount).toBeGreaterThanOrEqual(100)
    // Stop injecting and let what is in flight arrive before reading the counters.
    emu.tap('lax-sea', 'ab', undefined)
    const injected = Math.floor(tapCount / 50)
    await new Promise((r) => setTimeout(r, 300))
    const res = await runCli(['status', '--json', '-c', configPath(dir, 'sea')])
    expect(res.code).toBe(0)
    const stats = JSON.parse(res.stdout)
    expect(stats.drops.replay).toBe(injected)
    expect(stats.drops.auth_failed).toBe(injected)
    expect(stats.peers.lax.session).toBe(true)
    // Map columns between real daemons are signed and verify (sign_key rendered from each private key).
    expect(stats.router.control_accepted).toBeGreaterThan(0)
    expect(stats.router.control_forged).toBeUndefined()
    const text = await runCli(['status', '-c', configPath(dir, 'lax')])
    expect(text.stdout).toMatch(/game \(ingress\)/)
    expect(text.stdout).toMatch(/sea\s+127\.0\.0\.1:\d+\s+up/)
  })

  it('shuts down cleanly on SIGTERM and removes its control socket', async () => {
    const dal = relays.pop()!
    expect(await stopRelay(dal)).toBe(0)
    expect(fs.existsSync(path.join(dir, 'dal.sock'))).toBe(false)
    expect(dal.stderr.some((l) => l.includes('"shutting down"'))).toBe(true)
  })
})
