/**
 * `lab run`'s progress display (src/cli/progress.ts: a bar on a terminal,
 * a line per 10% otherwise).
 */
import { createProgress, type Progress, type ProgressTarget } from '../../src/cli/progress.js'

/**
 * One bar over the warm-up and the traffic (agents' start included), fed the
 * time since the relays started: both phases have a known length, and
 * nothing else in a run takes long. The route wait and an L3 capture's setup
 * can stretch the warm-up; the bar then waits at 100% for the agents.
 */
export function phaseProgress(warmupMs: number, trafficMs: number, target?: ProgressTarget, nowMs?: () => number): Progress {
  const secs = (ms: number): string => (ms / 1000).toFixed(0)
  return createProgress('lab run', warmupMs + trafficMs, (done) =>
    done < warmupMs ? `warm-up ${secs(done)}/${secs(warmupMs)} s` : `traffic ${secs(Math.min(done - warmupMs, trafficMs))}/${secs(trafficMs)} s`, target, nowMs)
}
