/**
 * `npm run bench:memory`: memory per active flow at the ingress and the exit,
 * on loopback, no root. Each measurement runs in a fresh child process
 * (bench/memory/flows.ts) with --expose-gc; this parent holds the echoing
 * origin so its buffers are not counted. Prints per-flow RSS and heap, and
 * the issue-18 targets as ratios with pass/fail:
 *
 *   - 10k active flows <= 100 MB RSS per relay (ingress, exit);
 *   - 100k active flows <= 250 MB RSS at the exit.
 *
 * The exit holds one real origin socket per flow, so its flow count is capped
 * by the open-file limit (io/fd-limit.ts): beyond it the 100k figure is
 * extrapolated from the largest real-socket run, and says so.
 *
 * A relay's RSS is its idle RSS (everything but flows) plus the flows' growth.
 * The child loads only the data plane, so the projection adds the flows'
 * measured growth to RELAY_IDLE_RSS_MB (override with --relay-idle-mb).
 *
 * Each child caps V8's young generation the way `overpass up` does
 * (bin/overpass.js); --default-young-gen measures without the cap.
 *
 * Options: --json, --flows 10000, --big 100000, --sockets native|dgram|both,
 * --default-young-gen, --relay-idle-mb N.
 * Every child is bounded in time (CHILD_TIMEOUT_MS) and killed by PID.
 */
import { spawn } from 'node:child_process'
import dgram from 'node:dgram'
import path from 'node:path'
import v8 from 'node:v8'
import { fileURLToPath } from 'node:url'
import { DEFAULT_EXIT_SOCKET_BUDGET, RESERVED_FDS } from '../../src/dataplane/flow-admission.js'
import { openFileLimit } from '../../src/io/fd-limit.js'
import { exitFlows, ingressFlows, type FlowsResult } from './flows.js'

/** Idle RSS of a relay process with no flows (bench:e2e memory check, docs/performance.md "Memory at 10k flows"). */
export const RELAY_IDLE_RSS_MB = 71
export const TARGET_10K_MB = 100
export const TARGET_100K_EXIT_MB = 250
const CHILD_TIMEOUT_MS = 120_000
/** How long a child waits for the origin's echoes. */
const ECHO_WAIT_MS = 30_000

export interface Row extends FlowsResult {
  rss_per_flow_kb: number
  heap_per_flow_kb: number
  projected_relay_rss_mb: number
  measured: boolean
  target_mb?: number
  ratio?: number
  pass?: boolean
}

export function perFlow(r: FlowsResult, idleMb: number, target: number | undefined, scaleTo = r.flows): Row {
  const rssKb = ((r.after.rss_mb - r.before.rss_mb) * 1024) / Math.max(1, r.flows)
  const heapKb = ((r.after.heap_used_mb - r.before.heap_used_mb) * 1024) / Math.max(1, r.flows)
  const projected = Math.round((idleMb + (rssKb * scaleTo) / 1024) * 10) / 10
  const row: Row = { ...r, flows: scaleTo, rss_per_flow_kb: round2(rssKb), heap_per_flow_kb: round2(heapKb), projected_relay_rss_mb: projected, measured: scaleTo === r.flows }
  if (target !== undefined) Object.assign(row, { target_mb: target, ratio: round2(projected / target), pass: projected <= target && r.active >= 0.99 * r.flows })
  return row
}

/** Flags passed on to every child (--default-young-gen: measure without the relay's young-generation cap). */
const CHILD_EXTRA: string[] = process.argv.includes('--default-young-gen') ? ['--default-young-gen'] : []

const round2 = (x: number): number => Math.round(x * 100) / 100

async function child(args: string[]): Promise<FlowsResult> {
  const script = fileURLToPath(import.meta.url)
  const c = spawn(process.execPath, ['--expose-gc', script, '--child', ...args, ...CHILD_EXTRA], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  c.stdout.on('data', (d: Buffer) => (out += d.toString()))
  const timer = setTimeout(() => c.kill('SIGKILL'), CHILD_TIMEOUT_MS)
  const code = await new Promise<number | null>((r) => c.on('exit', r))
  clearTimeout(timer)
  if (code !== 0) throw new Error(`bench:memory child ${args.join(' ')} exited with ${code}`)
  return JSON.parse(out.trim().split('\n').pop()!) as FlowsResult
}

async function echoOrigin(): Promise<{ port: number; close: () => void }> {
  const s = dgram.createSocket('udp4')
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r))
  s.setRecvBufferSize(8 << 20)
  s.on('message', (m, r) => s.send(m, r.port, r.address))
  return { port: s.address().port, close: () => s.close() }
}

