/**
 * Where the demo's tail comes from (issue 18, item 3). Every link in the
 * demo has a fixed delay and no jitter, so a flow's one-way delay minus the
 * configured delay of the links it crossed is what the machine added: the
 * relays, the loopback kernel path and the link emulator. The emulator
 * reports its own part, per link traversal (release time minus scheduled
 * time) and as the delay of the event loop it shares with both flows and
 * the origin (the time a datagram may wait before the emulator reads it).
 * Set side by side with the flows' added delay, they show which one the
 * tail is.
 */
import type { IntervalHistogram } from 'node:perf_hooks'
import type { DelayErrorSummary } from '../emulator/delay-stats.js'
import type { UdpLinkEmulator } from '../linkemu/index.js'
import type { FlowReport } from '../traffic/index.js'
import { DEMO_EXIT, DEMO_INGRESS, DEMO_ONE_WAY_MS, type DemoSite } from './topology.js'

export interface TailBreakdown {
  /** Measured one-way delay minus the configured delay of the links crossed. */
  added_ms: { direct_forward: { p50: number; p99: number }; overpass_forward: { p50: number; p99: number } }
  /** Emulated links each flow crosses one way (the overlay's client and origin legs are plain loopback). */
  emulated_links: { direct_forward: number; overpass_forward: number }
  relays: { overpass_forward: number }
  emulator: {
    /** Per link traversal, every link pooled, over the measurement only. */
    delay_error: DelayErrorSummary
    /** The same, on the direct link alone and on the links of the Overpass forward path. */
    direct_link: DelayErrorSummary
    forward_path_links: DelayErrorSummary[]
    loop_delay_p50_ms: number
    loop_delay_p99_ms: number
    loop_delay_max_ms: number
    /** CPU the demo process (emulator, both flows, origin) used during the measurement, in CPUs. */
    cpu_share: number
    waker: 'timerfd' | 'spin'
  }
  /** Overpass's gain over direct in percent of direct (positive: Overpass faster). */
  gain_pct: { forward_p50: number; forward_p99: number; rtt_p50: number; rtt_p99: number }
  /** The target: p99 gain at least half the p50 gain, and never a loss. */
  target: { forward_met: boolean; rtt_met: boolean }
}

/** The emulator's link name between two demo sites (runDemo names them in DEMO_SITES order). */
export type LinkName = (a: DemoSite, b: DemoSite) => string

export function pathDelayMs(path: readonly DemoSite[]): number {
  let sum = 0
  for (let i = 1; i < path.length; i++) sum += DEMO_ONE_WAY_MS[path[i - 1]][path[i]]
  return sum
}

/** The loop-delay monitor's sampling interval (runDemo enables it with this resolution). */
export const LOOP_DELAY_RESOLUTION_MS = 1

/** Node's histogram holds the time between samples (interval plus delay): the delay alone, in ms. */
const loopMs = (ns: number): number => r3(Math.max(0, ns / 1e6 - LOOP_DELAY_RESOLUTION_MS))

const gain = (direct: number, over: number): number => (direct > 0 ? ((direct - over) / direct) * 100 : 0)
const r3 = (x: number): number => Math.round(x * 1000) / 1000

/** Met when the p99 gain is at least half the p50 gain and not negative. */
export function tailTargetMet(p50GainPct: number, p99GainPct: number): boolean {
  return p99GainPct >= 0 && p99GainPct >= p50GainPct / 2
}

export function tailBreakdown(input: {
  direct: FlowReport
  overpass: FlowReport
  forwardPath: readonly DemoSite[]
  emu: UdpLinkEmulator
  loopDelay: IntervalHistogram
  linkName: LinkName
  cpuShare: number
}): TailBreakdown {
  const { direct, overpass, forwardPath, emu, loopDelay, linkName } = input
  const directMs = DEMO_ONE_WAY_MS[DEMO_INGRESS][DEMO_EXIT]
  const overMs = forwardPath.length >= 2 ? pathDelayMs(forwardPath) : directMs
  const links: DelayErrorSummary[] = []
  for (let i = 1; i < forwardPath.length; i++) if (forwardPath[i - 1] !== forwardPath[i]) links.push(emu.delayError(linkName(forwardPath[i - 1], forwardPath[i])))
  const g = {
    forward_p50: gain(direct.forward.p50_ms, overpass.forward.p50_ms),
    forward_p99: gain(direct.forward.p99_ms, overpass.forward.p99_ms),
    rtt_p50: gain(direct.rtt.p50_ms, overpass.rtt.p50_ms),
    rtt_p99: gain(direct.rtt.p99_ms, overpass.rtt.p99_ms),
  }
  return {
    added_ms: {
      direct_forward: { p50: r3(direct.forward.p50_ms - directMs), p99: r3(direct.forward.p99_ms - directMs) },
      overpass_forward: { p50: r3(overpass.forward.p50_ms - overMs), p99: r3(overpass.forward.p99_ms - overMs) },
    },
    emulated_links: { direct_forward: 1, overpass_forward: Math.max(1, forwardPath.length - 1) },
    relays: { overpass_forward: forwardPath.length },
    emulator: {
      delay_error: emu.delayError(),
      direct_link: emu.delayError('direct'),
      forward_path_links: links,
      loop_delay_p50_ms: loopMs(loopDelay.percentile(50)),
      loop_delay_p99_ms: loopMs(loopDelay.percentile(99)),
      loop_delay_max_ms: loopMs(loopDelay.max),
      cpu_share: r3(input.cpuShare),
      waker: emu.wakerKind,
    },
    gain_pct: { forward_p50: r3(g.forward_p50), forward_p99: r3(g.forward_p99), rtt_p50: r3(g.rtt_p50), rtt_p99: r3(g.rtt_p99) },
    target: { forward_met: tailTargetMet(g.forward_p50, g.forward_p99), rtt_met: tailTargetMet(g.rtt_p50, g.rtt_p99) },
  }
}
