/**
 * `npm run bench:e2e`: Overpass against the kernel, a bare Node forwarder
 * chain and wireguard-go, side by side in one run on one namespace line
 * (see netns.ts). Needs root; prints a skip line otherwise.
 *
 *   --json              print the results as JSON at the end
 *   --systems a,b       subset of kernel,node_forwarder,wireguard_go,overpass,overpass_transit
 *                       (overpass_transit: one transit relay loaded alone with sealed datagrams, transit.ts)
 *   --no-same           skip the same-CPU placement runs
 *   --no-transit        skip the max-pps search with only the transit relay on CPU 1
 *   --fixed-only        only the fixed-rate runs (for profiling)
 *   --flows N           client flows for the Overpass memory check (default 10000, 0 to skip)
 *   --profile DIR       run the Node relays with --cpu-prof, profiles into DIR
 *   --node-flags "..."  extra node flags for the Node relays (e.g. --max-semi-space-size=1)
 *   --heap-snapshot     after the flows check, SIGUSR2 to every relay (pair with
 *                       --node-flags "--heapsnapshot-signal=SIGUSR2"; snapshots land in the relay's cwd)
 *                       and copies each relay's /proc/PID/smaps into the current directory
 *   --baseline DIR      also run the relays of another built checkout as
 *                       `overpass_baseline` (before/after an optimisation in one run)
 *   --rounds N          interleaved rounds of the p99-at-10k comparison (node forwarder,
 *                       overpass[, baseline] started in turn each round; default 3, 0 skips;
 *                       interleaved.ts)
 *   --interleaved-only  only those rounds (with --baseline: a quick before/after per relay role)
 *   --hop               only the one-relay hop at game rates (hop.ts): added one-way latency and
 *                       relay CPU per datagram for kernel, node_forwarder, overpass, wireguard_go, nebula;
 *                       --json prints { hop: { <system>: { <rate>: {...} } }, ... }
 *   --hop-rounds N      rounds of the hop comparison (default 3; the median is reported)
 *   --roles             only the per-role CPU run (roles.ts): ingress, transit and exit CPU per
 *                       datagram of one Overpass chain at 100 B and 1200 B, ratios to the transit;
 *                       with --baseline DIR the other checkout's chain too, in turn each round;
 *                       --json prints { roles: { <system>: { <bytes>: {...} } }, ... }
 *   --roles-rounds N    rounds of the per-role run (default 3; the median is reported)
 *   --roles-rate N      round trips/s of the per-role run (default 10000; lower it on a loaded machine)
 *   --hop-rates a,b     one-way datagrams/s of the hop runs (default 1000,5000, the game rates;
 *                       add e.g. 30000 to compare CPU per datagram of busy relays side by side)
 *   --hop-bytes N       payload bytes of the hop runs' datagrams (default 100; 1200 for video and RTC)
 *   --hop-systems a,b   subset of the hop systems (kernel always runs: it is the floor);
 *                       with --baseline DIR the other checkout's transit runs as overpass_baseline
 *   --workers-curve 1,2 with overpass_transit: the transit's ladder again with each of these
 *                       relay.workers counts, all on CPUs 0-1 (transit.ts measureTransitWorkers)
 *   --no-progress       no progress on stderr (by default: a bar on a terminal, a line per 10%
 *                       of the planned steps otherwise; progress-plan.ts)
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { compileLoadgen, Loadgen } from './loadgen.js'
import { FIXED_RATES, Measurer, PLACEMENTS, round, type RateResult, type SearchStep } from './measure.js'
import { NetnsLine } from './netns.js'
import { openFds, rssBreakdownMb, rssMb } from './proc.js'
import { killAllChildren, sleep } from './shell.js'
import { PAYLOAD_BYTES } from './transit.js'
import { BIN, ensureWireguard, ORIGIN_PORT, STARTERS, type RunningSystem, type SystemName } from './systems.js'
import { measureTransit, measureTransitWorkers, type TransitResult } from './transit.js'
import { printTable, summarise, type SystemResult } from './report.js'
import { interleavedP99, type InterleavedResult } from './interleaved.js'
import { HOP_RATES, HOP_SYSTEMS, measureHop, printHop, type HopSystem } from './hop.js'
import { measureRoles, printRoles, ROLE_RATE } from './roles.js'
import { missingToolsReason } from '../../src/io/system-tools.js'
import { cleanUpOnExit } from '../../src/io/exit-cleanup.js'
import { createBenchProgress, interleavedRuns, plannedSteps, type BenchProgress } from './progress-plan.js'

const ALL: SystemName[] = ['kernel', 'node_forwarder', 'wireguard_go', 'overpass', 'overpass_transit']
const KNOWN: SystemName[] = [...ALL, 'overpass_baseline']
const ROLES = ['ingress', 'transit', 'exit'] as const
type Role = (typeof ROLES)[number]

interface Options {
  json: boolean
  systems: SystemName[]
  same: boolean
  transit: boolean
  fixedOnly: boolean
  flows: number
  profileDir: string | undefined
  nodeFlags: string[]
  baselineDir: string | undefined
  heapSnapshot: boolean
  rounds: number
  interleavedOnly: boolean
  workersCurve: number[]
  hop: boolean
  hopRounds: number
  hopSystems: HopSystem[]
  hopRates: number[]
  hopBytes: number
  progress: boolean
  roles: boolean
  rolesRounds: number
  rolesRate: number
}

/** A bad flag value: main() prints it and exits 2, as the overpass CLI does. */
class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError'
}

