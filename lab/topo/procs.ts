/**
 * Processes inside namespaces: `ip netns exec NS node ...`, detached (so
 * `lab up` can return while they run), output to a log file in the run
 * directory, PID recorded in the state file before anything waits on it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { saveState, type LabState } from './state.js'

export function spawnInNs(state: LabState, ns: string, what: string, argv: string[]): ChildProcess {
  const log = fs.openSync(path.join(state.dir, `${what}.log`), 'a')
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { detached: true, stdio: ['ignore', log, log] })
  fs.closeSync(log)
  // `ip netns exec` execs the command, so this pid is the node process itself.
  if (child.pid !== undefined) {
    state.pids.push({ pid: child.pid, what })
    saveState(state)
  }
  child.unref()
  return child
}

export function readLog(state: LabState, what: string): string {
  try {
    return fs.readFileSync(path.join(state.dir, `${what}.log`), 'utf8')
  } catch {
    return ''
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** SIGTERM, then SIGKILL for whatever is still alive after `graceMs`. */
export async function stopPids(pids: number[], graceMs = 3000): Promise<void> {
  const live = pids.filter(alive)
  for (const pid of live) signal(pid, 'SIGTERM')
  const deadline = performance.now() + graceMs
  while (live.some(alive) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 25))
  for (const pid of live.filter(alive)) signal(pid, 'SIGKILL')
  for (let i = 0; i < 40 && live.some(alive); i++) await new Promise((r) => setTimeout(r, 25))
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    // Already gone.
  }
}
