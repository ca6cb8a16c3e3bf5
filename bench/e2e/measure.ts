/**
 * What is measured on each system, in the same order for every system:
 * fixed-rate round trips (with relay CPU per packet), the highest rate with
 * < 0.1% loss, and the same fixed rates again with everything on one CPU.
 */
import type { Loadgen, LoadResult } from './loadgen.js'
import { cpuUs } from './proc.js'
import { pin, sleep } from './shell.js'
import type { RunningSystem } from './systems.js'

export const FIXED_RATES = [1_000, 10_000, 30_000]
/** The rate of the headline figures and of the p99 target: 10k round trips/s. */
export const HEADLINE_RATE = 10_000
/** Packets per fixed-rate run: at least 3000, so p99.9 rests on a few samples, and at most ~3 s. */
const countFor = (rate: number): number => Math.max(3_000, Math.min(rate * 2, 30_000))
export const MAX_LOSS = 0.001

export interface Placement {
  name: 'split' | 'same' | 'transit'
  clientCpus: string
  relayCpus: string
  /** CPUs of the transit relay, when it differs from the other relays. */
  transitCpus?: string
}

export const PLACEMENTS: Record<Placement['name'], Placement> = {
  /** Client and origin on CPU 0, every relay on CPU 1: includes cross-CPU wake-ups. */
  split: { name: 'split', clientCpus: '0', relayCpus: '1' },
  /** Everything on CPU 0: the cost of processing a packet, no cross-CPU wake-ups. */
  same: { name: 'same', clientCpus: '0', relayCpus: '0' },
  /** Only the transit relay on CPU 1; client, origin, ingress and exit share CPU 0. */
  transit: { name: 'transit', clientCpus: '0', relayCpus: '0', transitCpus: '1' },
}

export interface RateResult extends LoadResult {
  /** Relay CPU (all relays) per one-way packet delivered, µs; null without relay processes. */
  cpu_us_per_packet: number | null
  /** CPU of the middle relay per one-way packet it carried, µs. */
  transit_cpu_us_per_packet: number | null
  /** The same per relay role (ingress, transit, exit), µs per one-way packet; empty without relay processes. */
  cpu_us_per_packet_by_role: Partial<Record<'ingress' | 'transit' | 'exit', number>>
}

export interface SearchStep {
  rate: number
  loss: number
  pass: boolean
  /** Share of one CPU the transit relay used during the step (0..1+), null without one. */
  transit_cpu_share: number | null
}

export class Measurer {
  constructor(private readonly lg: Loadgen, private readonly log: (line: string) => void) {}

  place(sys: RunningSystem, echoPid: number, p: Placement): void {
    for (const r of sys.relays) pin(r.proc.pid, r.role === 'transit' ? p.transitCpus ?? p.relayCpus : p.relayCpus)
    pin(echoPid, p.clientCpus)
  }

  /** Polls with a light load until round trips work (handshakes, tunnels up). */
  async ready(sys: RunningSystem, timeoutMs = 20_000): Promise<void> {
    const until = Date.now() + timeoutMs
    while (Date.now() < until) {
      const r = await this.lg.load('0', sys.target.host, sys.target.port, 500, 200)
      if (r.received >= r.sent * 0.99) return
      await sleep(200)
    }
    throw new Error(`${sys.name}: no round trips after ${timeoutMs / 1000} s`)
  }

  async atRate(sys: RunningSystem, p: Placement, rate: number, count = countFor(rate)): Promise<RateResult> {
    const pids = sys.relays.map((r) => r.proc.pid)
    const before = pids.map(cpuUs)
    const r = await this.lg.load(p.clientCpus, sys.target.host, sys.target.port, rate, count)
    const used = pids.map((pid, i) => cpuUs(pid) - before[i])
    // Each round trip is two one-way packets through every relay.
    const packets = 2 * r.received
    const transit = sys.relays.filter((x) => x.role === 'transit').map((x) => used[sys.relays.indexOf(x)])
    const byRole: RateResult['cpu_us_per_packet_by_role'] = {}
    if (packets > 0) sys.relays.forEach((x, i) => (byRole[x.role] = round((byRole[x.role] ?? 0) + used[i] / packets)))
    return {
      ...r,
      cpu_us_per_packet_by_role: byRole,
      cpu_us_per_packet: pids.length > 0 && packets > 0 ? round(used.reduce((a, b) => a + b, 0) / packets) : null,
      transit_cpu_us_per_packet: transit.length > 0 && packets > 0 ? round(transit.reduce((a, b) => a + b, 0) / packets) : null,
    }
  }

  /**
   * Highest rate with < 0.1% round-trip loss: grow by 1.4x until a rate
   * fails twice in a row (bursty losers get one retry), then bisect.
   */
  async maxPps(sys: RunningSystem, p: Placement, steps: SearchStep[]): Promise<number> {
    const trial = async (rate: number): Promise<boolean> => {
      for (let attempt = 0; attempt < 2; attempt++) {
        await sleep(300)
        const transit = sys.relays.find((x) => x.role === 'transit')?.proc.pid
        const before = transit === undefined ? 0 : cpuUs(transit)
        const r = await this.lg.load(p.clientCpus, sys.target.host, sys.target.port, rate, rate)
        const share = transit === undefined ? null : round((cpuUs(transit) - before) / (r.elapsed_s * 1e6))
        const pass = r.loss < MAX_LOSS
        steps.push({ rate, loss: round(r.loss, 5), pass, transit_cpu_share: share })
        this.log(`    ${sys.name} ${p.name} ${rate} pps: loss ${(r.loss * 100).toFixed(3)}%, transit cpu ${share ?? '-'} ${pass ? 'ok' : attempt === 0 ? '(retry)' : 'FAIL'}`)
        if (pass) return true
      }
      return false
    }
    let good = 0
    let bad = 0
    for (let rate = 10_000; rate <= 400_000; rate = Math.round(rate * 1.4)) {
      if (await trial(rate)) good = rate
      else {
        bad = rate
        break
      }
    }
    if (bad === 0) return good
    for (let i = 0; i < 3 && bad / Math.max(good, 1) > 1.08; i++) {
      const mid = Math.round((Math.max(good, 1_000) + bad) / 2 / 500) * 500
      if (await trial(mid)) good = mid
      else bad = mid
    }
    return good
  }
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}
