/**
 * `npm run demo`: a five-relay Overpass network on loopback, no root needed.
 *
 *   game client --(at lax)--> lax ... relays ... bos --(CNI)--> origin
 *   game client ------------- direct WAN path --------------> origin
 *
 * Every relay is a real `overpass up` process. Between each pair sits the
 * user-space link emulator applying the built-in one-way delays, and the
 * direct baseline crosses an emulated lax->bos WAN path. The demo sends a
 * game flow both ways at once, then prints the latency map, the routes and
 * direct-versus-overlay one-way latency.
 */
import type { ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { renderPeerKeys, renderRelayYaml } from '../../src/config/render.js'
import { encodeKey, generateKeyPair } from '../../src/crypto/index.js'
import { controlRequest } from '../../src/daemon/control-server.js'
import { formatMap, formatRoutes } from '../../src/cli/commands/map.js'
import { startRelayProcess } from '../../src/cli/relay-process.js'
import { UdpLinkEmulator } from '../linkemu/index.js'
import { freeUdpPorts } from '../../src/io/udp.js'
import type { EdgeView, PathChoice } from '../../src/route/types.js'
import { MeasuredFlow, TRAFFIC_PROFILES, startTimestampEcho, type FlowReport } from '../traffic/index.js'
import { DEMO_EXIT, DEMO_INGRESS, DEMO_ONE_WAY_MS, DEMO_SITES, type DemoSite } from './topology.js'
import { LOOP_DELAY_RESOLUTION_MS, tailBreakdown, type TailBreakdown } from './tails.js'
import { cleanUpOnExit } from '../../src/io/exit-cleanup.js'

const HOST = '127.0.0.1'

export interface DemoOptions {
  seconds: number
  warmupSeconds: number
  json: boolean
  log: (line: string) => void
  /**
   * Serve the ingress relay's status page on this loopback TCP port, and run
   * `duringTraffic` with its URL while the game flow runs (docs:screenshot).
   */
  statusPage?: { port: number; duringTraffic: (url: string) => Promise<void> }
}

export async function runDemo(opts: DemoOptions): Promise<{ direct: FlowReport; overpass: FlowReport; routes: unknown; tails: TailBreakdown }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overpass-demo-'))
  const children: ChildProcess[] = []
  const emu = new UdpLinkEmulator(HOST)
  const closers: (() => void)[] = []
  const cleanup = (): void => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM')
    for (const close of closers) close()
    emu.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
  const releaseSignals = cleanUpOnExit(cleanup)
  try {
    const ports = await freeUdpPorts(DEMO_SITES.length + 2, HOST)
    const relayPort = Object.fromEntries(DEMO_SITES.map((s, i) => [s, ports[i]])) as Record<DemoSite, number>
    const servicePort = ports[DEMO_SITES.length]
    const originPort = ports[DEMO_SITES.length + 1]

    // Emulated WAN links between every pair of relays.
    const endpointFor = new Map<string, number>()
    for (let i = 0; i < DEMO_SITES.length; i++) {
      for (let j = i + 1; j < DEMO_SITES.length; j++) {
        const a = DEMO_SITES[i]
        const b = DEMO_SITES[j]
        const ends = await emu.addLink(`${a}-${b}`, { host: HOST, port: relayPort[a] }, { host: HOST, port: relayPort[b] }, { delayMs: DEMO_ONE_WAY_MS[a][b] }, { delayMs: DEMO_ONE_WAY_MS[b][a] })
        endpointFor.set(`${a}>${b}`, ends.portForA)
        endpointFor.set(`${b}>${a}`, ends.portForB)
      }
    }
    const keys = Object.fromEntries(DEMO_SITES.map((s) => [s, generateKeyPair()])) as Record<DemoSite, ReturnType<typeof generateKeyPair>>
    const service = {
      name: 'game',
      ingress: [{ relay: DEMO_INGRESS, listen: `${HOST}:${servicePort}` }],
      origin: `${HOST}:${originPort}`,
      exits: [DEMO_EXIT],
      profile: 'gaming',
    }
    for (const s of DEMO_SITES) {
      const yaml = renderRelayYaml({
        id: s,
        privateKey: encodeKey(keys[s].privateKey),
        listen: `${HOST}:${relayPort[s]}`,
        controlSocket: path.join(dir, `${s}.sock`),
        peers: DEMO_SITES.filter((p) => p !== s).map((p) => ({ id: p, ...renderPeerKeys(keys[p].privateKey), endpoint: `${HOST}:${endpointFor.get(`${s}>${p}`)}` })),
        services: [service],
        ...(opts.statusPage && s === DEMO_INGRESS ? { extra: { metrics: { listen: `${HOST}:${opts.statusPage.port}`, status_page: true } } } : {}),
      }, `Overpass demo relay ${s} (generated; keys are throwaway)`)
      fs.writeFileSync(path.join(dir, `${s}.yaml`), yaml, { mode: 0o600 })
    }
    opts.log(`starting ${DEMO_SITES.length} relays on loopback (configs in ${dir})`)
    for (const s of DEMO_SITES) children.push((await startRelayProcess(s, path.join(dir, `${s}.yaml`))).child)

    const echo = await startTimestampEcho(HOST, originPort)
    closers.push(() => echo.close())
    const overpass = new MeasuredFlow('overpass', TRAFFIC_PROFILES.game, { host: HOST, port: servicePort }, 1)
    const direct = new MeasuredFlow('direct', TRAFFIC_PROFILES.game, { host: HOST, port: 0 }, 2)
    await overpass.open(HOST)
    await direct.open(HOST)
    closers.push(() => overpass.close(), () => direct.close())
    // The direct baseline: the client's own WAN path straight to the origin.
    const directEnds = await emu.addLink('direct', { host: HOST, port: direct.localPort() }, { host: HOST, port: originPort }, { delayMs: DEMO_ONE_WAY_MS[DEMO_INGRESS][DEMO_EXIT] }, { delayMs: DEMO_ONE_WAY_MS[DEMO_EXIT][DEMO_INGRESS] })
    direct.retarget({ host: HOST, port: directEnds.portForA })

    opts.log(`letting the relays probe each other (at least ${opts.warmupSeconds} s, until the route is steady) ...`)
    const steady = await waitForSteadyRoute(path.join(dir, `${DEMO_INGRESS}.sock`), opts.warmupSeconds * 1000, 3000, 20_000)
    opts.log(steady ? `route steady: ${steady}` : 'no steady route within 20 s; measuring anyway')
    const count = Math.round(opts.seconds * TRAFFIC_PROFILES.game.ratePerSec)
    opts.log(`sending a ${TRAFFIC_PROFILES.game.ratePerSec} Hz game flow for ${opts.seconds} s, direct and through Overpass at once ...`)
    // The emulator shares this process's loop with both flows and the origin: its lateness and the loop's delay are measured over the flows' run only.
    const fwdBefore = (await controlRequest(path.join(dir, `${DEMO_INGRESS}.sock`), { cmd: 'routes' })) as { forward: PathChoice[] }
    emu.resetDelayError()
    const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS })
    loopDelay.enable()
    const cpuBefore = process.cpuUsage()
    const wallBefore = performance.now()
    await Promise.all([overpass.run(count), direct.run(count), opts.statusPage?.duringTraffic(`http://${HOST}:${opts.statusPage.port}/`)])
    loopDelay.disable()
    const cpu = process.cpuUsage(cpuBefore)
    const cpuShare = (cpu.user + cpu.system) / 1000 / (performance.now() - wallBefore)
    await sleep(500)

    const map = (await controlRequest(path.join(dir, `${DEMO_INGRESS}.sock`), { cmd: 'map' })) as { edges: EdgeView[] }
    const fwd = (await controlRequest(path.join(dir, `${DEMO_INGRESS}.sock`), { cmd: 'routes' })) as { relay: string; forward: PathChoice[]; reply: PathChoice[] }
    const rev = (await controlRequest(path.join(dir, `${DEMO_EXIT}.sock`), { cmd: 'routes' })) as { relay: string; forward: PathChoice[]; reply: PathChoice[] }
    const forwardPath = (fwdBefore.forward[0]?.path ?? fwd.forward[0]?.path ?? []) as DemoSite[]
    const directReport = direct.report()
    const overpassReport = overpass.report()
    const tails = tailBreakdown({ direct: directReport, overpass: overpassReport, forwardPath, emu, loopDelay, linkName, cpuShare })
    const result = { direct: directReport, overpass: overpassReport, routes: { forward: fwd.forward, reply: rev.reply }, tails }
    if (opts.json) opts.log(JSON.stringify({ map: map.edges, ...result }, null, 2))
    else {
      opts.log('')
      opts.log(`latency map as ${DEMO_INGRESS} sees it (measured by probes; clocks are not synchronised):`)
      opts.log(formatMap(map.edges))
      opts.log(formatRoutes(fwd))
      opts.log(formatRoutes(rev))
      opts.log(comparison(result.direct, result.overpass))
      opts.log('')
      opts.log(formatTails(tails))
    }
    return result
  } finally {
    releaseSignals()
    cleanup()
  }
}

