/** The result of `overpass lab run` (what --json prints, plus samples for reports). */
import type { DirectionSummary } from '../traffic/index.js'
import type { RunPathChecks } from './path-checks.js'
import type { EdgeView } from '../../src/route/types.js'
import type { LinkEvent } from '../scenario/index.js'
import type { Expected } from './expected.js'
import type { PathSample } from './paths.js'
import type { WanKind } from '../wan/backend.js'
import type { FlowSeries } from './series.js'
import type { EventFigures } from './event-figures.js'
import type { RelayEventResult } from './relay-events.js'
import type { OriginEventResult } from './origin-events.js'
import type { OverlayTraffic } from './overlay-traffic.js'

export interface FlowResult {
  name: string
  via: 'direct' | 'overpass'
  client: string
  origin: string
  sent: number
  received: number
  /** Round-trip loss: sent packets whose echo never came back. */
  loss_pct: number
  /** Sent packets that never reached the origin, percent. */
  forward_loss_pct: number
  /** Packets that reached the origin whose echo never came back, percent of those. */
  reverse_loss_pct: number
  /** Distinct packets the origin received. */
  origin_received: number
  /** Extra copies the origin received (redundant paths must keep this 0). */
  origin_duplicates: number
  /** Extra echoes the client received (likewise). */
  client_duplicates: number
  /** p50/p99/jitter are of the forward (client -> origin) one-way delay. */
  p50_ms: number
  p99_ms: number
  jitter_ms: number
  max_gap_ms: number
  reordered: number
  forward: DirectionSummary
  reverse: DirectionSummary
  rtt: DirectionSummary
  paths: PathSample[]
  /** How often the forward and reply path changed from traffic start on (series.ts countPathChanges). */
  path_changes: { forward: number; reply: number }
  /** Per moment of the scenario's events: gap, loss each way and delay until the next moment. */
  around_events: EventFigures[]
  expected: Expected
}

export interface EmulatorResult {
  /** netem: the kernel delays packets and there is no user-space delay error to report (samples 0). */
  backend: WanKind
  delay_error_p50_ms: number
  delay_error_p99_ms: number
  delay_error_max_ms: number
  /** Packets released later than each threshold ("0.5", "1", "2", "5" ms), so runs can be pooled. */
  delay_error_over_ms: Record<string, number>
  samples: number
  realtime: boolean
  /** User-space emulator only: how releases wait, "timerfd" or the "spin" fallback. */
  waker?: string
  /** CPU time the hypervisor took from the VM (all CPUs) during the measurement window; 10 ms resolution. */
  host_steal_ms: number
  window_ms: number
}

export interface LabResult {
  scenario: string
  run: string
  flows: FlowResult[]
  emulator: EmulatorResult
  /** Events as the emulator applied them, ms since traffic t0. */
  events: (LinkEvent & { applied_ms: number })[]
  /** Relay kills and restarts as the runner carried them out (relay-events.ts). */
  relay_events: RelayEventResult[]
  /** Origin-leg cuts and repairs as the runner carried them out (origin-events.ts). */
  origin_events: OriginEventResult[]
  /** Per PoP: what its relay sent on the overlay over the whole run (overlay-traffic.ts). */
  overlay_traffic?: Record<string, OverlayTraffic>
  /** Per PoP: paths its relay demoted because their data fared worse than the map predicted (path-checks.ts). */
  path_checks?: Record<string, RunPathChecks>
  /** The latency map as the first ingress relay measured it at the end. */
  map: EdgeView[]
  /** Scenario one-way delays, for the report's heatmap. */
  wan: { pops: string[]; delayMs: number[][] }
  /** Runs with L3 sites: plain tools across the overlay and the DC's capture. */
  l3?: L3Result
}

/** A branch host and the data-centre host it talks to in L3 mode. */
export interface L3Pair {
  site: string
  pop: string
  dc: string
  /** The branch host's own address (what the DC must see). */
  host: string
  /** The DC host address. */
  target: string
  /** The exit the DC routes this branch's replies to. */
  return_exit: string
  /** IP version of `host` and `target` (IPv6 rides the same IPv4 overlay). */
  family: 4 | 6
}

/** The result for one pair, matched by site, data centre and IP version. */
export function forPair<T extends L3Pair>(results: T[], p: L3Pair): T | undefined {
  return results.find((x) => x.site === p.site && x.dc === p.dc && x.family === p.family)
}

export interface PingResult extends L3Pair {
  sent: number
  received: number
  rtt_min_ms?: number
  rtt_avg_ms?: number
  rtt_max_ms?: number
  skipped?: string
}

export interface TcpResult extends L3Pair {
  /** Bytes the DC's iperf3 server counted before the test ended (see l3-probes.ts parseIperf). */
  bytes: number
  /** Bytes the branch's iperf3 client wrote during the test. */
  bytes_sent?: number
  seconds?: number
  mbps?: number
  retransmits?: number
  error?: string
  skipped?: string
}

export interface CaptureSource {
  addr: string
  packets: number
  /** Packets per protocol (icmp, tcp, udp, proto-N). */
  protos: Record<string, number>
}

export interface CaptureResult {
  dc: string
  interfaces: string[]
  /** The capture filter (BPF). */
  filter: string
  packets: number
  /** Sources that are branch hosts. */
  sources: CaptureSource[]
  /** Every other source: must be empty. */
  foreign: CaptureSource[]
  error?: string
}

export interface L3Result {
  pairs: L3Pair[]
  ping: PingResult[]
  tcp: TcpResult[]
  /** Per data centre; `capture_skipped` says why there is none. */
  capture: CaptureResult[]
  capture_skipped?: string
}

/** Per flow key (`name/via`): [seq, send ms since t0, forward ms, reverse ms, receive ms since t0], echoed packets only. */
export type FlowSamples = Map<string, number[][]>

/** Per flow key (`name/via`): every packet that reached the origin (written to series.json). */
export type SeriesByFlow = Map<string, FlowSeries>
