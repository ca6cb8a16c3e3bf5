/**
 * `npm run fuzz -- [--json] [--inputs N] [--only a,b] [--seed S] [--jobs J]`:
 * feeds every relay input path that reads untrusted bytes (targets.ts) with
 * N generated inputs each (default 1,000,000): valid messages, mutations of
 * them and raw bytes. Prints, per target, the inputs, the crashes (the
 * handler threw), the uncaught exceptions and unhandled rejections seen while
 * it ran, the properties broken (e.g. a reply larger than its request) and
 * the drops by reason. Exits 1 if any target crashed or broke a property.
 * Outside `npm test`; test/bench/fuzz-runner.test.ts runs every target briefly.
 * --jobs runs targets on that many worker threads (default 1: the CPU may be shared).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { Rng } from './rng.js'
import { TARGETS, type Feed, type Target } from './targets.js'

export const DEFAULT_INPUTS = 1_000_000
/** Crashes and broken properties kept per target, with their message and where they were thrown. */
const KEEP_EXAMPLES = 3
/** Inputs between yields to the event loop, so asynchronous errors surface while their target runs. */
const YIELD_EVERY = 4096

export interface TargetResult {
  inputs: number
  crashes: number
  uncaught: number
  violations: number
  drops_by_reason: Record<string, number>
  inputs_per_s: number
  examples?: string[]
}

export interface FuzzReport {
  seed: number
  inputs_per_parser: number
  parsers: Record<string, TargetResult>
}

let current: TargetResult | undefined
let uncaughtOutside = 0
function onUncaught(err: unknown): void {
  if (current === undefined) {
    uncaughtOutside++
    return
  }
  current.uncaught++
  remember(current, `uncaught: ${describe(err)}`)
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const where = (err.stack ?? '').split('\n').slice(1, 4).map((l) => l.trim()).join(' < ')
  return `${err.name}: ${err.message.slice(0, 200)} at ${where}`
}

function remember(r: TargetResult, what: string): void {
  r.examples ??= []
  if (r.examples.length < KEEP_EXAMPLES) r.examples.push(what)
}

/** Runs one target for `inputs` inputs from `seed`. */
export async function runTarget(target: Target, inputs: number, seed: number): Promise<TargetResult> {
  const result: TargetResult = { inputs: 0, crashes: 0, uncaught: 0, violations: 0, drops_by_reason: {}, inputs_per_s: 0 }
  current = result
  const rng = new Rng(seed ^ hashName(target.name))
  const started = performance.now()
  const harness = await target.setup()
  try {
    for (let i = 0; i < inputs; i++) {
      let feed: Feed
      try {
        feed = harness.next(rng)
      } catch (err) {
        // A bug of the fuzzer itself, not of the relay: stop this target and say so.
        throw new Error(`fuzz target ${target.name} failed to generate input ${i}: ${describe(err)}`)
      }
      result.inputs++
      try {
        const broken = feed()
        if (typeof broken === 'string') {
          result.violations++
          remember(result, `violation: ${broken}`)
        }
      } catch (err) {
        result.crashes++
        remember(result, `crash: ${describe(err)}`)
      }
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await (harness.settle?.() ?? new Promise((r) => setImmediate(r)))
    }
    await (harness.settle?.() ?? new Promise((r) => setImmediate(r)))
  } finally {
    result.drops_by_reason = sortKeys(harness.dropsByReason())
    harness.stop()
    current = undefined
  }
  result.inputs_per_s = Math.round(result.inputs / ((performance.now() - started) / 1000))
  return result
}

function hashName(name: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193)
  return h >>> 0
}

function sortKeys(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)))
}

interface Args {
  json: boolean
  inputs: number
  only: string[] | undefined
  seed: number
  jobs: number
}

function parseArgs(argv: string[]): Args {
  const args: Args = { json: false, inputs: DEFAULT_INPUTS, only: undefined, seed: 1, jobs: 1 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = (): string => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return v
    }
    if (a === '--json') args.json = true
    else if (a === '--inputs') args.inputs = positive(a, value())
    else if (a === '--seed') args.seed = Number(value()) >>> 0
    else if (a === '--jobs') args.jobs = positive(a, value())
    else if (a === '--only') args.only = value().split(',')
    else throw new Error(`unknown option ${a} (options: --json --inputs N --only a,b --seed S --jobs J)`)
  }
  const unknown = args.only?.filter((n) => !TARGETS.some((t) => t.name === n)) ?? []
  if (unknown.length > 0) throw new Error(`unknown target(s) ${unknown.join(', ')}; targets: ${TARGETS.map((t) => t.name).join(', ')}`)
  return args
}

