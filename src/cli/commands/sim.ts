/**
 * `overpass sim --matrix FILE.csv [...]`: runs every relay's real control
 * plane (route/createRouter) over a simulated network built from a latency
 * matrix and prints how close the chosen paths come to the true optimum.
 * See docs/simulator.md. Exit code 2 on bad input.
 */
import type { Command } from 'commander'
import { createProgress } from '../progress.js'
import { createRouter } from '../../route/index.js'
import type { RouterInit, Router } from '../../route/types.js'
import { formatSummary, Simulation, simInitFromOptions, type SimCliOptions, type SimResult } from '../../sim/index.js'

const INPUT_ERRORS = new Set(['MatrixParseError', 'EventsParseError', 'SimConfigError'])

export function register(program: Command): void {
  program
    .command('sim')
    .description('simulate the relay network on a latency matrix and score the chosen paths against the oracle')
    .requiredOption('--matrix <file>', 'CSV with header src,dst,rtt_ms or src,dst,one_way_ms')
    .option('--asymmetry <fraction>', 'split each pair RTT as rtt/2*(1+-u), u uniform in [-a, a]')
    .option('--seed <n>', 'seed of every random choice (default 1)')
    .option('--events <file>', 'JSON/YAML list of timed cut/degrade/restore events')
    .option('--hop-cost-ms <ms>', 'cost per intermediate relay (default 0)')
    .option('--duration-s <s>', 'simulated seconds (default 60)')
    .option('--relays <n>', 'simulate n sites drawn at random (seeded)')
    .option('--sites <list>', 'simulate these sites (comma-separated)')
    .option('--jitter-ms <ms>', 'mean extra delay per packet, exponential (default 0)')
    .option('--loss-pct <pct>', 'loss per packet on every link (default 0)')
    .option('--tick-ms <ms>', 'router tick cadence (default 20)')
    .option('--max-offset-ms <ms>', 'relay clock offsets are uniform in +-this (default 3600000)')
    .option('--drift-ppm <ppm>', 'each relay clock runs at 1+e of true time, e uniform in +-this many ppm (default 0)')
    .option('--workers <n>', 'event loops the relays are split over: 1, or 2 (a worker thread; default when 2 cores); same result')
    .option('--no-freeze', 'do not deep-freeze control messages (faster; routers are trusted not to mutate them)')
    .option('--json', 'print one JSON object instead of the summary')
    .option('--no-progress', 'no progress display on stderr (a bar on a terminal, a line per 10% otherwise)')
    .action((opts: SimCliOptions) => {
      process.exitCode = runSim(opts, createRouter, (s) => process.stdout.write(s), (s) => process.stderr.write(s), ROUTER_MODULE)
    })
}

/** Where a worker thread imports `createRouter` from (the same module as `createRouter` above). */
const ROUTER_MODULE = new URL('../../route/index.js', import.meta.url).href

/**
 * Runs the command with an injectable router factory; returns the exit code.
 * `routerModule`: where a worker thread imports the same factory from (its
 * `createRouter` export); without it a 2-loop run stays in this thread.
 */
export function runSim(
  opts: SimCliOptions,
  factory: (init: RouterInit) => Router,
  out: (s: string) => void,
  err: (s: string) => void,
  routerModule?: string,
): number {
  let result: SimResult
  let asymmetry = 0
  let loops = ''
  const t0 = performance.now()
  try {
    const init = simInitFromOptions(opts)
    asymmetry = init.asymmetry
    if (!opts.json && init.matrix.missingPairs > 0) err(`note: ${init.matrix.missingPairs} site pairs have no row either way: no link between them\n`)
    const progress = opts.progress === true ? createProgress('sim', (init.durationS ?? 60) * 1000, (done, total) => `${(done / 1000).toFixed(0)}/${(total / 1000).toFixed(0)} s simulated`) : undefined
    const sim = new Simulation({ ...init, createRouter: factory, routerModule, onProgress: progress && ((simMs) => progress.update(simMs)) })
    let completed = false
    try {
      result = sim.run()
      completed = true
    } finally {
      progress?.finish(completed)
    }
    loops =
      sim.loops === 1
        ? '1 loop'
        : `2 loops (${routerModule === undefined ? 'one thread, in windows' : 'a worker thread, in step'}), lookahead ${sim.lookaheadMs.toFixed(2)} ms,` +
          ` busy ${sim.loopBusyMs.map((x) => (x / 1000).toFixed(1)).join(' / ')} s, waiting ${sim.loopWaitMs.map((x) => (x / 1000).toFixed(1)).join(' / ')} s`
  } catch (e) {
    if (e instanceof Error && INPUT_ERRORS.has(e.name)) {
      err(`${e.message}\n`)
      return 2
    }
    throw e
  }
  const wallMs = performance.now() - t0
  if (opts.json) out(JSON.stringify({ ...result, asymmetry }) + '\n')
  else out(formatSummary(result, { wallMs, source: opts.matrix, asymmetry, loops }) + '\n')
  return 0
}
