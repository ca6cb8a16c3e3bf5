/**
 * Live changes on real relay processes (`overpass up`) on loopback, made the
 * way an operator makes them: edit network.yaml, sign a new version,
 * `overpass reload` every relay. A game flow (client -> lax -> ... -> dal ->
 * origin and back) runs throughout and must lose nothing while a relay is
 * added, a relay's key is rotated (announce, switch, retire), a service is
 * added (its port opens; a client of it gets through) and removed (it
 * drains: its flow carries on, a new client is refused, then the port
 * closes), and a relay is removed.
 *
 * Topology (all 127.0.0.1): relays lax, sea, dal (+ atl added later), one
 * service `game` with ingress lax and exit dal (+ `voice`, added and removed
 * later, on the next port), an echo origin.
 */
import dgram from 'node:dgram'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { NETWORK_FILE, OPERATOR_KEY_FILE, writeKit } from '../../src/cli/commands/init.js'
import { signNetworkFile } from '../../src/cli/commands/network.js'
import { generateKeyPair } from '../../src/crypto/index.js'
import { encodeKey, publicKeyOf, signPublicKeyOf } from '../../src/config/values.js'
import { cleanUp, echoServer, freePorts, runCli, startRelay, stopRelay, tempDir, waitFor, type RelayProcess } from './harness.js'

const IDS = ['lax', 'sea', 'dal', 'atl']
/** The flow: one datagram every FLOW_INTERVAL_MS, at most FLOW_MAX packets (bounded). */
const FLOW_INTERVAL_MS = 10
const FLOW_MAX = 20_000
/** The drain of a service removed live, shortened for the test (daemon SERVICE_DRAIN_ENV; 60 s by default). */
const DRAIN_MS = 15_000

let dir: string
let base: number
let servicePort: number
let originPort: number
let version = 1
const relays = new Map<string, RelayProcess>()
const keys = new Map<string, Uint8Array>()
let origin: dgram.Socket

interface NetSpec {
  relays: string[]
  /** Extra fields of a relay's entry (a rotation's next keys, new keys). */
  entry?: Record<string, Record<string, string>>
  extraService?: boolean
}

/** Writes and signs the next network version. */
function publish(spec: NetSpec): void {
  const services: Record<string, unknown>[] = [
    { name: 'game', ingress: [{ relay: 'lax', listen: `127.0.0.1:${servicePort}` }], origin: `127.0.0.1:${originPort}`, exits: ['dal'] },
  ]
  if (spec.extraService) services.push({ name: 'voice', ingress: [{ relay: 'lax', listen: `127.0.0.1:${servicePort + 1}` }], origin: `127.0.0.1:${originPort}`, exits: ['dal'] })
  const network = {
    relays: spec.relays.map((id) => ({
      id,
      public_key: encodeKey(publicKeyOf(keys.get(id)!)),
      sign_key: encodeKey(signPublicKeyOf(keys.get(id)!)),
      endpoint: `127.0.0.1:${base + IDS.indexOf(id)}`,
      ...spec.entry?.[id],
    })),
    services,
    // Rekeys every 3 s: every step of the key rotation sees handshakes.
    tuning: { rekey_after: '3s' },
    // An edge goes down after 2 s of silence, not 0.3 s: on a machine shared with other test runs a
    // starved relay process would otherwise flap routes, and that loss is not what this test measures.
    routing: { loss_down_after: 20 },
  }
  fs.writeFileSync(path.join(dir, NETWORK_FILE), stringify(network))
  signNetworkFile(path.join(dir, NETWORK_FILE), path.join(dir, OPERATOR_KEY_FILE), ++version)
}

async function reload(id: string): Promise<{ code: number | null; stdout: string }> {
  const r = await runCli(['reload', '-c', path.join(dir, `${id}.yaml`)])
  return { code: r.code, stdout: r.stdout + r.stderr }
}

