/**
 * Issue 15, item 4, at the daemon level: one service with two exits, each
 * probing the origin with TWAMP-Light every 250 ms against its own
 * `overpass reflector` on loopback. The active exit's reflector stops; the
 * exit misses ORIGIN_DOWN_AFTER_MISSED probes in a row (each a few round
 * trips late, each confirmed at once: origin/probe-pacing.ts), floods the
 * leg down at once, and the ingress moves the flow to the other exit.
 *
 * The figures are read from the relays' own monotonic clock (the daemons
 * run in this process on performance.now()): when the ingress path changed
 * and when the origin got the flow from the other exit, against the moment
 * the reflector closed. By design that is at most ~365 ms plus a loopback
 * flood (docs/routing.md, Failover timing; 120-255 ms measured), but three
 * daemons, two reflectors and the client share one event loop here, on a
 * shared machine: a stall adds to it unbounded, so the bound stays loose.
 * It still fails the rule before issue 15 (three lost probes after a 1 s
 * timeout each, ~1.5 s); the figures it prints are the ones to compare.
 */
import dgram from 'node:dgram'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startReflector, type ReflectorHandle } from '../../src/cli/commands/reflector.js'
import { startDaemon, type RunningDaemon } from '../../src/daemon/index.js'
import { silentLogger } from '../../src/io/log.js'
import { buildConfigs } from '../dataplane/helpers.js'
import { echoServer, freePorts, waitFor } from '../integration/harness.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const INTERVAL_MS = 250
/** Loose: under the old rule's ~1.5 s, far over the miss rule's ~0.4 s plus a loaded machine's stalls. */
const MOVED_WITHIN_MS = 1200

describe('origin failover in the daemon', () => {
  it('moves a flow to the other exit soon after the active exit\'s origin reflector stops answering', async () => {
    const [lax, dal, atl, svc, origin, twDal, twAtl] = await freePorts(7)
    const reflectors = new Map<string, ReflectorHandle>()
    for (const [exit, port] of [['dal', twDal], ['atl', twAtl]] as const) {
      const r = await startReflector({ host: '127.0.0.1', port })
      reflectors.set(exit, r)
      cleanups.push(() => r.close().catch(() => {}))
    }
    const echo = await echoServer(origin)
    cleanups.push(() => echo.close())
    // Which exit socket each datagram came from, on the shared monotonic clock.
    const arrivals: { atMs: number; port: number }[] = []
    echo.on('message', (_m, rinfo) => arrivals.push({ atMs: performance.now(), port: rinfo.port }))
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overpass-origin-failover-'))
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }))
    const configs = buildConfigs({
      relays: ['lax', 'dal', 'atl'],
      basePort: lax,
      services: [{
        exits: ['dal', 'atl'],
        ingress: [{ relay: 'lax', listen: { host: '127.0.0.1', port: svc } }],
        origin: { host: '127.0.0.1', port: origin },
        originProbe: { method: 'twamp', port: twDal, intervalMs: INTERVAL_MS, assumedRttMs: 1 },
      }],
    })
    // Own ports for dal and atl, and atl's own reflector (one per exit, so one leg can fail alone).
    const portOf: Record<string, number> = { lax, dal, atl }
    for (const c of configs.values()) {
      c.relay.listen.port = portOf[c.relay.id]
      for (const p of c.peers) p.endpoint.port = portOf[p.id]
      c.relay.controlSocket = path.join(dir, `${c.relay.id}.sock`)
    }
    const atlCfg = configs.get('atl')!
    atlCfg.services = atlCfg.services.map((s) => ({ ...s, originProbe: { ...s.originProbe, port: twAtl } }))
    const daemons = new Map<string, RunningDaemon>()
    for (const c of configs.values()) daemons.set(c.relay.id, await startDaemon(c, { log: silentLogger }))
    cleanups.push(() => [...daemons.values()].forEach((d) => d.stop()))
    const ingress = daemons.get('lax')!
    const exitOf = (): string | undefined => ingress.router.forwardPath('game')?.path.at(-1)
    const originUp = (exit: string): boolean | undefined => daemons.get(exit)!.router.edges().find((e) => e.from === exit && e.to === 'origin:game')?.up
    // Both legs measured and flooded: the ingress could use either exit.
    expect(await waitFor(() => exitOf() !== undefined && originUp('dal') === true && originUp('atl') === true &&
      ingress.router.edges().filter((e) => e.to === 'origin:game' && e.up).length === 2, 10_000)).toBe(true)

    const client = dgram.createSocket('udp4')
    cleanups.push(() => client.close())
    let echoed = 0
    client.on('message', () => echoed++)
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()))
    // One flow, a datagram every 20 ms, bounded in count.
    let sent = 0
    const sender = setInterval(() => {
      if (sent++ < 400) client.send(`p${sent}`, svc, '127.0.0.1')
    }, 20)
    cleanups.push(() => clearInterval(sender))
    expect(await waitFor(() => echoed >= 10, 5000)).toBe(true)

    const active = exitOf()!
    const other = active === 'dal' ? 'atl' : 'dal'
    const portBefore = arrivals.at(-1)!.port
    const cutMs = performance.now()
    await reflectors.get(active)!.close()
    expect(await waitFor(() => exitOf() === other, 5000)).toBe(true)
    const movedMs = ingress.router.forwardPath('game')!.sinceMs - cutMs
    expect(await waitFor(() => arrivals.some((a) => a.atMs > cutMs && a.port !== portBefore), 3000)).toBe(true)
    const dataMovedMs = arrivals.find((a) => a.atMs > cutMs && a.port !== portBefore)!.atMs - cutMs
    expect(originUp(active)).toBe(false)
    process.stderr.write(`[origin-failover] ${active} -> ${other}: ingress path moved ${movedMs.toFixed(0)} ms, data at the origin from the new exit ${dataMovedMs.toFixed(0)} ms after the reflector stopped (${INTERVAL_MS} ms interval)\n`)
    expect(movedMs).toBeLessThan(MOVED_WITHIN_MS)
    expect(dataMovedMs).toBeLessThan(MOVED_WITHIN_MS)
  }, 30_000)
})
