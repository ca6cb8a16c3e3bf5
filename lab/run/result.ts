/** The result of `overpass lab run` (what --json prints, plus samples for reports). */
import type { DirectionSummary } from '../../src/traffic/index.js'
import type { EdgeView } from '../../src/route/types.js'
import type { LinkEvent } from '../scenario/index.js'
import type { Expected } from './expected.js'
import type { PathSample } from './paths.js'
import type { WanKind } from '../wan/backend.js'

export interface FlowResult {
  name: string
  via: 'direct' | 'overpass'
  client: string
  origin: string
  sent: number
  received: number
  loss_pct: number
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
  expected: Expected
}

export interface EmulatorResult {
  /** netem: the kernel delays packets and there is no user-space delay error to report (samples 0). */
  backend: WanKind
  delay_error_p50_ms: number
  delay_error_p99_ms: number
  delay_error_max_ms: number
  samples: number
  realtime: boolean
}

export interface LabResult {
  scenario: string
  run: string
  flows: FlowResult[]
  emulator: EmulatorResult
  /** Events as the emulator applied them, ms since traffic t0. */
  events: (LinkEvent & { applied_ms: number })[]
  /** The latency map as the first ingress relay measured it at the end. */
  map: EdgeView[]
  /** Scenario one-way delays, for the report's heatmap. */
  wan: { pops: string[]; delayMs: number[][] }
}

/** Per flow key (`name/via`): [seq, send ms since t0, forward ms, reverse ms]. */
export type FlowSamples = Map<string, number[][]>