/** A running flow to `port` at lax; `stop()` counts the packets without a reply (after a drain). */
function startFlow(port = servicePort): { stop(): Promise<{ sent: number; lost: number; missing: number[] }>; sent(): number; received(): number; missingBetween(from: number, to: number): number } {
  const client = dgram.createSocket('udp4')
  const seen = new Set<number>()
  let sent = 0
  // Only the service's replies count: other tests' sockets on this loopback (vitest runs files in parallel) may
  // reach a port this client got after them. A reply from the service shorter than its 4-byte index still throws.
  client.on('message', (m, from) => {
    if (from.port === port && from.address === '127.0.0.1') seen.add(m.readUInt32BE(0))
  })
  const timer = setInterval(() => {
    if (sent >= FLOW_MAX) return
    const b = Buffer.alloc(32)
    b.writeUInt32BE(sent++, 0)
    client.send(b, port, '127.0.0.1')
  }, FLOW_INTERVAL_MS)
  return {
    sent: () => sent,
    received: () => seen.size,
    missingBetween: (from, to) => {
      let n = 0
      for (let i = from; i < to; i++) if (!seen.has(i)) n++
      return n
    },
    async stop() {
      clearInterval(timer)
      await new Promise((r) => setTimeout(r, 500))
      client.close()
      const missing: number[] = []
      for (let i = 0; i < sent; i++) if (!seen.has(i)) missing.push(i)
      return { sent, lost: sent - seen.size, missing }
    },
  }
}

