/**
 * `bench:e2e --roles`: CPU per datagram of each Overpass relay role in one
 * run (issue 18, "the other roles"): the three-relay chain of systems.ts
 *
 *   cli ──> ing (ingress: client -> overlay, overlay -> client)
 *       ──> tr  (transit: open, pop the path, re-seal)
 *       ──> ex  (exit: overlay -> origin, origin -> overlay) ──> echo origin
 *
 * runs paced round trips at 100 B and 1200 B payloads. Every round trip is
 * one forward and one reply datagram through each relay, so each role's CPU
 * (all threads, schedstat ns) over twice the round trips delivered is its
 * cost per datagram, both directions averaged. The ratios ingress/transit
 * and exit/transit are the target's (≤ 1.5). Each relay's CPU with no
 * traffic (probing, routing, path checks; measured for 2 s before the runs)
 * is also subtracted, pro rata, for the `net_` figures: at game rates it is
 * a fair share of the total and differs by role. Relays on CPU 1, the load
 * generator and the echo origin on CPU 0 (the split placement). With
 * --baseline DIR the other checkout's chain runs in turn in every round
 * (before/after in one run); the median over rounds is reported.
 */
import { Loadgen } from './loadgen.js'
import { PLACEMENTS, round, type Measurer } from './measure.js'
import { median } from './interleaved.js'
import { cpuUsFine } from './proc.js'
import path from 'node:path'
import { runAsync, sleep } from './shell.js'
import { BIN, startOverpass, type RelayProc, type SystemContext } from './systems.js'

/** Payload sizes: a game datagram and a video/RTC one. */
export const ROLE_SIZES = [100, 1200]
/** Round trips per second: 20k datagrams/s through each relay, well under every role's limit. */
export const ROLE_RATE = 10_000
/** Round trips per run: ~3 s at any rate, at least 3000. */
const roleCount = (rate: number): number => Math.max(3_000, rate * 3)
/**
 * Round trips sent, unmeasured, before the idle measurement and the runs: ~1 s at the rate. Without it the
 * ingress and exit paid V8's optimizing compiles of their data path (TurboFan was ~6% of the ingress's samples
 * in `perf record` of a 100 B run) inside the first measured size; the transit forwards natively and pays none.
 */
const warmupCount = (rate: number): number => Math.max(1_000, rate)
/** Runs with more loss than this are left out of the medians when cleaner ones exist. */
const CLEAN_LOSS = 0.01
const ROLES = ['ingress', 'transit', 'exit'] as const
type Role = (typeof ROLES)[number]
export type RolesSystem = 'overpass' | 'overpass_baseline'

export interface RoleFigures {
  /** µs of CPU per datagram (forward and reply averaged), per role. */
  cpu_us_per_packet: Record<Role, number | null>
  ingress_vs_transit: number | null
  exit_vs_transit: number | null
  /**
   * The same less each relay's idle CPU over the run (probing, routing, path
   * checks: measured with no traffic just before), so what is left is the
   * cost of the datagrams themselves.
   */
  net_cpu_us_per_packet: Record<Role, number | null>
  net_ingress_vs_transit: number | null
  net_exit_vs_transit: number | null
  /** Each role's CPU with no traffic, µs per second. */
  idle_cpu_us_per_s: Record<Role, number | null>
  loss: number
  p50_us: number
  p99_us: number
  /** In the medians: the runs the median is over (those under CLEAN_LOSS, if any were). */
  runs?: number
}

export interface RolesResult {
  /** { <system>: { <payload bytes>: figures } }, medians over rounds. */
  roles: Partial<Record<RolesSystem, Record<string, RoleFigures>>>
  rate: number
  rounds: number
  per_round: Partial<Record<RolesSystem, Record<string, RoleFigures>>>[]
}

export interface RolesContext extends SystemContext {
  lg: Loadgen
  m: Measurer
  echoPid: number
  log: (line: string) => void
  /** Round trips per second (ROLE_RATE unless --roles-rate). */
  rate: number
  progress?: { begin(what: string): void; done(): void }
}

/** Idle time measured per chain before its runs. */
const IDLE_MS = 2_000

const noRoles = (): Record<Role, number | null> => ({ ingress: null, transit: null, exit: null })

/** Each relay's CPU with no traffic, µs per second, by index. */
async function idleCpu(relays: RelayProc[]): Promise<number[]> {
  const before = relays.map((r) => cpuUsFine(r.proc.pid))
  const t0 = performance.now()
  await sleep(IDLE_MS)
  const s = (performance.now() - t0) / 1000
  return relays.map((r, i) => (cpuUsFine(r.proc.pid) - before[i]) / s)
}