function parseArgs(argv: string[]): Options {
  const val = (flag: string): string | undefined => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined)
  const count = (flag: string, dflt: number, min: number, text = val(flag)): number => {
    const n = text === undefined ? dflt : Number(text)
    if (!Number.isInteger(n) || n < min) throw new BenchUsageError(`${flag}: "${text}" is not a whole number of at least ${min}`)
    return n
  }
  const systems = (val('--systems')?.split(',') ?? ALL) as SystemName[]
  for (const s of systems) if (!KNOWN.includes(s)) throw new BenchUsageError(`unknown system "${s}"; use ${KNOWN.join(',')}`)
  const baselineDir = val('--baseline')
  if (baselineDir && !systems.includes('overpass_baseline')) systems.push('overpass_baseline')
  const hopSystems = (val('--hop-systems')?.split(',') ?? [...HOP_SYSTEMS]) as HopSystem[]
  if (val('--baseline') && !hopSystems.includes('overpass_baseline')) hopSystems.push('overpass_baseline')
  for (const s of hopSystems) if (!HOP_SYSTEMS.includes(s)) throw new BenchUsageError(`unknown hop system "${s}"; use ${HOP_SYSTEMS.join(',')}`)
  return {
    hop: argv.includes('--hop'),
    roles: argv.includes('--roles'),
    rolesRounds: count('--roles-rounds', 3, 1),
    rolesRate: count('--roles-rate', ROLE_RATE, 100),
    progress: !argv.includes('--no-progress'),
    hopRounds: count('--hop-rounds', 3, 1),
    hopSystems,
    hopBytes: count('--hop-bytes', PAYLOAD_BYTES, 16),
    hopRates: (val('--hop-rates') ?? HOP_RATES.join(',')).split(',').map((r) => count('--hop-rates', 0, 100, r)),
    baselineDir,
    heapSnapshot: argv.includes('--heap-snapshot'),
    rounds: count('--rounds', 3, 0),
    workersCurve: (val('--workers-curve') ?? '').split(',').filter(Boolean).map((w) => count('--workers-curve', 1, 1, w)),
    interleavedOnly: argv.includes('--interleaved-only'),
    nodeFlags: val('--node-flags')?.split(' ').filter(Boolean) ?? [], json: argv.includes('--json'), systems, same: !argv.includes('--no-same'), transit: !argv.includes('--no-transit'), fixedOnly: argv.includes('--fixed-only'), flows: count('--flows', 10_000, 0), profileDir: val('--profile') }
}

