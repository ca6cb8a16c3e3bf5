/** Runs iproute2 and friends synchronously (control path only), with typed errors. */
import { execFileSync } from 'node:child_process'
import { tunAvailable } from '../../src/io/tun.js'
import { missingToolsReason } from '../../src/io/system-tools.js'

export class LabCommandError extends Error {
  override readonly name = 'LabCommandError'
  constructor(readonly command: string[], readonly stderr: string) {
    super(`${command.join(' ')} failed: ${stderr.trim() || 'no output'}`)
  }
}

export function run(cmd: string, args: string[], timeoutMs = 10_000): string {
  try {
    return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, encoding: 'utf8' })
  } catch (err) {
    const e = err as { stderr?: string; message: string }
    throw new LabCommandError([cmd, ...args], e.stderr || e.message)
  }
}

/** `ip [-n NS] ARGS...` */
export function ip(ns: string | undefined, ...args: string[]): string {
  return run('ip', ns ? ['-n', ns, ...args] : args)
}

/** Runs a command inside a namespace (for sysctl and the like). */
export function inNs(ns: string, cmd: string, ...args: string[]): string {
  return run('ip', ['netns', 'exec', ns, cmd, ...args])
}

export function listNamespaces(): string[] {
  let out: string
  try {
    out = run('ip', ['netns', 'list'])
  } catch {
    return []
  }
  return out.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.length > 0)
}

/** Whether this process can build namespaces at all: root, a working `ip netns` and /dev/net/tun. */
export function labAvailable(): { ok: boolean; reason?: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'the lab needs root (network namespaces, veths, TUN)' }
  const tools = missingToolsReason(['ip', 'tc', 'sysctl'])
  if (tools) return { ok: false, reason: `the lab cannot build namespaces: ${tools}` }
  try {
    run('ip', ['netns', 'list'])
  } catch (err) {
    return { ok: false, reason: `ip netns is unavailable: ${(err as Error).message}` }
  }
  // The WAN emulator and L3-mode relays open TUN devices.
  const tun = tunAvailable()
  if (!tun.ok) return { ok: false, reason: `no TUN device: ${tun.reason}` }
  return { ok: true }
}

/** Polls `check` every `everyMs` until it returns a value, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = performance.now() + timeoutMs
  let last: unknown
  for (let i = 0; performance.now() < deadline && i < 100_000; i++) {
    try {
      const v = await check()
      if (v !== undefined) return v
    } catch (err) {
      last = err
    }
    await new Promise((r) => setTimeout(r, everyMs))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`)
}
