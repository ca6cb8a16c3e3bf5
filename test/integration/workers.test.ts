/**
 * Three relay processes on loopback, each with two data-plane workers:
 *
 *   clients --> lax --> (router's choice) --> dal --> origin
 *
 * Client flows spread over lax's two service-socket workers by the kernel's
 * hash; each flow keeps its lane end to end, so every relay's two workers
 * carry traffic, and replies find the worker that owns their flow.
 */
import dgram from 'node:dgram'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { KeyPair } from '../../src/crypto/index.js'
import { nativeUdpAvailable } from '../../src/io/native-udp.js'
import { echoServer, freePorts, type RelayProcess, runCli, startRelay, statusJson, cleanUp, tempDir, exchangeRounds, udpClients, untilServed, waitFor } from './harness.js'
import { configPath, meshKeys, writeMeshConfigs } from './relay-configs.js'
import { describeIf, needsAvailable } from '../support/requirements.js'

const RELAYS = ['lax', 'sea', 'dal'] as const
const noNative = needsAvailable('the native UDP addon', nativeUdpAvailable())
const dir = tempDir('overpass-workers-')
const relays: RelayProcess[] = []
let origin: dgram.Socket | undefined
let ports: Record<string, number>

interface WorkerStatus {
  worker: number
  services: Record<string, { ingress_flows: number; exit_flows: number; client: Record<string, number>; origin: Record<string, number> }>
  crypto?: { rxPackets: number; txPackets: number }
}
interface Status {
  worker_count?: number
  workers?: WorkerStatus[]
  services: Record<string, { ingress_flows: number; exit_flows: number }>
  drops: Record<string, number>
}

const status = (r: string): Promise<Status> => statusJson<Status>(configPath(dir, r))

let keys: Record<string, KeyPair>

/** Every relay's config file, with the service `voice` (on the next port) too when `voice`. */
function writeConfigs(voice = false): void {
  writeMeshConfigs({
    dir,
    ids: RELAYS,
    keys,
    ports,
    workers: 2,
    // Routed (no pinned path): the other workers must get worker 0's paths. Rekeys every 300 packets
    // of worker 0, so keys change hands while the other worker is sending.
    services: [
      { name: 'game', ingress: [{ relay: 'lax', listen: `127.0.0.1:${ports.game}` }], origin: `127.0.0.1:${ports.origin}`, exits: ['dal'] },
      ...(voice ? [{ name: 'voice', ingress: [{ relay: 'lax', listen: `127.0.0.1:${ports.voice}` }], origin: `127.0.0.1:${ports.origin}`, exits: ['dal'] }] : []),
    ],
    tuning: { rekey_after_packets: 300 },
  })
}

beforeAll(async () => {
  if (noNative) return
  const p = await freePorts(6)
  ports = { lax: p[0], sea: p[1], dal: p[2], game: p[3], origin: p[4], voice: p[5] }
  keys = meshKeys(RELAYS)
  writeConfigs()
  // A service removed live drains this long in these relays (daemon SERVICE_DRAIN_ENV).
  process.env.OVERPASS_SERVICE_DRAIN_MS = '12000'
  origin = await echoServer(ports.origin)
  for (const r of RELAYS) relays.push(await startRelay(r, configPath(dir, r)))
  delete process.env.OVERPASS_SERVICE_DRAIN_MS
}, 60_000)

afterAll(() => cleanUp(relays, [origin], dir))