function machine(loadAtStart: number[]): Record<string, unknown> {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8')
  return {
    nproc: os.cpus().length,
    cpu_model: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? 'unknown',
    kernel: os.release(),
    node: process.version,
    // Other tenants' load (1, 5, 15 min averages): latency percentiles are only comparable within one run.
    load_avg_at_start: loadAtStart.map((x) => round(x)),
    load_avg_at_end: os.loadavg().map((x) => round(x)),
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2))
  const print = (line: string): void => {
    if (opts.json) console.error(line)
    else console.log(line)
  }
  let progress: BenchProgress | undefined
  const log = (line: string): void => (progress ? progress.log(line) : print(line))
  if (process.getuid?.() !== 0) {
    console.log('bench:e2e: skipped (needs root to create network namespaces; run it as root)')
    return
  }
  const missing = missingToolsReason(['ip', 'gcc', 'taskset', 'prlimit'])
  if (missing) {
    console.log(`bench:e2e: skipped (${missing})`)
    return
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overpass-bench-e2e-'))
  const line = new NetnsLine()
  const running: RunningSystem[] = []
  const cleanup = (): void => {
    killAllChildren()
    line.destroy()
    fs.rmSync(dir, { recursive: true, force: true })
  }
  const releaseSignals = cleanUpOnExit(cleanup, () => {
    killAllChildren()
    line.destroy()
  })
  const startedMs = Date.now()
  const loadAtStart = os.loadavg()
  if (opts.progress) progress = createBenchProgress(plannedSteps(opts), print)
  const step = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    progress?.begin(what)
    const r = await run()
    progress?.done()
    return r
  }
  let completed = false
  try {
    const bin = compileLoadgen(dir)
    line.create()
    log(`namespace line opb${line.tag}-{cli,ing,tr,ex,org}, links 198.18.${line.base}-${line.base + 3}.0/24`)
    if (opts.hop) {
      log(`one relay in tr at ${opts.hopRounds} round(s); load average ${os.loadavg().map((x) => round(x)).join(' ')} (figures are only comparable within this run)`)
      const hop = await measureHop({
        line, dir, bin: BIN, loadgen: bin, baselineDir: opts.baselineDir, nodeFlags: [...opts.nodeFlags, ...(opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(opts.profileDir)] : [])], log, relayCpus: PLACEMENTS.split.relayCpus, loadCpus: PLACEMENTS.split.clientCpus, progress, rates: opts.hopRates, bytes: opts.hopBytes,
      }, opts.hopSystems, opts.hopRounds)
      completed = true
      progress?.finish(true)
      const out = { bytes: opts.hopBytes, hop: hop.hop, hop_only: hop.hop_only, idle_cpu_us_per_s: hop.idle_cpu_us_per_s, skipped: hop.skipped, rounds: hop.rounds, machine: machine(loadAtStart), duration_s: Math.round((Date.now() - startedMs) / 1000) }
      if (opts.json) console.log(JSON.stringify(out, null, 2))
      else printHop(hop, log)
      return
    }
    const lg = new Loadgen(bin, line.name('cli'))
    const m = new Measurer(lg, log)
    const echo = lg.startEcho(line.name('org'), PLACEMENTS.split.clientCpus, ORIGIN_PORT, 900, path.join(dir, 'echo.log'))
    const nodeFlags = [...opts.nodeFlags, ...(opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(opts.profileDir)] : [])]
    if (opts.roles) {
      log(`per-role CPU, ${opts.rolesRounds} round(s); load average ${os.loadavg().map((x) => round(x)).join(' ')} (figures are only comparable within this run)`)
      const systems = opts.baselineDir ? (['overpass', 'overpass_baseline'] as const) : (['overpass'] as const)
      const roles = await measureRoles({ line, dir, relayCpus: PLACEMENTS.split.relayCpus, nodeFlags, baselineDir: opts.baselineDir, lg, m, echoPid: echo.pid, log, progress, rate: opts.rolesRate }, [...systems], opts.rolesRounds)
      completed = true
      progress?.finish(true)
      const out = { ...roles, machine: machine(loadAtStart), duration_s: Math.round((Date.now() - startedMs) / 1000) }
      if (opts.json) console.log(JSON.stringify(out, null, 2))
      else printRoles(roles, log)
      return
    }
    const results: Partial<Record<SystemName, SystemResult>> = {}
    let transitAlone: TransitResult | undefined
    for (const name of opts.interleavedOnly ? [] : opts.systems) {
      if (name === 'overpass_transit') {
        log('\noverpass_transit: one transit relay alone on CPU 1, sealed datagrams from CPU 0')
        transitAlone = await step('overpass_transit ladder', () => measureTransit({
          line, dir, bin: BIN, loadgen: bin, nodeFlags, transitCpus: PLACEMENTS.transit.transitCpus!, loadCpus: PLACEMENTS.transit.clientCpus, log,
        }))
        log(`  max one-way pps with < 0.1% loss: ${transitAlone.max_pps} (${transitAlone.udp} overlay socket), ${transitAlone.dgram.max_pps} (dgram), ${transitAlone.ts_transit.max_pps} (native transit fast path off)`)
        if (opts.workersCurve.length > 0) {
          log(`\noverpass_transit with ${opts.workersCurve.join(', ')} workers, all on CPUs 0-1 (the load shares CPU 0):`)
          transitAlone.workers_curve = await step('overpass_transit workers curve', () => measureTransitWorkers({
            line, dir, bin: BIN, loadgen: bin, nodeFlags, transitCpus: PLACEMENTS.transit.transitCpus!, loadCpus: PLACEMENTS.transit.clientCpus, log,
          }, opts.workersCurve, '0,1'))
        }
        continue
      }
      if (name === 'wireguard_go' && !ensureWireguard(log)) {
        log('wireguard_go: skipped (wireguard-go/wireguard-tools not installed and apt-get failed)')
        continue
      }
      log(`\n${name}: starting`)
      const sys = await STARTERS[name]({ line, dir, relayCpus: PLACEMENTS.split.relayCpus, nodeFlags, baselineDir: opts.baselineDir })
      running.push(sys)
      try {
        const res: SystemResult = { split: {}, same: {}, max_pps: 0, search: [] as SearchStep[], transit_max_pps: null, transit_search: [] }
        m.place(sys, echo.pid, PLACEMENTS.split)
        await m.ready(sys)
        for (const key of opts.same ? (['split', 'same'] as const) : (['split'] as const)) {
          const p = PLACEMENTS[key]
          m.place(sys, echo.pid, p)
          for (const rate of FIXED_RATES) {
            const r: RateResult = await step(`${name} ${p.name} ${rate} pps`, () => m.atRate(sys, p, rate))
            res[key][rate] = r
            log(`  ${p.name} ${rate} pps: rtt p50 ${r.p50_us} us, p99 ${r.p99_us} us, p99.9 ${r.p999_us} us, loss ${(r.loss * 100).toFixed(2)}%, relay cpu ${r.cpu_us_per_packet ?? '-'} us/pkt`)
          }
        }
        m.place(sys, echo.pid, PLACEMENTS.split)
        if (!opts.fixedOnly) {
          log('  max pps search (split placement):')
          res.max_pps = await step(`${name} max pps search`, () => m.maxPps(sys, PLACEMENTS.split, res.search))
          log(`  max pps with < 0.1% loss: ${res.max_pps}`)
          if (sys.relays.some((r) => r.role === 'transit') && opts.transit) {
            log('  max pps search (transit alone on CPU 1):')
            m.place(sys, echo.pid, PLACEMENTS.transit)
            res.transit_max_pps = await step(`${name} transit max pps search`, () => m.maxPps(sys, PLACEMENTS.transit, res.transit_search))
            m.place(sys, echo.pid, PLACEMENTS.split)
            log(`  max pps with < 0.1% loss: ${res.transit_max_pps}`)
          }
        }
        if (name.startsWith('overpass') && opts.flows > 0) res.flows = await step(`${name} ${opts.flows} flows`, () => flowsCheck(sys, lg, opts.flows, log, opts.heapSnapshot))
        results[name] = res
      } finally {
        await sys.stop()
        running.splice(running.indexOf(sys), 1)
      }
    }
    let interleaved: InterleavedResult | undefined
    if (interleavedRuns(opts)) {
      log(`\np99 at 10k pps, ${opts.rounds} interleaved rounds (split placement):`)
      interleaved = await step('interleaved p99 rounds', () => interleavedP99(opts.rounds, opts.systems, { line, dir, relayCpus: PLACEMENTS.split.relayCpus, nodeFlags, baselineDir: opts.baselineDir }, m, echo.pid, log))
      log(`  median overpass / node forwarder p99: ${interleaved.median_overpass_vs_node_p99}`)
    }
    const out = summarise(machine(loadAtStart), results, transitAlone, Date.now() - startedMs, interleaved)
    completed = true
    progress?.finish(true)
    if (opts.json) console.log(JSON.stringify(out, null, 2))
    else printTable(out, log)
  } finally {
    if (!completed) progress?.finish(false)
    for (const s of running) await s.stop().catch(() => {})
    releaseSignals()
    cleanup()
  }
}

