/**
 * `overpass lab up|down|exec|run`: the network-namespace lab (root only).
 * This file only parses arguments. bin/overpass.js adds it to the `overpass`
 * program (src/cli does not import lab/); lab/cli.ts runs it alone.
 *
 *   overpass lab up us-sites                        # a shipped scenario by name, or a path; prints the run id
 *   overpass lab exec c-lax -- ip route             # run a command in a node's namespace
 *   overpass lab run lab/scenarios/failover.yaml --json --out report/
 *   overpass lab down                               # every run, idempotent
 */
import { spawnSync } from 'node:child_process'
import { Option, type Command } from 'commander'
import { labDown } from './topo/down.js'
import { nsName } from './topo/naming.js'
import { listStates } from './topo/state.js'
import { labUp } from './topo/up.js'
import { labRun } from './run/run.js'
import { WAN_CHOICES, parseWanChoice } from './wan/backend.js'
import { resolveScenario } from './scenario-name.js'

const WAN_HELP = 'WAN emulation: auto (tc netem where the kernel has it, else the user-space emulator), netem, emulator; env OVERPASS_LAB_WAN'

export class LabRunNotFoundError extends Error {
  override readonly name = 'LabRunNotFoundError'
  constructor(message: string, readonly runs: string[]) {
    super(message)
  }
}

function pickRun(run: string | undefined): string {
  const runs = listStates().map((s) => s.run)
  if (run) return run
  if (runs.length === 1) return runs[0]
  throw new LabRunNotFoundError(runs.length === 0 ? 'no lab run is up (fix: overpass lab up SCENARIO)' : `several lab runs are up: ${runs.join(', ')} (fix: pass --run ID)`, runs)
}

async function guarded(fn: () => Promise<void>): Promise<void> {
  try {
    await fn()
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 1
  }
}

export function register(program: Command): void {
  const lab = program.command('lab').description('network-namespace lab: relays behind an emulated WAN (root only)')
  lab.command('up <scenario>')
    .description('build the namespaces and start the WAN backend; prints the run id')
    .addOption(new Option('--wan <backend>', WAN_HELP).choices(WAN_CHOICES).default('auto'))
    .action((scenario: string, opts: { wan: string }) => guarded(async () => {
      const r = await labUp(resolveScenario(scenario), undefined, { wan: parseWanChoice(opts.wan) })
      process.stdout.write(`${r.state.run}\n`)
    }))
  lab.command('down')
    .description('tear down lab runs (all, or --run ID); finds leftovers by prefix')
    .option('--run <id>', 'only this run')
    .action((opts: { run?: string }) => guarded(async () => {
      const r = await labDown(opts.run)
      process.stdout.write(`lab down: ${r.runs.length} run(s), ${r.namespacesDeleted} namespace(s) deleted, ${r.killed} process(es) stopped\n`)
    }))
  lab.command('exec <node> <cmd...>')
    .description('run a command inside a node\'s namespace (PoP, client, origin or wan)')
    .option('--run <id>', 'the run (default: the only one up)')
    .action((node: string, cmd: string[], opts: { run?: string }) => guarded(async () => {
      const r = spawnSync('ip', ['netns', 'exec', nsName(pickRun(opts.run), node), ...cmd], { stdio: 'inherit' })
      process.exitCode = r.status ?? 1
    }))
  lab.command('run <scenario>')
    .description('up, relays, traffic direct vs. overpass, events, report, down')
    .option('--json', 'print the result as JSON')
    .option('--out <dir>', 'write summary.txt and report.html here')
    .addOption(new Option('--wan <backend>', WAN_HELP).choices(WAN_CHOICES).default('auto'))
    .option('--no-progress', 'no progress display on stderr (a bar on a terminal, a line per 10% otherwise)')
    .action((scenario: string, opts: { json?: boolean; out?: string; wan: string; progress: boolean }) => guarded(async () => {
      await labRun(resolveScenario(scenario), { json: opts.json ?? false, outDir: opts.out, wan: parseWanChoice(opts.wan), progress: opts.progress, log: (l) => process.stderr.write(`${l}\n`) })
    }))
}
