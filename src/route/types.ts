/**
 * The contract of the control plane (probe/ + route/): one `Router` per relay,
 * a pure state machine fed with (nowMs, event). The daemon, the unit tests and
 * the simulator all drive it the same way:
 *
 *   every ~10-50 ms:   out = router.tick(nowMs)          -> send each message
 *   on a probe:        out = router.onProbe(nowMs, from, bytes)
 *   on a control msg:  out = router.onControl(nowMs, from, msg)
 *   on an origin sample (exit only): router.onOriginSample(nowMs, sample)
 *   for data packets:  router.forwardPath(service) / router.replyPath(service, ingress)
 *
 * `nowMs` is this relay's own monotonic clock. Relays' clocks are never
 * synchronised: the offset between two relays can be hours.
 */

export type { OriginSample, RouterMessage } from '../probe/types.js'
import type { OriginSample, RouterMessage } from '../probe/types.js'
import type { ControlPlaneHealth } from './column-hold.js'
export type { ControlPlaneHealth } from './column-hold.js'

export interface RouterService {
  name: string
  /** Relays that take this service's traffic in. */
  ingress: string[]
  /** Relays with a CNI link to the origin. */
  exits: string[]
  /** Optional per-service routing profile (penalties for jitter and loss). */
  profile?: RoutingProfileName
  /** Send each packet over the two best edge-disjoint paths. */
  redundant?: boolean
}

export type RoutingProfileName = 'latency' | 'gaming' | 'rtc'

export interface RouterInit {
  /** This relay's id. */
  self: string
  /** Every relay in the network, including self. */
  relays: string[]
  services: RouterService[]
  /** Mean probe interval (default 100 ms; jittered +-10%). */
  probeIntervalMs?: number
  /** Consecutive missing probes that mark an edge down (default 3). */
  lossDownAfter?: number
  /** Cost added per intermediate relay, ms (default 0). */
  hopCostMs?: number
  /** Random source in [0,1), injectable for deterministic runs. */
  random?: () => number
  /**
   * This run's boot id (u32), carried in probes and map updates so peers can
   * tell a restart from a replay. Default: drawn from `random`. The daemon
   * should pass `random` (or this) from a real entropy source: the default
   * PRNG is seeded from `self` and repeats across restarts.
   */
  bootId?: number
  /** Mean interval of the periodic map flood (default 1000 ms; jittered +-10%). */
  floodIntervalMs?: number
  /** How long a better path must stay significantly better before we switch (default 1000 ms). */
  switchHoldMs?: number
  /** Edges (and origin links) losing more than this are disqualified (default 5). */
  maxLossPct?: number
  /** A relay's flooded column unheard for this long is treated as down (default 3.5 x floodIntervalMs). */
  staleAfterMs?: number
  /** An origin link with no good sample for this long is down (default 3000 ms). */
  originStaleMs?: number
  /**
   * Signs this relay's map columns and verifies other relays' columns
   * (docs/security.md, "Control-plane messages"). The daemon always passes
   * the Ed25519 one (crypto/column-signing.ts). Without it columns are
   * neither signed nor checked: only for the simulator and tests, whose
   * routers all trust each other (verifying ~70 k columns per simulated
   * second of a 246-relay network would dominate its run time).
   */
  columnAuth?: ColumnAuth
}

/**
 * Signing and verification of map columns, injected so the router stays
 * pure and the simulator can run without the cost of Ed25519.
 */
export interface ColumnAuth {
  /** This relay's signature of `bytes` (a column's canonical encoding). */
  sign(bytes: Uint8Array): Uint8Array
  /** True when `sig` is `origin`'s valid signature of `bytes`; false for an unknown origin. */
  verify(origin: string, bytes: Uint8Array, sig: Uint8Array): boolean
}

/**
 * Where a router's run stands: its boot ids and next sequence numbers
 * (Router.resumePoint, Router.continueFrom).
 */
export interface RouterResume {
  probeBootId: number
  /** The highest next probe sequence number (for peers missing from nextProbeSeqs). */
  nextProbeSeq: number
  /** Each peer's next probe sequence number: peers probed fast (probe/probe-rate.ts) are further on. */
  nextProbeSeqs?: Record<string, number>
  columnBootId: number
  nextColumnSeq: number
}

/** Counters for `overpass status`: drops by reason and events. */
export type RouterCounters = Record<string, number>


/** A directed edge as the map shows it. */
export interface EdgeView {
  from: string
  to: string
  /** Estimated true one-way delay (pseudo delay corrected by estimated offsets). */
  delayMs: number
  /** Pseudo one-way delay as measured (includes clock offset); exact in path sums. */
  pseudoMs: number
  jitterMs: number
  lossPct: number
  up: boolean
  ageMs: number
}

export interface PathChoice {
  service: string
  /** Relay ids from the first relay to the last, e.g. ['lax','sea','dal']. */
  path: string[]
  /** Expected one-way delay of this path in ms (estimated for display). */
  delayMs: number
  /** The direct (first relay -> last relay) edge's delay, for comparison. */
  directDelayMs?: number
  /** Second, edge-disjoint path when the service is redundant. */
  backup?: string[]
  /** nowMs when this choice was made. */
  sinceMs: number
}