/** True when nobody holds the UDP port on 127.0.0.1. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4')
    s.once('error', () => resolve(false))
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

beforeAll(async () => {
  // Inherited by the relay processes this file starts (and only by them: vitest gives each file its own worker).
  process.env.OVERPASS_SERVICE_DRAIN_MS = String(DRAIN_MS)
  dir = tempDir('overpass-live-')
  // Four consecutive free ports for the relays, then the service and the origin.
  const ports = await freePorts(8)
  base = 20_000 + Math.floor(Math.random() * 20_000)
  ;[servicePort, originPort] = ports
  fs.rmSync(dir, { recursive: true, force: true })
  writeKit(dir, { relays: IDS, loopback: true, basePort: base })
  for (const id of IDS) keys.set(id, Buffer.from(/private_key: (\S+)/.exec(fs.readFileSync(path.join(dir, `${id}.key`), 'utf8'))![1], 'base64'))
  origin = await echoServer(originPort)
  publish({ relays: ['lax', 'sea', 'dal'] })
  for (const id of ['lax', 'sea', 'dal']) relays.set(id, await startRelay(id, path.join(dir, `${id}.yaml`)))
}, 60_000)

afterAll(async () => {
  delete process.env.OVERPASS_SERVICE_DRAIN_MS
  await cleanUp(relays.values(), [origin], dir)
})

describe('live changes on running relays', () => {
  it('adds a relay, rotates a key, adds and removes a service, and removes a relay; the flow loses nothing', async () => {
    // Warm up: sessions and routes.
    const warm = startFlow()
    await new Promise((r) => setTimeout(r, 3000))
    await warm.stop()

    const flow = startFlow()
    const marks: [string, number, number][] = []
    const mark = (label: string): void => void marks.push([label, flow.sent(), Date.now()])
    const all = (): string[] => [...relays.keys()]
    const reloadAll = async (ids = all()): Promise<void> => {
      for (const id of ids) {
        const r = await reload(id)
        expect(r.stdout, id).toMatch(/^(applied|nothing changed)/)
        expect(r.code).toBe(0)
      }
    }

    mark('add')
    // 1. Add atl.
    publish({ relays: ['lax', 'sea', 'dal', 'atl'] })
    relays.set('atl', await startRelay('atl', path.join(dir, 'atl.yaml')))
    await reloadAll(['lax', 'sea', 'dal'])
    const atlSeen = async (): Promise<boolean> => {
      const s = await runCli(['status', '-c', path.join(dir, 'lax.yaml'), '--json'])
      return (JSON.parse(s.stdout) as { peers: Record<string, { session: boolean }> }).peers.atl?.session === true
    }
    let up = false
    for (let i = 0; i < 50 && !up; i++) {
      up = await atlSeen()
      if (!up) await new Promise((r) => setTimeout(r, 200))
    }
    expect(up).toBe(true)

    mark('announce')
    // 2. Rotate sea's key: announce the next pair, switch sea's local file to it, retire the old one.
    const fresh = generateKeyPair().privateKey
    fs.writeFileSync(path.join(dir, 'sea-next.key'), `private_key: ${encodeKey(fresh)}\n`, { mode: 0o600 })
    publish({ relays: ['lax', 'sea', 'dal', 'atl'], entry: { sea: { next_public_key: encodeKey(publicKeyOf(fresh)), next_sign_key: encodeKey(signPublicKeyOf(fresh)) } } })
    await reloadAll()
    await new Promise((r) => setTimeout(r, 1500))
    mark('switch')
    const seaFile = path.join(dir, 'sea.yaml')
    fs.writeFileSync(seaFile, fs.readFileSync(seaFile, 'utf8').replace('private_key_file: sea.key', 'private_key_file: sea-next.key'))
    expect((await reload('sea')).stdout).toMatch(/^applied[\s\S]*own key changed/)
    await new Promise((r) => setTimeout(r, 4000)) // past a rekey: sessions renewed under the new key
    mark('retire')
    keys.set('sea', fresh)
    publish({ relays: ['lax', 'sea', 'dal', 'atl'] })
    await reloadAll()
    await new Promise((r) => setTimeout(r, 4000))

    mark('service')
    // 3. Add a service `voice` on the next port: applied live everywhere, a client of it gets through.
    publish({ relays: ['lax', 'sea', 'dal', 'atl'], extraService: true })
    await reloadAll()
    const voice = startFlow(servicePort + 1)
    let through = false
    for (let i = 0; i < 50 && !through; i++) {
      through = voice.received() > 0
      if (!through) await sleep(200)
    }
    expect(through).toBe(true)
    await sleep(1000)

    mark('service removed')
    // 4. Remove it: it drains. Its flow carries on, a new client is refused, then its port closes.
    const removedAt = voice.sent()
    publish({ relays: ['lax', 'sea', 'dal', 'atl'] })
    // All at once, as a spreading version reaches them: each relay drains from its own apply on.
    const startedMs = Date.now()
    for (const r of await Promise.all(all().map((id) => reload(id)))) expect(r.stdout).toMatch(/^applied[\s\S]*services removed \(draining\): voice/)
    const late = startFlow(servicePort + 1)
    await sleep(1500)
    const drainedTo = voice.sent()
    const lateResult = await late.stop()
    expect(lateResult.sent).toBeGreaterThan(50)
    expect(lateResult.lost).toBe(lateResult.sent)
    await sleep(500) // the last replies of the drain window
    expect(Date.now() - startedMs).toBeLessThan(DRAIN_MS) // still inside every relay's drain
    expect(voice.missingBetween(removedAt, drainedTo)).toBe(0)
    let closed = false
    for (let i = 0; i < (DRAIN_MS + 10_000) / 250 && !closed; i++) {
      closed = await portFree(servicePort + 1)
      if (!closed) await sleep(250)
    }
    expect(closed).toBe(true)
    await voice.stop()
    const laxServices = (JSON.parse((await runCli(['status', '-c', path.join(dir, 'lax.yaml'), '--json'])).stdout) as { services: Record<string, unknown> }).services
    expect(Object.keys(laxServices)).toEqual(['game'])

    mark('remove')
    // 5. Remove atl; stop it once every relay applied the change.
    publish({ relays: ['lax', 'sea', 'dal'] })
    await reloadAll(['lax', 'sea', 'dal'])
    await new Promise((r) => setTimeout(r, 2000))

    mark('end')
    const { sent, lost, missing } = await flow.stop()
    if (lost > 0) {
      console.log('missing', missing[0], missing[missing.length - 1], missing.length, 'marks', JSON.stringify(marks))
      for (const [id, r] of relays) for (const l of r.stderr) if (/took over|route changed|config change|session up|origin leg|demoted/.test(l)) console.log(id, l.slice(0, 300))
    }
    expect(sent).toBeGreaterThan(1000)
    expect(lost).toBe(0)
    await stopRelay(relays.get('atl')!)
    relays.delete('atl')

    // status shows the version applied and how the last change went.
    const status = JSON.parse((await runCli(['status', '-c', path.join(dir, 'lax.yaml'), '--json'])).stdout) as { config: { network_version: number; last_change: { result: { status: string } } } }
    expect(status.config.network_version).toBe(version)
    expect(status.config.last_change.result.status).toBe('applied')
    // The relays stayed up the whole time.
    for (const r of relays.values()) expect(r.child.exitCode).toBeNull()
    expect(await waitFor(() => true, 10)).toBe(true)
  }, 120_000)
})
