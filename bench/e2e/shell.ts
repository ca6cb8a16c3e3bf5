/**
 * Running commands for the e2e bench: synchronous helpers for setup
 * (ip, wg, gcc) and a process registry so every child started in a
 * namespace is killed by PID on exit, success or failure.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'

/** Runs a command and returns its stdout; throws with stderr on failure. */
export function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], timeout: 30_000 })
}

/** Like `run`, inside network namespace `ns`. */
export function nsRun(ns: string, cmd: string, args: string[], input?: string): string {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], input)
}

export function tryRun(cmd: string, args: string[]): boolean {
  try {
    run(cmd, args)
    return true
  } catch {
    return false
  }
}

/** Runs a command without blocking the event loop; resolves with stdout. */
export function runAsync(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

export interface Started {
  child: ChildProcess
  pid: number
  /** What the process wrote to stdout and stderr so far (a log file, so a full pipe never stalls it). */
  log: () => string
}

const children = new Set<ChildProcess>()
let nofile: string | undefined

/**
 * The open-file limit for the bench's process tree: the hard limit (the
 * exit holds one socket per flow). Raising the hard limit itself needs
 * CAP_SYS_RESOURCE, which containers often lack.
 */
export function nofileLimit(): string {
  if (nofile === undefined) {
    const hard = run('sh', ['-c', 'ulimit -Hn']).trim()
    nofile = hard === 'unlimited' ? '1048576:1048576' : `${hard}:${hard}`
  }
  return nofile
}

/**
 * Starts `cmd` in `ns`, pinned to `cpus`, with the open-file limit raised to the hard limit.
 * `ip netns exec`, `taskset` and `prlimit` all exec, so the PID is the
 * command's own (what /proc/PID/stat must read).
 */
export function nsSpawn(ns: string, cpus: string, logFile: string, cmd: string, args: string[], env: Record<string, string> = {}): Started {
  const fd = fs.openSync(logFile, 'a')
  const child = spawn('ip', ['netns', 'exec', ns, 'taskset', '-c', cpus, 'prlimit', `--nofile=${nofileLimit()}`, cmd, ...args], {
    stdio: ['ignore', fd, fd],
    env: { ...process.env, ...env },
  })
  fs.closeSync(fd)
  children.add(child)
  child.once('exit', () => children.delete(child))
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`)
  const log = (): string => {
    try {
      return fs.readFileSync(logFile, 'utf8')
    } catch {
      return ''
    }
  }
  return { child, pid: child.pid, log }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopProcess(s: Started, graceMs = 3000): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return
  const gone = new Promise<void>((resolve) => s.child.once('exit', () => resolve()))
  s.child.kill('SIGTERM')
  const timer = setTimeout(() => s.child.kill('SIGKILL'), graceMs)
  await gone
  clearTimeout(timer)
}

/** Last-resort cleanup (signal handlers, exit): SIGKILL every child still running, by PID. */
export function killAllChildren(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  }
}

/** Re-pins every thread of `pid` to `cpus`. */
export function pin(pid: number, cpus: string): void {
  tryRun('taskset', ['-a', '-p', '-c', cpus, String(pid)])
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
