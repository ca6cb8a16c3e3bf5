/**
 * Records the overlay paths of every overpass flow over time by polling
 * `routes` on its ingress (forward path) and on the exit that path ends at
 * (reply path) every ~100 ms. Only changes are kept.
 */
import { controlRequest } from '../../src/daemon/control-server.js'
import { monoMs } from '../traffic/index.js'
import type { PathChoice } from '../../src/route/types.js'

export interface PathSample {
  /** ms since traffic t0. */
  t_ms: number
  forward: string[]
  reply: string[]
}

interface Routes {
  forward: PathChoice[]
  reply: PathChoice[]
}

export interface Watched {
  key: string
  service: string
  ingress: string
  /**
   * The service whose choice at the exit is the reply path: the same one
   * for L4; for L3 the branch site's service (the exit is its ingress).
   */
  replyService?: string
  /** L3: the exit the DC sends replies to (a static route), whatever exit the forward path uses. */
  replyFrom?: string
}

export const POLL_MS = 100

export class PathRecorder {
  readonly series = new Map<string, PathSample[]>()
  private timer: NodeJS.Timeout | undefined
  private busy = false

  constructor(private readonly watched: Watched[], private readonly socketOf: (pop: string) => string, private readonly t0Ms: number) {}

  /** One poll: the current forward and reply path of each watched flow ([] when none). */
  async current(): Promise<Map<string, { forward: string[]; reply: string[] }>> {
    const cache = new Map<string, Promise<Routes | undefined>>()
    const routes = (pop: string): Promise<Routes | undefined> => {
      if (!cache.has(pop)) cache.set(pop, controlRequest(this.socketOf(pop), { cmd: 'routes' }, 1000).then((r) => r as Routes, () => undefined))
      return cache.get(pop)!
    }
    const out = new Map<string, { forward: string[]; reply: string[] }>()
    for (const w of this.watched) {
      const fwd = (await routes(w.ingress))?.forward.find((c) => c.service === w.service)?.path ?? []
      const exit = w.replyFrom ?? fwd[fwd.length - 1]
      const r = exit ? await routes(exit) : undefined
      const svc = w.replyService ?? w.service
      const back = (c: PathChoice): boolean => c.service === svc && c.path[c.path.length - 1] === w.ingress
      const rep = (svc === w.service ? r?.reply.find(back) : r?.forward.find(back) ?? r?.reply.find(back))?.path ?? []
      out.set(w.key, { forward: fwd, reply: rep })
    }
    return out
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.busy) return
      this.busy = true
      this.current().then((now) => this.record(now)).finally(() => (this.busy = false))
    }, POLL_MS)
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
  }

  private record(now: Map<string, { forward: string[]; reply: string[] }>): void {
    const t = monoMs() - this.t0Ms
    for (const [key, p] of now) {
      const list = this.series.get(key) ?? []
      const last = list[list.length - 1]
      if (!last || last.forward.join() !== p.forward.join() || last.reply.join() !== p.reply.join()) list.push({ t_ms: Math.round(t), ...p })
      this.series.set(key, list)
    }
  }
}
