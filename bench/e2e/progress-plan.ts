/**
 * How many measurement steps a `bench:e2e` run will take, for its progress
 * display (src/cli/progress.ts: a bar on a terminal, a line per 10%
 * otherwise). A step is one fixed-rate run, one max-pps search, one flows
 * check, one transit ladder, the interleaved rounds, or (with --hop) one
 * system in one round. Steps differ in length (a search is a few fixed runs),
 * so the bar counts work done, not time; systems skipped at run time
 * (wireguard-go missing) leave it short of 100% until the end.
 */
import { createProgress, type Progress, type ProgressTarget } from '../../src/cli/progress.js'
import { FIXED_RATES } from './measure.js'
import type { SystemName } from './systems.js'

export interface StepPlanOptions {
  systems: SystemName[]
  same: boolean
  transit: boolean
  fixedOnly: boolean
  flows: number
  rounds: number
  interleavedOnly: boolean
  workersCurve: number[]
  hop: boolean
  hopRounds: number
  /** The hop systems asked for; the kernel floor runs every round whether listed or not. */
  hopSystems: string[]
  /** --roles: one step per checkout per round (roles.ts). */
  roles?: boolean
  rolesRounds?: number
  baselineDir?: string
}

/** Systems that run a transit relay of their own (the kernel only forwards). */
const HAS_TRANSIT: ReadonlySet<SystemName> = new Set(['node_forwarder', 'wireguard_go', 'overpass', 'overpass_baseline'])

export function plannedSteps(o: StepPlanOptions): number {
  if (o.roles) return (o.rolesRounds ?? 1) * (o.baselineDir ? 2 : 1)
  if (o.hop) return o.hopRounds * new Set(['kernel', ...o.hopSystems]).size
  let steps = 0
  for (const name of o.interleavedOnly ? [] : o.systems) {
    if (name === 'overpass_transit') {
      steps += 1 + (o.workersCurve.length > 0 ? 1 : 0)
      continue
    }
    steps += (o.same ? 2 : 1) * FIXED_RATES.length
    if (!o.fixedOnly) steps += 1 + (o.transit && HAS_TRANSIT.has(name) ? 1 : 0)
    if (name.startsWith('overpass') && o.flows > 0) steps += 1
  }
  if (interleavedRuns(o)) steps += 1
  return steps
}

/** Whether the interleaved p99 rounds run (main.ts's condition, kept here once). */
export function interleavedRuns(o: Pick<StepPlanOptions, 'rounds' | 'systems' | 'fixedOnly' | 'interleavedOnly'>): boolean {
  return o.rounds > 0 && o.systems.includes('node_forwarder') && o.systems.includes('overpass') && (!o.fixedOnly || o.interleavedOnly)
}

/** Steps done and the one under way, with the bar; `log` prints above it. */
export interface BenchProgress {
  /** The step named `what` starts (shown beside the bar). */
  begin(what: string): void
  /** The step under way is done. */
  done(): void
  log(line: string): void
  finish(completed: boolean): void
}

export function createBenchProgress(total: number, out: (line: string) => void, target?: ProgressTarget, nowMs?: () => number): BenchProgress {
  let current = ''
  let steps = 0
  const p: Progress = createProgress('bench:e2e', total, (done) => `step ${Math.min(done + 1, total)}/${total}${current ? `: ${current}` : ''}`, target, nowMs)
  return {
    begin(what) {
      current = what
      p.update(steps)
    },
    done() {
      steps++
      p.update(steps)
    },
    log: (line) => p.log(line, out),
    finish: (completed) => p.finish(completed),
  }
}
