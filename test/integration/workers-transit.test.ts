/**
 * The native transit fast path on every worker of a multi-worker transit:
 * three relay processes on loopback, two workers each, the path pinned
 *
 *   clients --> lax --> sea (transit) --> dal --> origin
 *
 * Client flows spread over lax's two workers; each flow keeps its lane end
 * to end, so both of sea's workers get transit datagrams on their own lane
 * and must forward them natively (each worker's table on its lane), byte
 * exact, with no lane mixed up.
 */
import dgram from 'node:dgram'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { nativeUdpAvailable } from '../../src/io/native-udp.js'
import { nativeTransitUnavailable } from '../../src/io/native-transit.js'
import { echoServer, freePorts, type RelayProcess, startRelay, statusJson, cleanUp, tempDir, exchangeRounds, udpClients, untilServed } from './harness.js'
import { configPath, meshKeys, writeMeshConfigs } from './relay-configs.js'
import { describeIf, needsAvailable } from '../support/requirements.js'

const RELAYS = ['lax', 'sea', 'dal'] as const
const transitWhy = nativeUdpAvailable().reason ?? nativeTransitUnavailable()
const skip = needsAvailable('the native transit fast path', { ok: transitWhy === undefined, reason: transitWhy })
const dir = tempDir('overpass-workers-transit-')
const relays: RelayProcess[] = []
let origin: dgram.Socket | undefined
let ports: Record<string, number>

interface Status {
  workers?: { worker: number; drops: Record<string, number>; native_transit?: { forwarded: number } }[]
  native_transit?: { forwarded: number }
  drops: Record<string, number>
}

const status = (r: string): Promise<Status> => statusJson<Status>(configPath(dir, r))

beforeAll(async () => {
  if (skip) return
  const p = await freePorts(5)
  ports = { lax: p[0], sea: p[1], dal: p[2], game: p[3], origin: p[4] }
  writeMeshConfigs({
    dir,
    ids: RELAYS,
    keys: meshKeys(RELAYS),
    ports,
    workers: 2,
    services: [{ name: 'game', ingress: [{ relay: 'lax', listen: `127.0.0.1:${ports.game}` }], origin: `127.0.0.1:${ports.origin}`, exits: ['dal'], paths: [['lax', 'sea', 'dal']] }],
  })
  origin = await echoServer(ports.origin)
  for (const r of RELAYS) relays.push(await startRelay(r, configPath(dir, r)))
}, 60_000)

afterAll(() => cleanUp(relays, [origin], dir))

describeIf(skip, 'a transit with two workers', () => {
  it('forwards natively on both workers, each on its own lane, byte-exact both ways', async () => {
    const clients = await udpClients(32)
    try {
      expect(await untilServed(clients[0], ports.game)).toBe(true)
      const payload = (i: number, round: number): Buffer => Buffer.from(`flow ${i} round ${round} `.padEnd(40 + ((i * 11 + round) % 200), '.'))
      expect(await exchangeRounds(clients, ports.game, 8, payload)).toBe(true)
      for (const c of clients) expect(c.received.map((b) => b.toString())).toEqual(c.sent.map((b) => b.toString()))

      // Workers report stats once a second.
      await new Promise((r) => setTimeout(r, 1200))
      const sea = await status('sea')
      const forwarded = sea.workers!.map((w) => w.native_transit?.forwarded ?? 0)
      expect(forwarded.every((n) => n > 0)).toBe(true)
      expect(sea.native_transit!.forwarded).toBe(forwarded[0] + forwarded[1])
      for (const r of RELAYS) expect((await status(r)).drops.wrong_lane ?? 0).toBe(0)
    } finally {
      for (const c of clients) c.socket.close()
    }
  }, 90_000)
})