async function main(argv: string[]): Promise<void> {
  const opt = (f: string, d: string): string => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : d)
  if (argv.includes('--child')) {
    // As bin/overpass.js does for `overpass up`: the young generation stays at its initial size (docs/performance.md).
    if (!argv.includes('--default-young-gen')) v8.setFlagsFromString('--semi-space-growth-factor=1')
    const role = opt('--role', 'exit')
    const flows = Number(opt('--flows', '10000'))
    const r = role === 'exit' ? await exitFlows(flows, Number(opt('--origin', '0')), opt('--sockets', 'native') as 'native' | 'dgram', ECHO_WAIT_MS) : await ingressFlows(flows, ECHO_WAIT_MS)
    console.log(JSON.stringify(r))
    process.exit(0)
  }
  const json = argv.includes('--json')
  const small = Number(opt('--flows', '10000'))
  const big = Number(opt('--big', '100000'))
  const idle = Number(opt('--relay-idle-mb', String(RELAY_IDLE_RSS_MB)))
  const kinds = opt('--sockets', 'native') === 'both' ? ['native', 'dgram'] : [opt('--sockets', 'native')]
  const log = (l: string): void => void (json ? process.stderr.write(l + '\n') : console.log(l))
  const limit = openFileLimit() ?? Infinity
  const maxSockets = Math.min(big, Math.floor((limit - RESERVED_FDS) / 1000) * 1000)
  const origin = await echoOrigin()
  const rows: Row[] = []
  try {
    log(`ingress: ${small} and ${big} flows ...`)
    rows.push(perFlow(await child(['--role', 'ingress', '--flows', String(small)]), idle, TARGET_10K_MB))
    rows.push(perFlow(await child(['--role', 'ingress', '--flows', String(big)]), idle, undefined))
    for (const k of kinds) {
      log(`exit (${k} origin sockets): ${small} flows ...`)
      rows.push(perFlow(await child(['--role', 'exit', '--sockets', k, '--flows', String(small), '--origin', String(origin.port)]), idle, TARGET_10K_MB))
      log(`exit (${k}): ${maxSockets} flows (open-file limit ${limit}) ...`)
      const r = await child(['--role', 'exit', '--sockets', k, '--flows', String(maxSockets), '--origin', String(origin.port)])
      if (maxSockets < big) rows.push(perFlow(r, idle, undefined))
      rows.push(perFlow(r, idle, TARGET_100K_EXIT_MB, big))
    }
  } finally {
    origin.close()
  }
  // One worker holds at most DEFAULT_EXIT_SOCKET_BUDGET origin sockets: more flows refuse with exit_socket_budget.
  const workers = Math.ceil(big / DEFAULT_EXIT_SOCKET_BUDGET)
  const budget = { exit_socket_budget_per_worker: DEFAULT_EXIT_SOCKET_BUDGET, workers_for_big: workers, open_files_for_big: big + RESERVED_FDS * workers }
  const result = { relay_idle_rss_mb: idle, open_file_limit: Number.isFinite(limit) ? limit : null, ...budget, rows }
  if (json) console.log(JSON.stringify(result, null, 2))
  else {
    console.log(`\nrole     sockets  flows    active   RSS/flow  heap/flow  relay RSS (idle ${idle} MB + flows)   target`)
    for (const r of rows) {
      const target = r.target_mb === undefined ? '' : `${r.ratio!.toFixed(2)}x of ${r.target_mb} MB ${r.pass ? 'PASS' : 'FAIL'}`
      console.log(`${r.role.padEnd(8)} ${r.sockets.padEnd(8)} ${String(r.flows).padStart(6)} ${String(r.active).padStart(8)} ${r.rss_per_flow_kb.toFixed(2).padStart(7)} KB ${r.heap_per_flow_kb.toFixed(2).padStart(7)} KB  ${r.projected_relay_rss_mb.toFixed(1).padStart(7)} MB${r.measured ? '' : ' (extrapolated)'}   ${target}`)
    }
    console.log(`\n${big} exit flows need ${workers} worker(s) (exit socket budget ${DEFAULT_EXIT_SOCKET_BUDGET} per worker) and an open-file limit of at least ${budget.open_files_for_big}.`)
  }
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])
if (isMain) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  })
}