/** One run at one payload size on a running chain: CPU per datagram per role, raw and net of idle. */
async function atSize(ctx: RolesContext, relays: RelayProc[], idle: number[], host: string, port: number, size: number): Promise<RoleFigures> {
  const before = relays.map((r) => cpuUsFine(r.proc.pid))
  const t0 = performance.now()
  const r = await ctx.lg.load(PLACEMENTS.split.clientCpus, host, port, ctx.rate, roleCount(ctx.rate), size)
  const seconds = (performance.now() - t0) / 1000
  const used = relays.map((x, i) => cpuUsFine(x.proc.pid) - before[i])
  const datagrams = 2 * r.received
  const cpu = noRoles()
  const net = noRoles()
  const idleByRole = noRoles()
  relays.forEach((x, i) => (idleByRole[x.role] = round((idleByRole[x.role] ?? 0) + idle[i], 0)))
  if (datagrams > 0) {
    relays.forEach((x, i) => {
      cpu[x.role] = round((cpu[x.role] ?? 0) + used[i] / datagrams)
      net[x.role] = round((net[x.role] ?? 0) + Math.max(0, used[i] - idle[i] * seconds) / datagrams)
    })
  }
  const ratio = (a: number | null, b: number | null): number | null => (a !== null && b ? round(a / b) : null)
  return {
    cpu_us_per_packet: cpu, ingress_vs_transit: ratio(cpu.ingress, cpu.transit), exit_vs_transit: ratio(cpu.exit, cpu.transit),
    net_cpu_us_per_packet: net, net_ingress_vs_transit: ratio(net.ingress, net.transit), net_exit_vs_transit: ratio(net.exit, net.transit),
    idle_cpu_us_per_s: idleByRole, loss: round(r.loss, 5), p50_us: r.p50_us, p99_us: r.p99_us,
  }
}

export async function measureRoles(ctx: RolesContext, systems: RolesSystem[], rounds: number): Promise<RolesResult> {
  const perRound: RolesResult['per_round'] = []
  for (let i = 0; i < rounds; i++) {
    const round_: (typeof perRound)[number] = {}
    // Rotate the order so neither checkout always runs first on a warming machine.
    const order = systems.map((_, j) => systems[(i + j) % systems.length])
    for (const name of order) {
      ctx.progress?.begin(`roles round ${i + 1} ${name}`)
      const sys = await startOverpass(ctx, name === 'overpass_baseline')
      try {
        ctx.m.place(sys, ctx.echoPid, PLACEMENTS.split)
        await ctx.m.ready(sys)
        await ctx.lg.load(PLACEMENTS.split.clientCpus, sys.target.host, sys.target.port, ctx.rate, warmupCount(ctx.rate), ROLE_SIZES[0])
        await sleep(300)
        const idle = await idleCpu(sys.relays)
        const bySize: Record<string, RoleFigures> = {}
        for (const size of ROLE_SIZES) {
          const f = await atSize(ctx, sys.relays, idle, sys.target.host, sys.target.port, size)
          bySize[size] = f
          const c = f.cpu_us_per_packet
          const n = f.net_cpu_us_per_packet
          ctx.log(`  round ${i + 1} ${name} ${size} B: ingress ${c.ingress} us, transit ${c.transit} us, exit ${c.exit} us per datagram (ingress/transit ${f.ingress_vs_transit}, exit/transit ${f.exit_vs_transit}); net of idle ${n.ingress}, ${n.transit}, ${n.exit} (${f.net_ingress_vs_transit}, ${f.net_exit_vs_transit}); loss ${(f.loss * 100).toFixed(2)}%`)
        }
        round_[name] = bySize
        if (i === 0) ctx.log(`  ${name} tables: ${await nativeTransitLine(ctx, name)}`)
      } finally {
        await sys.stop()
      }
      ctx.progress?.done()
    }
    perRound.push(round_)
  }
  return { roles: medians(perRound, systems), rate: ctx.rate, rounds, per_round: perRound }
}

/**
 * What each relay's native table did (its `overpass status`), so the figures say which path they measured:
 * the transit's datagrams forwarded natively, the ingress's and exit's opened natively for local delivery
 * (`opened_local`; `skipped_local` in checkouts before it, which declined them unopened), and the exit's
 * delivered natively to the origin (`delivered_local`, since the native exit delivery).
 */