/**
 * Many client ports into the ingress: RSS of every relay (the exit holds one
 * origin socket per flow), split into anonymous and file-backed pages.
 * With --heap-snapshot the relays also write a V8 heap snapshot (SIGUSR2).
 */
async function flowsCheck(sys: RunningSystem, lg: Loadgen, flows: number, log: (l: string) => void, heapSnapshot: boolean): Promise<SystemResult['flows']> {
  const byRole = Object.fromEntries(sys.relays.map((r) => [r.role, r.proc.pid])) as Record<Role, number>
  const rss = (): Record<Role, number> => ({ ingress: round(rssMb(byRole.ingress), 1), transit: round(rssMb(byRole.transit), 1), exit: round(rssMb(byRole.exit), 1) })
  const before = rss()
  const exitFdsBefore = openFds(byRole.exit)
  const r = await lg.flows(PLACEMENTS.split.clientCpus, sys.target.host, sys.target.port, flows, 2)
  const after = rss()
  const breakdown = Object.fromEntries(ROLES.map((role) => {
    const b = rssBreakdownMb(byRole[role])
    return [role, b && { anon: round(b.anon, 1), file: round(b.file, 1) }]
  })) as Record<Role, { anon: number; file: number } | null>
  const res = {
    flows,
    active_flows: r.active,
    excess_echoes: r.excess,
    sent: r.sent,
    received: r.received,
    rss_mb_before: before,
    rss_mb: after,
    rss_mb_breakdown: breakdown,
    exit_open_fds: openFds(byRole.exit),
    exit_kb_per_flow: 0,
  }
  // Under load some flows never reach the exit: charge the exit's growth to the flows it opened.
  res.exit_kb_per_flow = round(((after.exit - before.exit) * 1024) / Math.max(1, res.exit_open_fds - exitFdsBefore), 1)
  log(`  ${flows} flows (${r.active} active): ${r.received}/${r.sent} echoed (${r.excess} more than sent on some flow); RSS MB before/after: ${ROLES.map((x) => `${x} ${before[x]}/${after[x]} (anon ${breakdown[x]?.anon})`).join(', ')}; exit fds ${res.exit_open_fds}, ${res.exit_kb_per_flow} KB per exit flow`)
  if (heapSnapshot) {
    for (const role of ROLES) fs.writeFileSync(`smaps-${role}-${byRole[role]}.txt`, fs.readFileSync(`/proc/${byRole[role]}/smaps`))
    for (const pid of Object.values(byRole)) process.kill(pid, 'SIGUSR2')
    await sleep(3000)
  }
  return res
}

main().catch((err) => {
  if (err instanceof BenchUsageError) {
    console.error(`bench:e2e: ${err.message}`)
    process.exitCode = 2
    return
  }
  console.error(err instanceof Error ? err.stack ?? err.message : err)
  process.exitCode = 1
})
