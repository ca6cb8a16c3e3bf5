/**
 * Three relay processes on loopback, two data-plane workers each; lax and
 * sea know dal at two endpoints, the first a port where nothing listens
 * (a provider that is down), the second dal's real one:
 *
 *   clients --> lax --> (router's choice) --> dal --> origin
 *
 * Worker 0 of lax (and sea) finds the first endpoint dead and moves to the
 * second. Every lane must follow: flows the kernel steers to worker 1 are
 * sealed and sent by worker 1, to the endpoint worker 0 chose, or they are
 * lost. Each client flow gets every reply, and both workers carry flows.
 */
import dgram from 'node:dgram'
import { parse, stringify } from 'yaml'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { nativeUdpAvailable } from '../../src/io/native-udp.js'
import { echoServer, freePorts, type RelayProcess, startRelay, statusJson, cleanUp, tempDir, exchangeRounds, udpClients, untilServed } from './harness.js'
import { configPath, meshKeys, writeMeshConfigs } from './relay-configs.js'
import { describeIf, needsAvailable } from '../support/requirements.js'

const RELAYS = ['lax', 'sea', 'dal'] as const
const FLOWS = 32
const noNative = needsAvailable('the native UDP addon', nativeUdpAvailable())
const dir = tempDir('overpass-endpoint-workers-')
const relays: RelayProcess[] = []
let origin: dgram.Socket | undefined
let ports: Record<string, number>

interface PeerStatus {
  endpoint: string
  session: boolean
  endpoints?: { endpoint: string; active: boolean; health: string }[]
}
interface Status {
  workers?: { worker: number; services: Record<string, { ingress_flows: number; exit_flows: number }>; crypto?: { rxPackets: number; txPackets: number } }[]
  peers: Record<string, PeerStatus>
  drops: Record<string, number>
}

const status = (r: string): Promise<Status> => statusJson<Status>(configPath(dir, r))

beforeAll(async () => {
  if (noNative) return
  const p = await freePorts(6)
  ports = { lax: p[0], sea: p[1], dal: p[2], game: p[3], origin: p[4], dead: p[5] }
  const mesh = {
    dir,
    ids: RELAYS,
    keys: meshKeys(RELAYS),
    ports,
    workers: 2,
    services: [{ name: 'game', ingress: [{ relay: 'lax', listen: `127.0.0.1:${ports.game}` }], origin: `127.0.0.1:${ports.origin}`, exits: ['dal'] }],
  }
  // dal at two endpoints (the renderer writes one): the dead port first, then its real one.
  writeMeshConfigs(mesh, (_id, yaml) => {
    const doc = parse(yaml) as { peers: { id: string; endpoint?: string; endpoints?: string[] }[] }
    for (const peer of doc.peers) {
      if (peer.id !== 'dal') continue
      delete peer.endpoint
      peer.endpoints = [`127.0.0.1:${ports.dead}`, `127.0.0.1:${ports.dal}`]
    }
    return stringify(doc)
  })
  origin = await echoServer(ports.origin)
  for (const r of RELAYS) relays.push(await startRelay(r, configPath(dir, r)))
}, 60_000)

afterAll(() => cleanUp(relays, [origin], dir))

describeIf(noNative, 'a peer endpoint failover on relays with two workers', () => {
  it('moves every lane to the endpoint worker 0 chose: flows on both workers get all their replies', async () => {
    // Worker 0 gives the dead endpoint TRY_MS (3 s) before it moves.
    let moved = false
    for (let i = 0; i < 100 && !moved; i++) {
      const [lax, sea] = await Promise.all([status('lax'), status('sea')])
      moved = [lax, sea].every((s) => s.peers.dal.endpoint === `127.0.0.1:${ports.dal}` && s.peers.dal.session)
      if (!moved) await new Promise((r) => setTimeout(r, 200))
    }
    expect(moved).toBe(true)
    const clients = await udpClients(FLOWS)
    try {
      expect(await untilServed(clients[0], ports.game)).toBe(true)
      expect(await exchangeRounds(clients, ports.game, 5, (i, round) => Buffer.from(`flow ${i} round ${round}`), 3000)).toBe(true)
      for (const c of clients) expect(c.received.map(String)).toEqual(c.sent.map(String))

      // Workers report stats once a second.
      await new Promise((r) => setTimeout(r, 1200))
      const lax = await status('lax')
      const dal = await status('dal')
      const ingressFlows = lax.workers!.map((w) => w.services.game.ingress_flows)
      expect(ingressFlows.every((n) => n > 0)).toBe(true)
      expect(dal.workers!.map((w) => w.services.game.exit_flows)).toEqual(ingressFlows)
      for (const w of lax.workers!) expect(w.crypto!.txPackets).toBeGreaterThan(0)
      // Per-endpoint health: the dead spare turns down once its probes (every ~5 s) go unanswered, and lax
      // stays on dal's real endpoint even if the loaded machine makes the edge look down for a while.
      let spare = lax.peers.dal.endpoints
      for (let i = 0; i < 60 && spare?.[0].health !== 'down'; i++) {
        await new Promise((r) => setTimeout(r, 500))
        spare = (await status('lax')).peers.dal.endpoints
      }
      expect(spare?.map((e) => [e.endpoint, e.active, e.health === 'down'])).toEqual([
        [`127.0.0.1:${ports.dead}`, false, true],
        [`127.0.0.1:${ports.dal}`, true, false],
      ])
    } finally {
      for (const c of clients) c.socket.close()
    }
  }, 90_000)
})
