/**
 * An exit measures its origin with TWAMP-Light against `overpass reflector`'s
 * core on loopback; the ingress routes the service only once that origin
 * measurement has flooded to it, and traffic then flows.
 */
import dgram from 'node:dgram'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startReflector } from '../../src/cli/commands/reflector.js'
import { startDaemon, type RunningDaemon } from '../../src/daemon/index.js'
import { silentLogger } from '../../src/io/log.js'
import { buildConfigs } from '../dataplane/helpers.js'
import { echoServer, freePorts, waitFor } from '../integration/harness.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})

describe('TWAMP origin probing in the daemon', () => {
  it('routes a service once the exit has one-way measurements of its origin', async () => {
    const [lax, dal, svc, origin, twamp] = await freePorts(5)
    const reflector = await startReflector({ host: '127.0.0.1', port: twamp })
    cleanups.push(() => reflector.close())
    const echo = await echoServer(origin)
    cleanups.push(() => echo.close())
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overpass-twamp-'))
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }))
    const configs = buildConfigs({
      relays: ['lax', 'dal'],
      basePort: lax,
      services: [{
        paths: [],
        ingress: [{ relay: 'lax', listen: { host: '127.0.0.1', port: svc } }],
        origin: { host: '127.0.0.1', port: origin },
        originProbe: { method: 'twamp', port: twamp, intervalMs: 50, assumedRttMs: 1 },
      }],
    })
    // buildConfigs numbers ports from basePort; put dal on its own free port.
    configs.get('dal')!.relay.listen.port = dal
    configs.get('lax')!.peers[0].endpoint.port = dal
    const daemons: RunningDaemon[] = []
    for (const c of configs.values()) {
      c.relay.controlSocket = path.join(dir, `${c.relay.id}.sock`)
      daemons.push(await startDaemon(c, { log: silentLogger }))
    }
    cleanups.push(() => daemons.forEach((d) => d.stop()))
    const [ingress, exit] = daemons
    // Routed both ways: the ingress knows the exit's origin leg, the exit knows its way back.
    expect(await waitFor(() => ingress.router.forwardPath('game') !== undefined && exit.router.replyPath('game', 'lax') !== undefined, 8000)).toBe(true)
    expect(ingress.router.forwardPath('game')!.path).toEqual(['lax', 'dal'])
    expect(reflector.counters().reflected).toBeGreaterThan(0)
    const originEdge = exit.router.edges().find((e) => e.to.startsWith('origin'))
    expect(originEdge?.up).toBe(true)

    const client = dgram.createSocket('udp4')
    cleanups.push(() => client.close())
    const got: string[] = []
    client.on('message', (m) => got.push(m.toString()))
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()))
    // Like a real client, retry until the first answer (bounded).
    for (let i = 0; i < 10 && got.length === 0; i++) {
      client.send('via twamp-checked exit', svc, '127.0.0.1')
      await waitFor(() => got.length > 0, 500)
    }
    expect(got[0]).toBe('via twamp-checked exit')
  })
})