async function nativeTransitLine(ctx: RolesContext, name: RolesSystem): Promise<string> {
  const tag = name === 'overpass_baseline' ? 'baseline-' : ''
  const bin = name === 'overpass_baseline' ? path.resolve(ctx.baselineDir ?? '.', 'bin/overpass.js') : BIN
  const parts: string[] = []
  for (const [relay, role] of [['tr', 'transit'], ['ing', 'ingress'], ['ex', 'exit']] as const) {
    try {
      const st = JSON.parse(await runAsync(process.execPath, [bin, 'status', '-c', path.join(ctx.dir, `${tag}${relay}.yaml`), '--json'], 10_000)) as {
        native_transit?: { forwarded: number; opened_local?: number; skipped_local?: number; delivered_local?: number }
      }
      const nt = st.native_transit
      if (nt === undefined) parts.push(`${role}: TypeScript path (no native transit table)`)
      else if (role === 'transit') parts.push(`native transit forwarded ${nt.forwarded} datagrams`)
      else parts.push(`${role}: opened natively ${nt.opened_local ?? 'n/a'}, delivered natively ${nt.delivered_local ?? 'n/a'}, declined unopened ${nt.skipped_local ?? 'n/a'}`)
    } catch (err) {
      parts.push(`${role}: status failed: ${(err as Error).message.split('\n')[0]}`)
    }
  }
  return parts.join('; ')
}

function medians(perRound: RolesResult['per_round'], systems: RolesSystem[]): RolesResult['roles'] {
  const out: RolesResult['roles'] = {}
  for (const name of systems) {
    const bySize: Record<string, RoleFigures> = {}
    for (const size of ROLE_SIZES) {
      const all = perRound.map((r) => r[name]?.[size]).filter((f): f is RoleFigures => f !== undefined)
      if (all.length === 0) continue
      // A lossy run (another tenant took the CPU) charges the relays for datagrams they never delivered.
      const clean = all.filter((f) => f.loss < CLEAN_LOSS)
      const runs = clean.length > 0 ? clean : all
      const med = (pick: (f: RoleFigures) => number | null): number | null => {
        const xs = runs.map(pick).filter((x): x is number => x !== null)
        const m = median(xs)
        return m === null ? null : round(m)
      }
      const byRole = (pick: (f: RoleFigures) => Record<Role, number | null>): Record<Role, number | null> => ({ ingress: med((f) => pick(f).ingress), transit: med((f) => pick(f).transit), exit: med((f) => pick(f).exit) })
      bySize[size] = {
        cpu_us_per_packet: byRole((f) => f.cpu_us_per_packet),
        ingress_vs_transit: med((f) => f.ingress_vs_transit),
        exit_vs_transit: med((f) => f.exit_vs_transit),
        net_cpu_us_per_packet: byRole((f) => f.net_cpu_us_per_packet),
        net_ingress_vs_transit: med((f) => f.net_ingress_vs_transit),
        net_exit_vs_transit: med((f) => f.net_exit_vs_transit),
        idle_cpu_us_per_s: byRole((f) => f.idle_cpu_us_per_s),
        loss: med((f) => f.loss) ?? 0,
        p50_us: med((f) => f.p50_us) ?? 0,
        p99_us: med((f) => f.p99_us) ?? 0,
        runs: runs.length,
      }
    }
    out[name] = bySize
  }
  return out
}

export function printRoles(r: RolesResult, log: (line: string) => void): void {
  log(`\nCPU per datagram by relay role at ${r.rate} round trips/s (median of ${r.rounds} round(s), runs with >= 1% loss left out when others exist; ratios per round, then the median)`)
  log(`${'system'.padEnd(20)}${'bytes'.padStart(6)}${'ingress'.padStart(9)}${'transit'.padStart(9)}${'exit'.padStart(9)}${'ing/tr'.padStart(8)}${'ex/tr'.padStart(8)}   net of idle: ing, tr, ex, ing/tr, ex/tr`)
  const cell = (x: number | null, w: number): string => String(x ?? '-').padStart(w)
  for (const [name, bySize] of Object.entries(r.roles)) {
    for (const [size, f] of Object.entries(bySize!)) {
      const c = f.cpu_us_per_packet
      const n = f.net_cpu_us_per_packet
      log(`${name.padEnd(20)}${size.padStart(6)}${cell(c.ingress, 9)}${cell(c.transit, 9)}${cell(c.exit, 9)}${cell(f.ingress_vs_transit, 8)}${cell(f.exit_vs_transit, 8)}   ${n.ingress}, ${n.transit}, ${n.exit}, ${f.net_ingress_vs_transit}, ${f.net_exit_vs_transit}`)
    }
  }
}
