/**
 * The control socket every WAN backend serves (JSON lines, like a relay's):
 * `stats`, `reset`, `start` {t0Ms} (runs the scenario's events relative to
 * t0, CLOCK_MONOTONIC ms) and `event` {from, to, action, set?}. The lab
 * runner talks to the user-space emulator and to the netem backend alike.
 * `stats` also reports the hypervisor's steal since the last reset
 * (host-steal.ts) and how long that window was.
 */
import { startControlServer } from '../../src/daemon/control-server.js'
import { monoMs } from '../traffic/index.js'
import path from 'node:path'
import type { LinkEvent } from '../scenario/index.js'
import { hostStealMs } from './host-steal.js'

/** Where a run's WAN backend listens (the name predates the netem backend). */
export const wanControlSocket = (runDir: string): string => path.join(runDir, 'emulator.sock')

export interface WanBackend {
  /** Applies one link event at once. */
  apply(e: LinkEvent): void
  stats(): Record<string, unknown>
  reset(): void
}

export interface AppliedEvent extends LinkEvent {
  /** CLOCK_MONOTONIC ms when the event took effect. */
  appliedAtMs: number
}

export interface WanControl {
  close(): void
}

export async function serveWanControl(socketPath: string, backend: WanBackend, events: readonly LinkEvent[]): Promise<WanControl> {
  const applied: AppliedEvent[] = []
  const timers: NodeJS.Timeout[] = []
  const apply = (e: LinkEvent): void => {
    backend.apply(e)
    applied.push({ ...e, appliedAtMs: monoMs() })
  }
  // Steal and elapsed time since the last reset: the window the delay error covers.
  let stealAtReset = hostStealMs()
  let resetAtMs = monoMs()
  const server = await startControlServer(socketPath, (req) => {
    if (req.cmd === 'stats') return { ...backend.stats(), applied, host_steal_ms: hostStealMs() - stealAtReset, window_ms: monoMs() - resetAtMs }
    if (req.cmd === 'reset') {
      backend.reset()
      stealAtReset = hostStealMs()
      resetAtMs = monoMs()
      return { ok: true }
    }
    if (req.cmd === 'start') {
      const t0Ms = Number(req.t0Ms)
      for (const e of events) timers.push(setTimeout(() => apply(e), Math.max(0, t0Ms + e.atMs - monoMs())))
      return { events: events.length }
    }
    if (req.cmd === 'event') {
      apply(req as unknown as LinkEvent)
      return { ok: true }
    }
    throw new Error(`unknown command ${JSON.stringify(req.cmd)}`)
  })
  return {
    close(): void {
      for (const t of timers) clearTimeout(t)
      server.close()
    },
  }
}
