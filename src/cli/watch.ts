/**
 * `--watch [seconds]` for `status`, `map` and `routes`: redraws the output
 * every interval until interrupted. On a terminal it redraws in place, as
 * watch(1) does (home the cursor, clear the screen, a header line with the
 * interval and time); when not a terminal it appends each refresh after a
 * header line, so a log or a pipe gets every snapshot.
 */
import { InvalidArgumentError } from 'commander'

export const DEFAULT_WATCH_INTERVAL_S = 2
/** Faster than this only burns the daemon's CPU: each refresh is one control-socket request. */
export const MIN_WATCH_INTERVAL_S = 0.1
const CLEAR_SCREEN = '\x1b[H\x1b[2J'

/** commander argParser for `--watch [seconds]`: a number of seconds, at least MIN_WATCH_INTERVAL_S. */
export function parseWatchInterval(value: string): number {
  const s = Number(value)
  if (!Number.isFinite(s) || s < MIN_WATCH_INTERVAL_S) throw new InvalidArgumentError(`use a number of seconds, at least ${MIN_WATCH_INTERVAL_S}, e.g. 1 or 0.5`)
  return s
}

export interface WatchTarget {
  write(text: string): void
  isTTY: boolean
}

/**
 * Renders once, or with `watch` (an interval, or true for the default) every
 * interval until `stop` resolves (default: SIGINT or SIGTERM). `render`
 * returns the text, or undefined when the relay cannot be reached (the
 * error is already printed; without --watch that ends the command).
 */
export async function renderOrWatch(
  command: string,
  watch: number | boolean | undefined,
  render: () => Promise<string | undefined>,
  out: WatchTarget = { write: (t) => process.stdout.write(t), isTTY: process.stdout.isTTY === true },
  stop: Promise<void> = interrupted(),
): Promise<void> {
  if (watch === undefined || watch === false) {
    const text = await render()
    if (text !== undefined) out.write(text)
    return
  }
  const intervalS = watch === true ? DEFAULT_WATCH_INTERVAL_S : watch
  let stopped = false
  void stop.then(() => (stopped = true))
  while (!stopped) {
    const text = (await render()) ?? ''
    const header = `Every ${intervalS}s: overpass ${command}    ${new Date().toISOString()}\n\n`
    out.write(out.isTTY ? CLEAR_SCREEN + header + text : header + text + '\n')
    await Promise.race([new Promise((r) => setTimeout(r, intervalS * 1000)), stop])
  }
}

function interrupted(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done)
      process.off('SIGTERM', done)
      resolve()
    }
    process.once('SIGINT', done)
    process.once('SIGTERM', done)
  })
}
