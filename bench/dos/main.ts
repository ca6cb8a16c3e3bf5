/**
 * `npm run bench:dos`: the defences of issue 14 measured under attack.
 * Real relay processes in a network namespace the run creates (world.ts),
 * a 64 Hz game flow through ing → ex → origin, and each attack against ing
 * in turn (attacks.ts). Needs root; prints a skip line otherwise.
 *
 *   --json              print { machine, attacks: { <name>: { ...figures, pass } } } at the end
 *   --seconds N         length of each flood (default 4; the handshake floods at least 8, the flow-table one at least 7, the junk one at most 3)
 *   --flow-rate N       spoofed clients per second for the flow-table flood (default 2500: fills the 8,192-flow table in about 3 s)
 *   --only a,b          a subset of handshake_flood_10k, handshake_flood_50k, flow_table_flood, junk_datagrams_50k, crafted_control
 *
 * Processes are killed by PID and the namespace deleted on every exit path.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { missingToolsReason } from '../../src/io/system-tools.js'
import { compileLoadgen } from '../e2e/loadgen.js'
import { killAllChildren } from '../e2e/shell.js'
import { craftedControl, flowFlood, gameFlow, handshakeFlood, junkFlood, type AttackContext } from './attacks.js'
import { Dosgen, killRuns } from './dosgen.js'
import { round } from './figures.js'
import { DosWorld, ORIGIN_ADDR, ORIGIN_PORT } from './world.js'
import { cleanUpOnExit } from '../../src/io/exit-cleanup.js'

const ATTACKS = ['handshake_flood_10k', 'handshake_flood_50k', 'flow_table_flood', 'junk_datagrams_50k', 'crafted_control'] as const
type AttackName = (typeof ATTACKS)[number]
/** A restarted relay takes a few seconds to start on a busy machine: the handshake floods last at least this long, so its handshake falls inside. */
const HANDSHAKE_FLOOD_MIN_S = 8
/** The flow-table flood needs about 3 s to fill the table (world.ts MAX_FLOWS), then a new client arrives. */
const FLOW_FLOOD_MIN_S = 7

function parseArgs(argv: string[]): { json: boolean; seconds: number; flowRate: number; only: AttackName[] } {
  const val = (flag: string): string | undefined => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined)
  const only = (val('--only')?.split(',') ?? [...ATTACKS]) as AttackName[]
  for (const a of only) if (!ATTACKS.includes(a)) throw new Error(`unknown attack "${a}"; use ${ATTACKS.join(',')}`)
  return { json: argv.includes('--json'), seconds: Number(val('--seconds') ?? 4), flowRate: Number(val('--flow-rate') ?? 2_500), only }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2))
  const log = (line: string): void => (opts.json ? console.error(line) : console.log(line))
  if (process.getuid?.() !== 0) {
    console.log('bench:dos: skipped (needs root to create a network namespace and raw sockets; run it as root)')
    return
  }
  const missing = missingToolsReason(['ip', 'gcc', 'taskset', 'prlimit'])
  if (missing) {
    console.log(`bench:dos: skipped (${missing})`)
    return
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overpass-bench-dos-'))
  const world = new DosWorld(dir)
  const cleanup = (): void => {
    killRuns()
    killAllChildren()
    world.destroy()
    fs.rmSync(dir, { recursive: true, force: true })
  }
  const releaseSignals = cleanUpOnExit(cleanup, () => {
    killRuns()
    killAllChildren()
    world.destroy()
  })
  const loadAtStart = os.loadavg()
  const startedMs = Date.now()
  try {
    world.create()
    world.writeConfigs()
    const dosgen = new Dosgen(dir, world)
    const ctx: AttackContext = { world, dosgen, loadgen: compileLoadgen(dir), dir, log }
    dosgen.startOrigin(ORIGIN_ADDR, ORIGIN_PORT, 900)
    for (const id of ['ex', 'ing', 'p3', 'atl'] as const) await world.startRelay(id)
    await world.sessions('ing', ['ex', 'p3', 'atl'])
    log(`namespace ${world.ns}: relays ing, ex, p3, atl up; 64 Hz game flow client → ing → ex → origin`)
    const warm = await gameFlow(ctx, 1)
    log(`  game flow without attack: loss ${(warm.loss * 100).toFixed(1)}%, p99 ${warm.p99_us} us`)
    if (warm.loss > 0.5) {
      for (const id of ['ing', 'ex'] as const) log(`  ${id}: ${JSON.stringify(await world.status(id))}`)
      throw new Error('the game flow does not get through without any attack; see the status above')
    }
    const attacks: Partial<Record<AttackName, Record<string, unknown>>> = {}
    const runs: Record<AttackName, () => Promise<Record<string, unknown>>> = {
      handshake_flood_10k: () => handshakeFlood(ctx, 10_000, Math.max(opts.seconds, HANDSHAKE_FLOOD_MIN_S)),
      handshake_flood_50k: () => handshakeFlood(ctx, 50_000, Math.max(opts.seconds, HANDSHAKE_FLOOD_MIN_S)),
      flow_table_flood: () => flowFlood(ctx, opts.flowRate, Math.max(opts.seconds, FLOW_FLOOD_MIN_S)),
      junk_datagrams_50k: () => junkFlood(ctx, 50_000, Math.min(opts.seconds, 3)),
      crafted_control: () => craftedControl(ctx),
    }
    for (const name of opts.only) {
      log(`\n${name}:`)
      if (!world.alive('ing')) {
        attacks[name] = { skipped: 'ing is not running (an earlier attack stopped it)', pass: false }
        continue
      }
      const r = await runs[name]()
      attacks[name] = r
      log(`  ${JSON.stringify(r)}`)
      // Let the relays settle (unanswered flows expire, the under-load state ends) before the next attack.
      await new Promise((res) => setTimeout(res, 2000))
    }
    const out = {
      machine: {
        nproc: os.cpus().length,
        node: process.version,
        kernel: os.release(),
        // Other tenants' load: CPU shares and latencies read high on a busy machine.
        load_avg_at_start: loadAtStart.map((x) => round(x)),
        load_avg_at_end: os.loadavg().map((x) => round(x)),
        elapsed_s: Math.round((Date.now() - startedMs) / 1000),
      },
      attacks,
    }
    if (opts.json) console.log(JSON.stringify(out, null, 2))
    else for (const [name, r] of Object.entries(attacks)) console.log(`${name}: ${r.pass ? 'pass' : 'FAIL'}`)
  } finally {
    releaseSignals()
    cleanup()
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack ?? err.message : err)
  process.exitCode = 1
})