describeIf(noNative, 'relays with two workers each', () => {
  it('carries 64 flows byte-exact both ways across rekeys, with both workers of every relay in use', async () => {
    const clients = await udpClients(64)
    try {
      expect(await untilServed(clients[0], ports.game)).toBe(true)
      const payload = (i: number, round: number): Buffer => Buffer.from(`flow ${i} round ${round} `.padEnd(40 + ((i * 7 + round) % 300), '.'))
      expect(await exchangeRounds(clients, ports.game, 10, payload)).toBe(true)
      for (const c of clients) expect(c.received.map((b) => b.toString())).toEqual(c.sent.map((b) => b.toString()))

      // Workers report stats once a second.
      await new Promise((r) => setTimeout(r, 1200))
      const lax = await status('lax')
      const sea = await status('sea')
      const dal = await status('dal')
      expect(lax.worker_count).toBe(2)
      // Flows spread over both ingress workers, and the totals add up.
      const ingressFlows = lax.workers!.map((w) => w.services.game.ingress_flows)
      expect(ingressFlows.every((n) => n > 0)).toBe(true)
      expect(lax.services.game.ingress_flows).toBe(ingressFlows[0] + ingressFlows[1])
      expect(lax.services.game.ingress_flows).toBe(64)
      // Each flow stays on its lane: the exit's workers hold the same split as the ingress's.
      expect(dal.workers!.map((w) => w.services.game.exit_flows)).toEqual(ingressFlows)
      // Both workers of every relay on the path decrypted traffic (sea only if the router routes through it).
      for (const st of [lax, dal]) for (const w of st.workers!) expect(w.crypto!.rxPackets).toBeGreaterThan(0)
      expect(sea.worker_count).toBe(2)
      for (const st of [lax, sea, dal]) expect(st.drops.wrong_lane ?? 0).toBe(0)
      // The text status says how many workers and gives each its line.
      const text = (await runCli(['status', '-c', configPath(dir, 'lax')])).stdout
      expect(text).toMatch(/workers 2/)
      expect(text).toMatch(new RegExp(`\\n  0 +flows \\(ingress/exit\\): game ${ingressFlows[0]}/0`))
      expect(text).toMatch(new RegExp(`\\n  1 +flows \\(ingress/exit\\): game ${ingressFlows[1]}/0`))
    } finally {
      for (const c of clients) c.socket.close()
    }
  }, 90_000)

  it('adds a service live on both workers (clients hashed to either get through), then removes it: drained, then its port closed on both', async () => {
    writeConfigs(true)
    for (const r of RELAYS) expect((await runCli(['reload', '-c', configPath(dir, r)])).stdout, r).toMatch(/^applied/)
    const clients = await Promise.all(
      Array.from({ length: 32 }, async () => {
        const socket = dgram.createSocket('udp4')
        let received = 0
        socket.on('message', () => received++)
        await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()))
        return { socket, received: () => received }
      }),
    )
    try {
      // Until the new router has voice's route, packets are dropped (no_route): send until each client got a reply.
      const allThrough = async (): Promise<boolean> => {
        for (let i = 0; i < 100; i++) {
          for (const c of clients) if (c.received() === 0) c.socket.send(Buffer.from('hello voice'), ports.voice, '127.0.0.1')
          if (await waitFor(() => clients.every((c) => c.received() > 0), 200)) return true
        }
        return false
      }
      expect(await allThrough()).toBe(true)
      await new Promise((r) => setTimeout(r, 1200)) // the workers' stats
      const lax = await status('lax')
      const voiceFlows = lax.workers!.map((w) => w.services.voice?.ingress_flows ?? 0)
      expect(voiceFlows.every((n) => n > 0)).toBe(true)
      expect(voiceFlows[0] + voiceFlows[1]).toBe(32)

      // Removed: draining on both workers, then gone, its port free again.
      writeConfigs(false)
      const reloads = await Promise.all(RELAYS.map((r) => runCli(['reload', '-c', configPath(dir, r)])))
      for (const r of reloads) expect(r.stdout).toMatch(/^applied[\s\S]*services removed \(draining\): voice/)
      await new Promise((r) => setTimeout(r, 1200))
      const draining = await status('lax')
      expect((draining.services.voice as { draining?: boolean } | undefined)?.draining).toBe(true)
      expect(draining.workers!.every((w) => w.services.voice !== undefined)).toBe(true)
      let gone = false
      for (let i = 0; i < 100 && !gone; i++) {
        gone = (await status('lax')).workers!.every((w) => w.services.voice === undefined)
        if (!gone) await new Promise((r) => setTimeout(r, 250))
      }
      expect(gone).toBe(true)
      const probe = dgram.createSocket('udp4')
      await expect(new Promise<void>((resolve, reject) => {
        probe.once('error', reject)
        probe.bind(ports.voice, '127.0.0.1', () => resolve())
      })).resolves.toBeUndefined()
      probe.close()
    } finally {
      for (const c of clients) c.socket.close()
    }
  }, 90_000)
})
