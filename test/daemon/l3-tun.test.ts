/**
 * Root only: two real daemons (in this process, overlay on loopback) whose
 * L3 TUN devices live in two per-run network namespaces, and a real ping
 * across them.
 *
 *   ns A (branch)                                         ns B (DC)
 *   10.101.0.1 on tunA ── relay a ══ loopback UDP ══ relay b ── tunB with 10.200.0.1
 *   route 10.200.0.0/24 dev tunA                   route 10.101.0.0/24 dev tunB
 *
 * The echo request leaves ns A into tunA, crosses the overlay, is written into
 * tunB, answered by ns B's kernel, read back from tunB and delivered into tunA.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { L3Config } from '../../src/config/types.js'
import { startDaemon, type RunningDaemon } from '../../src/daemon/daemon.js'
import { silentLogger } from '../../src/io/log.js'
import { configureTun, moveTunToNetns, openTun, tunAvailable } from '../../src/io/tun.js'
import { parsePrefix } from '../../src/l3/prefix.js'
import { buildConfigs } from '../dataplane/helpers.js'
import { deleteNetns, ip } from '../support/netns.js'
import { describeIf, firstGap, needsAvailable, needsRoot, needsTools } from '../support/requirements.js'

const run = promisify(execFile)
const gap = firstGap(needsRoot('the real-TUN L3 test'), needsAvailable('no TUN device', tunAvailable()), needsTools('ip', 'ping'))

const ID = process.pid % 10000
const NS = { a: `opl3a${ID}`, b: `opl3b${ID}` }
const TUN = { a: `opl3ta${ID}`, b: `opl3tb${ID}` }
const daemons: RunningDaemon[] = []

function cleanup(): void {
  for (const d of daemons.splice(0)) d.stop()
  for (const ns of Object.values(NS)) deleteNetns(ns)
}

describeIf(gap, 'L3 mode on real TUN devices', () => {
  beforeAll(async () => {
    cleanup()
    ip('netns', 'add', NS.a)
    ip('netns', 'add', NS.b)
    const configs = buildConfigs({
      relays: ['a', 'b'],
      basePort: 17000 + (ID % 1000) * 2,
      services: [
        { name: 'dc', mode: 'l3', prefixes: [parsePrefix('10.200.0.0/24'), parsePrefix('fd00:200::/64')], exits: ['b'], paths: [['a', 'b']] },
        { name: 'site-a', mode: 'l3', prefixes: [parsePrefix('10.101.0.0/24'), parsePrefix('fd00:101::/64')], exits: ['a'], paths: [['b', 'a']] },
      ],
    })
    const l3 = (tun: string): L3Config => ({ tun, mtu: 1388, maxMtu: 1388, oversizeWithoutDf: 'fragment', clampMss: true, addresses: [] })
    for (const side of ['a', 'b'] as const) {
      const config = configs.get(side)!
      config.l3 = l3(TUN[side])
      const address = side === 'a' ? '10.101.0.1/32' : '10.200.0.1/24'
      daemons.push(
        await startDaemon(config, {
          log: silentLogger,
          noControlSocket: true,
          cryptoBackend: 'tweetnacl',
          // The daemon's own TUN, opened here and moved into the namespace (its fd keeps working there).
          openTun: (cfg) => {
            const tun = openTun(cfg.tun)
            moveTunToNetns(cfg.tun, NS[side])
            configureTun(cfg.tun, { mtu: cfg.mtu, addresses: [address], netns: NS[side] })
            return tun
          },
        }),
      )
    }
    ip('-n', NS.a, 'route', 'add', '10.200.0.0/24', 'dev', TUN.a, 'src', '10.101.0.1')
    ip('-n', NS.b, 'route', 'add', '10.101.0.0/24', 'dev', TUN.b)
    // IPv6 too; nodad so the addresses are usable at once.
    ip('-n', NS.a, 'addr', 'add', 'fd00:101::1/128', 'dev', TUN.a, 'nodad')
    ip('-n', NS.b, 'addr', 'add', 'fd00:200::1/64', 'dev', TUN.b, 'nodad')
    ip('-n', NS.a, 'route', 'add', 'fd00:200::/64', 'dev', TUN.a, 'src', 'fd00:101::1')
    ip('-n', NS.b, 'route', 'add', 'fd00:101::/64', 'dev', TUN.b)
  }, 20_000)

  afterAll(cleanup)

  it('pings from the branch namespace to the DC namespace across the overlay', async () => {
    const { stdout } = await run('ip', ['netns', 'exec', NS.a, 'ping', '-c', '5', '-i', '0.2', '-W', '2', '10.200.0.1'], { timeout: 15_000 }).catch((e: { stdout: string }) => ({ stdout: e.stdout }))
    const received = Number(/(\d+) received/.exec(stdout)?.[1] ?? 0)
    expect(received, stdout).toBeGreaterThanOrEqual(3)
    const [a, b] = daemons.map((d) => d.relay.stats())
    expect(a.services.dc.client.packets_in).toBeGreaterThanOrEqual(5)
    expect(b.services.dc.origin.packets_out).toBeGreaterThanOrEqual(3)
    expect(a.services['site-a'].origin.packets_out).toBeGreaterThanOrEqual(3)
  }, 20_000)

  it('pings over IPv6 across the overlay', async () => {
    const before = daemons[0].relay.stats().services.dc.client.packets_in
    const { stdout } = await run('ip', ['netns', 'exec', NS.a, 'ping', '-6', '-c', '5', '-i', '0.2', '-W', '2', 'fd00:200::1'], { timeout: 15_000 }).catch((e: { stdout: string }) => ({ stdout: e.stdout }))
    const received = Number(/(\d+) received/.exec(stdout)?.[1] ?? 0)
    expect(received, stdout).toBeGreaterThanOrEqual(3)
    expect(daemons[0].relay.stats().services.dc.client.packets_in - before).toBeGreaterThanOrEqual(5)
  }, 20_000)

  it('answers a ping with TTL 1 with ICMP Time Exceeded from the ingress relay', async () => {
    const { stdout } = await run('ip', ['netns', 'exec', NS.a, 'ping', '-c', '1', '-t', '1', '-W', '2', '10.200.0.1'], { timeout: 10_000 }).catch((e: { stdout: string }) => ({ stdout: e.stdout }))
    expect(stdout).toMatch(/Time to live exceeded/i)
    expect(daemons[0].relay.stats().l3?.icmp_errors_sent).toBeGreaterThanOrEqual(1)
  }, 15_000)
})
