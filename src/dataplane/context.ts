/**
 * What the ingress and exit halves of a relay share with the relay core:
 * resolved settings, counters and a way to hand a finished plaintext packet to
 * the next relay. Kept as an interface so each half can be tested alone.
 */
import type { ServiceConfig } from '../config/types.js'
import type { Clock, Logger, UdpSocketFactory } from '../io/index.js'
import { DropCounts, Traffic } from './counters.js'
import type { PathMeter } from './path-meter.js'
import type { PathProvider } from './paths.js'

export class ServiceState {
  readonly drops = new DropCounts()
  /** Client side: datagrams in from clients, out to clients. */
  readonly client = new Traffic()
  /** Origin side: datagrams out to the origin, in from the origin. */
  readonly origin = new Traffic()
  ingressFlows = 0
  exitFlows = 0
  /** Flows moved to another exit because theirs failed (flow-exits.ts). */
  flowExitMoves = 0
  /** `fallback: direct` (direct-fallback.ts): flows now sent straight to the origin, and that traffic (out: to the origin). */
  directFlows = 0
  readonly direct = new Traffic()
  /**
   * Removed by a live change and draining (relay.ts setServices): flows it
   * has keep going, new ones are refused (`service_draining`) until the
   * service goes for good.
   */
  draining = false

  /** `cfg` is replaced by a live change of the settings that may change in place (node/network-change.ts). */
  constructor(public cfg: ServiceConfig, readonly id: number, readonly isIngress: boolean, readonly isExit: boolean) {}
}

/** A service's `maxFlows` is for the relay: each of its workers takes its share. */
export function flowLimitPerWorker(maxFlows: number, workers: number): number {
  return Math.ceil(maxFlows / workers)
}

export interface RelayContext {
  readonly selfNode: number
  /** This relay's id (config `relay.id`). */
  readonly selfId: string
  /** Underlay path MTU, bytes. */
  readonly mtu: number
  /** Initial hop limit an ingress writes (resolved once from `tuning.hop_limit`). */
  readonly hopLimit: number
  readonly clock: Clock
  readonly udp: UdpSocketFactory
  /** Opens the ingress service sockets (the daemon passes the batched native socket). */
  readonly serviceUdp: UdpSocketFactory
  readonly log: Logger
  readonly paths: PathProvider
  /** Drops not attributable to one service. */
  readonly drops: DropCounts
  readonly ipv6Underlay: boolean
  /** This worker's lane: flows that enter here travel on it (wire/outer.ts, lanes). 0 on a single-worker relay. */
  readonly lane: number
  /** Workers of this relay; flow ids and flow limits are split among them. */
  readonly laneCount: number
  /** Lane of the overlay packet being handled (an exit's new flow keeps it for its replies). */
  readonly rxLane: number
  /** Per-path counters and send stamps for path reports (path-meter.ts); absent in some unit tests. */
  readonly pathMeter?: PathMeter
  /**
   * Sends plaintext buf[0, length) (a data packet whose path index already
   * names the next relay) to that relay on `lane`. Handles a next relay of
   * self by processing the packet locally. Returns false and counts the drop
   * if it cannot be sent.
   */
  sendOnPath(buf: Buffer, length: number, nextNode: number, service: ServiceState, lane: number): boolean
}