function comparison(d: FlowReport, o: FlowReport): string {
  const row = (label: string, a: number, b: number): string => {
    const gain = a > 0 ? ((a - b) / a) * 100 : 0
    return `  ${label.padEnd(24)} ${a.toFixed(1).padStart(8)} ${b.toFixed(1).padStart(9)}   ${gain >= 0 ? '-' : '+'}${Math.abs(gain).toFixed(1)}%`
  }
  return [
    `game flow, ${d.sent} packets each way (ms)   direct  overpass   change`,
    row('forward one-way p50', d.forward.p50_ms, o.forward.p50_ms),
    row('forward one-way p99', d.forward.p99_ms, o.forward.p99_ms),
    row('reverse one-way p50', d.reverse.p50_ms, o.reverse.p50_ms),
    row('round trip p50', d.rtt.p50_ms, o.rtt.p50_ms),
    row('round trip p99', d.rtt.p99_ms, o.rtt.p99_ms),
    `  ${'loss'.padEnd(24)} ${d.loss_pct.toFixed(1).padStart(7)}% ${o.loss_pct.toFixed(1).padStart(8)}%`,
    '',
    'Forward traffic takes the fastest one-way detour; replies take the fastest path back,',
    `which here is the direct one: on that same path the two relays cost ${(o.reverse.p50_ms - d.reverse.p50_ms).toFixed(1)} ms at p50`,
    '(two extra user-space hops on a shared 2-core machine). One-way numbers in the map are',
    'estimates (clock offsets are estimated); path choices use exact offset-free path sums.',
  ].join('\n')
}