export interface Router {
  tick(nowMs: number): RouterMessage[]
  /**
   * The latest time (this relay's clock) the next tick may run without
   * delaying anything tick() would do; ticking earlier is harmless, later is
   * not. It may move earlier after any input (onProbe, onControl,
   * onOriginSample): ask again after each. A caller may then sleep until it
   * instead of ticking on a fixed period (control/router-bridge.ts).
   */
  nextTickMs?(): number
  /**
   * The returned array may be shared: read it, never modify it. `bytes` is
   * only valid during the call: the caller may reuse the buffer (the
   * simulator hands every probe in through one).
   */
  onProbe(nowMs: number, from: string, bytes: Uint8Array): RouterMessage[]
  /** The returned array may be shared: read it, never modify it. */
  onControl(nowMs: number, from: string, msg: unknown): RouterMessage[]
  /**
   * True when the sample took an origin leg down or brought it up: its
   * flood is due at once, and the caller may tick now rather than at its
   * next tick (part of the origin failover budget, docs/routing.md).
   */
  onOriginSample(nowMs: number, sample: OriginSample): boolean | void
  /** Best (exit, path) from this relay (an ingress) for the service; undefined when no exit is reachable. */
  forwardPath(service: string): PathChoice | undefined
  /**
   * Best path from this relay (an ingress) to one `exit` of the service, for
   * flows that keep their exit (dataplane/flow-exits.ts); undefined when that
   * exit is unreachable or its origin leg is unusable. Held only for
   * services with several exits.
   */
  forwardPathVia?(service: string, exit: string): PathChoice | undefined
  /** Best path from this relay (an exit) back to `ingress`. */
  replyPath(service: string, ingress: string): PathChoice | undefined
  /**
   * Current best relay path from this relay to relay `dest` on this relay's
   * map (no service, no origin leg, with hysteresis like a service route).
   * The simulator scores every ordered relay pair with it.
   */
  pathTo(nowMs: number, dest: string): PathChoice | undefined
  /** The directed latency map as this relay knows it. */
  edges(): EdgeView[]
  /** Every path choice this relay currently holds, for `overpass routes`. */
  routes(): { forward: PathChoice[]; reply: PathChoice[] }
  /** Drop and event counters (malformed probes/control messages by reason, stale updates, switches...). */
  counters?(): RouterCounters
  /**
   * What the map predicts for a relay path (ids, first to last): summed
   * pseudo one-way delays (exact against a data packet's receive - send
   * stamps, docs/one-way-latency.md), the estimated true delay, summed loss
   * and jitter. Undefined when an edge is not in the map.
   */
  predictPath?(path: readonly string[]): PathPrediction | undefined
  /**
   * Demotes every edge of `path` for this relay's own route choices until
   * untilMs (route/demotions.ts); routes through them move at the next
   * computation. False when the path names an unknown relay.
   */
  demotePath?(nowMs: number, path: readonly string[], untilMs: number): boolean
  /** The edges demoted now, for `overpass routes`. */
  demotedEdges?(): { from: string; to: string; untilMs: number }[]
  /**
   * Whether the map is being kept from stale columns (degraded mode: their
   * relays are still heard but their updates are not; route/column-hold.ts).
   */
  controlPlane?(): ControlPlaneHealth
  /**
   * Whether `peer`'s fresh column shows our edge to it up; undefined when its
   * column is not fresh (no news). The data plane fails over between a peer's
   * endpoints on it (dataplane/peer-endpoints.ts).
   */
  outboundUp?(peer: string): boolean | undefined
  /**
   * We are sending data to `peer` (the caller samples its traffic
   * counters): probe it at the fast interval for a while, so that loss and
   * silence on the edge are noticed sooner (probe/probe-rate.ts).
   */
  markActivePeer?(peer: string, nowMs: number): void
  /** Where this router's run stands, for a successor's `continueFrom`. */
  resumePoint?(): RouterResume
  /**
   * Takes over another router's run (a live config change builds a new
   * router, node/live-apply.ts): its boot ids, and sequence numbers going on
   * from its. Peers then take our probes and columns as that run's next
   * ones, instead of resetting their edges from us (a new boot) or dropping
   * them as old (a seq gone back). Our next flood is a whole column.
   */
  continueFrom?(point: RouterResume): void
}

export interface PathPrediction {
  /** Every edge usable now (up, fresh, within the loss limit): false when the probes already see the path broken. */
  up: boolean
  pseudoMs: number
  /** Estimated true one-way delay (reweighted by the potentials). */
  delayMs: number
  lossPct: number
  jitterMs: number
}

/** `path_checks` in `overpass routes --json`: paths demoted because their data fared worse than the map predicted (control/path-reports.ts). */
export interface PathChecksView {
  demotions: number
  by_reason: { loss: number; delay: number }
  reports_sent: number
  reports_received: number
  demoted_edges: { from: string; to: string; remaining_ms: number }[]
  /** The latest verdicts: measured loss (%) or delay over the map (ms), the limit it crossed, the hold. */
  recent: { atMs: number; path: string[]; reason: 'loss' | 'delay'; measured: number; limit: number; holdMs: number; ago_ms: number }[]
}
