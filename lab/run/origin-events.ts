/**
 * An exit's origin leg failing and coming back during a lab run (scenario
 * events `cut-origin` and `restore-origin`). The exit reaches its origin
 * over a CNI veth that the WAN emulator never sees, so the runner cuts it
 * in the exit's namespace instead: a blackhole route for the origin's
 * service address (more specific than the route over the CNI link) drops
 * the exit's data and its TWAMP origin probes alike, as a failed link
 * would; deleting the route restores it.
 */
import { monoMs } from '../traffic/index.js'
import type { OriginEvent } from '../scenario/index.js'
import { ip } from '../topo/sh.js'
import type { LabRun } from '../topo/up.js'

export interface OriginEventResult {
  at_ms: number
  origin: string
  exit: string
  action: 'cut' | 'restore'
  /** When the route change was made, ms since t0. */
  applied_ms: number
  error?: string
}

export class OriginEvents {
  readonly results: OriginEventResult[] = []
  private readonly timers: NodeJS.Timeout[] = []

  constructor(private readonly lab: LabRun, private readonly t0Ms: number) {}

  start(events: readonly OriginEvent[]): void {
    for (const e of events) this.timers.push(setTimeout(() => this.apply(e), Math.max(0, this.t0Ms + e.atMs - monoMs())))
  }

  /** Cancels what has not happened yet; results in time order. */
  stop(): OriginEventResult[] {
    for (const t of this.timers) clearTimeout(t)
    return this.results.sort((a, b) => a.at_ms - b.at_ms)
  }

  private apply(e: OriginEvent): void {
    const r: OriginEventResult = { at_ms: e.atMs, origin: e.origin, exit: e.exit, action: e.action, applied_ms: NaN }
    try {
      ip(this.lab.ns(e.exit), 'route', e.action === 'cut' ? 'add' : 'del', 'blackhole', `${this.lab.plan.originServiceAddr.get(e.origin)}/32`)
    } catch (err) {
      r.error = (err as Error).message
    }
    r.applied_ms = +(monoMs() - this.t0Ms).toFixed(2)
    this.results.push(r)
  }
}