/** The emulator's name for the link between two sites (addLink above, in DEMO_SITES order). */
function linkName(a: DemoSite, b: DemoSite): string {
  return DEMO_SITES.indexOf(a) < DEMO_SITES.indexOf(b) ? `${a}-${b}` : `${b}-${a}`
}

function formatTails(t: TailBreakdown): string {
  const f = (x: number): string => x.toFixed(2).padStart(6)
  const row = (label: string, p50: number, p99: number): string => `  ${label.padEnd(52)} ${f(p50)} ${f(p99)}`
  return [
    `where the tail comes from (ms above the configured link delays)    p50    p99`,
    row('direct forward (1 emulated link)', t.added_ms.direct_forward.p50, t.added_ms.direct_forward.p99),
    row(`overpass forward (${t.emulated_links.overpass_forward} emulated links, ${t.relays.overpass_forward} relays)`, t.added_ms.overpass_forward.p50, t.added_ms.overpass_forward.p99),
    row('emulator lateness per link traversal', t.emulator.delay_error.p50_ms, t.emulator.delay_error.p99_ms),
    row('event-loop delay of the emulator process', t.emulator.loop_delay_p50_ms, t.emulator.loop_delay_p99_ms),
    `  emulator process (emulator, both flows, origin): ${(t.emulator.cpu_share * 100).toFixed(0)}% of a CPU; releases wake on ${t.emulator.waker}`,
    `  gain over direct: p50 ${t.gain_pct.forward_p50.toFixed(1)}%, p99 ${t.gain_pct.forward_p99.toFixed(1)}% (forward); round trip p50 ${t.gain_pct.rtt_p50.toFixed(1)}%, p99 ${t.gain_pct.rtt_p99.toFixed(1)}%`,
  ].join('\n')
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Polls the ingress until its forward path has not changed for `stableMs` (after `minMs`); returns it. */
async function waitForSteadyRoute(socket: string, minMs: number, stableMs: number, maxMs: number): Promise<string | undefined> {
  const start = Date.now()
  let last = ''
  let since = start
  while (Date.now() - start < maxMs) {
    const r = (await controlRequest(socket, { cmd: 'routes' })) as { forward: PathChoice[] }
    const p = r.forward[0]?.path.join(' > ') ?? ''
    if (p !== last) {
      last = p
      since = Date.now()
    }
    if (p !== '' && Date.now() - start >= minMs && Date.now() - since >= stableMs) return p
    await sleep(200)
  }
  return undefined
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])
if (isMain) {
  const args = process.argv.slice(2)
  const num = (flag: string, dflt: number): number => (args.includes(flag) ? Number(args[args.indexOf(flag) + 1]) : dflt)
  runDemo({ seconds: num('--seconds', 8), warmupSeconds: num('--warmup', 8), json: args.includes('--json'), log: (l) => console.log(l) }).catch((err) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  })
}
