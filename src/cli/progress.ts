/**
 * Progress of a long-running command (`sim`, `lab run`, `bench:e2e`), on
 * stderr so stdout stays the result. On a terminal: one bar redrawn in
 * place, at most every REDRAW_MS, cleared when done. Otherwise (CI logs,
 * pipes): a plain line at every PLAIN_STEP_PCT, no escape codes. Nothing at
 * all during the first QUIET_FOR_MS, so quick runs print only their result.
 * Commands that also log lines while the bar is up print them through
 * `log`, which lifts the bar off the line and redraws it below.
 */
export const REDRAW_MS = 100
/** Nothing is shown for runs that end sooner than this (wall clock): only long runs need progress. */
export const QUIET_FOR_MS = 2000
export const PLAIN_STEP_PCT = 10
const BAR_CELLS = 30

export interface ProgressTarget {
  write(text: string): void
  isTTY: boolean
}

export interface Progress {
  /** `done` of `total` units so far. */
  update(done: number): void
  /** Clears the bar (terminal); when `completed`, prints the last line (plain). */
  finish(completed?: boolean): void
  /**
   * Prints `line` through `out` (default: the progress target, adding the
   * newline) above the bar: on a terminal the bar is cleared first and
   * redrawn after, so the line is not written over it.
   */
  log(line: string, out?: (line: string) => void): void
}

export function createProgress(
  label: string,
  total: number,
  describe: (done: number, total: number) => string,
  target: ProgressTarget = { write: (t) => process.stderr.write(t), isTTY: process.stderr.isTTY === true },
  nowMs: () => number = () => performance.now(),
  quietForMs = QUIET_FOR_MS,
): Progress {
  const startMs = nowMs()
  let shown = false
  let lastDrawMs = -Infinity
  let lastStep = -1
  let latest = 0
  let barDrawn = false
  const pct = (done: number): number => (total > 0 ? Math.min(100, (done / total) * 100) : 100)
  const bar = (done: number): string => {
    const filled = Math.round((pct(done) / 100) * BAR_CELLS)
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(BAR_CELLS - filled)}] ${pct(done).toFixed(0).padStart(3)}% ${describe(done, total)}`
  }
  return {
    update(done) {
      latest = done
      if (nowMs() - startMs < quietForMs) return
      shown = true
      if (target.isTTY) {
        if (nowMs() - lastDrawMs < REDRAW_MS) return
        lastDrawMs = nowMs()
        target.write(`\r\x1b[K${bar(done)}`)
        barDrawn = true
        return
      }
      const step = Math.floor(pct(done) / PLAIN_STEP_PCT)
      if (step === lastStep || step * PLAIN_STEP_PCT >= 100) return
      lastStep = step
      target.write(`${label}: ${pct(done).toFixed(0)}% ${describe(done, total)}\n`)
    },
    finish(completed = true) {
      if (!shown) return
      if (target.isTTY) target.write('\r\x1b[K')
      else if (completed) target.write(`${label}: 100% ${describe(latest, total)}\n`)
      shown = false
      barDrawn = false
    },
    log(line, out = (l) => target.write(`${l}\n`)) {
      if (!barDrawn) return out(line)
      target.write('\r\x1b[K')
      out(line)
      target.write(`\r\x1b[K${bar(latest)}`)
    },
  }
}

/**
 * Feeds `progress` the time elapsed since `startMs` every `everyMs`, for
 * phases whose length is known but which report nothing themselves (the lab's
 * traffic phase). Returns the stop function; the timer never holds the
 * process open.
 */
export function trackElapsed(progress: Progress, startMs: number, nowMs: () => number = () => performance.now(), everyMs = REDRAW_MS): () => void {
  const timer = setInterval(() => progress.update(Math.max(0, nowMs() - startMs)), everyMs)
  timer.unref()
  return () => clearInterval(timer)
}
