/**
 * An exit's origin leg failing and coming back during a lab run (scenario
 * events `cut-origin` and `restore-origin`). The exit reaches its origin
 * over a CNI veth that the WAN emulator never sees, so the runner cuts it
 * in the exit's namespace instead: its route to the origin's service
 * address (over the CNI link, topo/addressing.ts) is replaced by a
 * blackhole, which drops the exit's data and its TWAMP origin probes
 * alike, as a failed link would; restore puts the saved route back.
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
  /** The route each cut replaced, by exit/origin, to put back on restore. */
  private readonly saved = new Map<string, string>()

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
    const ns = this.lab.ns(e.exit)
    const dst = `${this.lab.plan.originServiceAddr.get(e.origin)}/32`
    const key = `${e.exit}/${e.origin}`
    try {
      if (e.action === 'cut') {
        this.saved.set(key, ip(ns, 'route', 'show', 'exact', dst).trim())
        ip(ns, 'route', 'replace', 'blackhole', dst)
      } else {
        const before = this.saved.get(key) ?? ''
        if (before === '') ip(ns, 'route', 'del', 'blackhole', dst)
        else ip(ns, 'route', 'replace', ...before.split(/\s+/))
      }
    } catch (err) {
      r.error = (err as Error).message
    }
    r.applied_ms = +(monoMs() - this.t0Ms).toFixed(2)
    this.results.push(r)
  }
}