function positive(flag: string, v: string): number {
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got "${v}"`)
  return n
}

/** Runs the named targets in this thread, one after the other. */
async function runAll(names: string[], inputs: number, seed: number, progress: (name: string, r: TargetResult) => void): Promise<Record<string, TargetResult>> {
  const out: Record<string, TargetResult> = {}
  for (const name of names) {
    const r = await runTarget(TARGETS.find((t) => t.name === name)!, inputs, seed)
    out[name] = r
    progress(name, r)
  }
  return out
}

/** Splits the targets over `jobs` worker threads (round robin) and merges their results. */
async function runParallel(names: string[], inputs: number, seed: number, jobs: number, progress: (name: string, r: TargetResult) => void): Promise<Record<string, TargetResult>> {
  const groups: string[][] = Array.from({ length: Math.min(jobs, names.length) }, () => [])
  names.forEach((n, i) => groups[i % groups.length].push(n))
  const parts = await Promise.all(
    groups.map(
      (group) =>
        new Promise<Record<string, TargetResult>>((resolve, reject) => {
          const w = new Worker(new URL(import.meta.url), { workerData: { fuzzWorker: true, names: group, inputs, seed } })
          w.on('message', (m: { done?: Record<string, TargetResult>; progress?: [string, TargetResult] }) => {
            if (m.progress) progress(...m.progress)
            if (m.done) resolve(m.done)
          })
          w.on('error', reject)
          w.on('exit', (code) => code !== 0 && reject(new Error(`fuzz worker exited with ${code}`)))
        }),
    ),
  )
  return Object.assign({}, ...parts) as Record<string, TargetResult>
}

async function main(): Promise<void> {
  process.on('uncaughtException', onUncaught)
  process.on('unhandledRejection', onUncaught)
  if (isFuzzWorker) {
    const { names, inputs, seed } = workerData as { names: string[]; inputs: number; seed: number }
    const done = await runAll(names, inputs, seed, (name, r) => parentPort!.postMessage({ progress: [name, r] }))
    parentPort!.postMessage({ done })
    return
  }
  const args = parseArgs(process.argv.slice(2))
  const names = args.only ?? TARGETS.map((t) => t.name)
  const progress = (name: string, r: TargetResult): void => {
    process.stderr.write(`fuzz ${name}: ${r.inputs} inputs, ${r.crashes} crashes, ${r.uncaught} uncaught, ${r.violations} violations (${r.inputs_per_s}/s)\n`)
    for (const e of r.examples ?? []) process.stderr.write(`  ${e}\n`)
  }
  const parsers = args.jobs > 1 ? await runParallel(names, args.inputs, args.seed, args.jobs, progress) : await runAll(names, args.inputs, args.seed, progress)
  const report: FuzzReport = { seed: args.seed, inputs_per_parser: args.inputs, parsers: Object.fromEntries(names.map((n) => [n, parsers[n]])) }
  if (uncaughtOutside > 0) process.stderr.write(`fuzz: ${uncaughtOutside} uncaught errors outside any target\n`)
  if (args.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n')
  else {
    for (const [n, r] of Object.entries(report.parsers)) {
      process.stdout.write(`${n.padEnd(16)} ${String(r.inputs).padStart(9)} inputs  ${r.crashes} crashes  ${r.uncaught} uncaught  ${r.violations} violations  ${r.inputs_per_s}/s\n`)
    }
  }
  const failed = Object.values(report.parsers).some((r) => r.crashes > 0 || r.uncaught > 0 || r.violations > 0) || uncaughtOutside > 0
  process.exitCode = failed ? 1 : 0
}

// Imported by tests for runTarget; run as a program (or worker) otherwise.
const isFuzzWorker = !isMainThread && (workerData as { fuzzWorker?: boolean } | null)?.fuzzWorker === true
const isEntry = isFuzzWorker || (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href)
if (isEntry) {
  main().catch((err) => {
    process.stderr.write(`fuzz: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 2
  })
}
