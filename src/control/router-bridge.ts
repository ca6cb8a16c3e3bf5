/**
 * Connects a relay's data plane to its control plane (the sans-IO Router).
 *
 * - Ticks the router on injected timers and sends what it asks for: probes
 *   as kind-3 plaintexts, control messages as msgpack in kind-2 plaintexts,
 *   all sealed like data on the overlay.
 * - Hands inbound probes and control messages to the router, decoding
 *   control messages strictly (control-codec.ts). Every handler is
 *   contained: an exception drops and counts the input
 *   (`control_handler_error`), it never reaches the socket's receive loop.
 * - Publishes the paths the data plane reads: an immutable snapshot rebuilt
 *   after each tick and set into the relay's SnapshotPaths (the same object
 *   the relay was built with), so a packet costs one map lookup and never
 *   runs Dijkstra. Services with pinned `paths` keep their static paths.
 *   Services with several exits also get a path to each usable exit, for
 *   flows that keep their exit (dataplane/flow-exits.ts).
 */
import { resolveServiceRoles, type ServiceRoles } from '../config/data-plane.js'
import type { RelayConfig } from '../config/types.js'
import type { ControlPlaneSink, OverlayPeer, Relay } from '../dataplane/relay.js'
import { pathRef, type PathRef, type PathSnapshot, type SnapshotPaths } from '../dataplane/paths.js'
import type { Clock, Logger, TimerHandle, Timers } from '../io/index.js'
import type { PathChoice, Router, RouterMessage } from '../route/types.js'
import { controlLimits, decodeControl, encodeControl, MAX_CONTROL_BYTES, type ControlLimits } from './control-codec.js'
import { nameId } from '../wire/ids.js'
import { frameControl, frameProbe } from './framing.js'
import { PathReports, type PathChecksView, type PathReportTransport } from './path-reports.js'

/** At most this many handler errors are logged (they are all counted). */
const MAX_LOGGED_HANDLER_ERRORS = 10

/** The key of `RouterBridge.changeCounts` (and of the route-change metrics): `service/direction`. */
export const routeChangeKey = (service: string, direction: 'forward' | 'reply'): string => `${service}/${direction}`

export interface RouteChange {
  service: string
  direction: 'forward' | 'reply'
  to?: string
  path: string[]
  previous?: string[]
}

/** What the bridge uses of the data plane: send sealed plaintexts to peers, count malformed control messages. */
export type ControlTransport = Pick<Relay, 'attachControlPlane' | 'peerById' | 'sendPlain' | 'drops'> & Partial<Pick<Relay, 'pathMeter' | 'checkEndpoints'>>

/** How often peers with several endpoints are checked for failover (dataplane/peer-endpoints.ts). */
export const ENDPOINT_CHECK_MS = 500

export class RouterBridge implements ControlPlaneSink {
  private readonly roles: ServiceRoles[]
  /** Called with the new snapshot whenever a path changed (a multi-worker relay copies it to the other workers). */
  onPathsChanged: ((snap: PathSnapshot) => void) | undefined
  private changed = false
  private readonly nameByNode: Map<number, string>
  private readonly out = Buffer.allocUnsafe(65_536)
  private timer: TimerHandle | undefined
  private lastEndpointCheckMs = -Infinity
  private readonly outboundUp = (peer: string): boolean | undefined => this.router.outboundUp?.(peer)
  /** Paths over time, newest last (bounded), for `overpass routes` and reports. */
  readonly history: (RouteChange & { atMs: number })[] = []
  controlMalformed = 0
  handlerErrors = 0
  private readonly limits: ControlLimits
  /** Route changes since start by `service/direction` (routeChangeKey); history is bounded, this is not. */
  readonly changeCounts = new Map<string, number>()
  /** Path reports and the check of the map against the traffic (path-reports.ts); absent without a path meter. */
  readonly pathReports: PathReports | undefined

  constructor(
    private readonly relay: ControlTransport,
    readonly router: Router,
    private readonly config: RelayConfig,
    /** The relay's path table: this bridge is its only writer on this thread. */
    private readonly paths: SnapshotPaths,
    private readonly clock: Clock,
    private readonly timers: Timers,
    private readonly log: Logger,
    private readonly tickMs = 20,
  ) {
    this.roles = resolveServiceRoles(config.relay.id, config.l3 !== undefined, config.services)
    this.nameByNode = new Map([config.relay.id, ...config.peers.map((p) => p.id)].map((id) => [nameId(id), id]))
    this.limits = controlLimits(config.peers.length + 1, config.services.length)
    const meter = relay.pathMeter
    if (meter !== undefined) {
      this.pathReports = new PathReports({ ...pick(relay), pathMeter: meter }, router, config, (nodes) => [...nodes].map((n) => this.nameByNode.get(n) ?? n.toString(16)))
    }
  }

  start(): void {
    this.relay.attachControlPlane(this)
    const loop = (): void => {
      // Rescheduled first: a tick that throws must not stop the control plane.
      this.timer = this.timers.setTimeout(loop, this.tickMs)
      const now = this.clock.nowMs()
      try {
        this.send(this.router.tick(now))
        this.pathReports?.tick(now)
        this.refresh(now)
        if (now - this.lastEndpointCheckMs >= ENDPOINT_CHECK_MS) {
          this.lastEndpointCheckMs = now
          this.relay.checkEndpoints?.(now, this.outboundUp)
        }
      } catch (err) {
        this.handlerError('tick', err)
      }
    }
    loop()
  }

  stop(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer)
    this.timer = undefined
  }

  // --- ControlPlaneSink --------------------------------------------------

  onProbe(peer: OverlayPeer, body: Buffer, nowMs: number): void {
    try {
      this.send(this.router.onProbe(nowMs, peer.id, body))
    } catch (err) {
      this.handlerError('probe', err)
    }
  }

  onControl(peer: OverlayPeer, body: Buffer, nowMs: number): void {
    const d = decodeControl(body, this.limits)
    if (!d.ok) {
      this.controlMalformed++
      this.relay.drops.add('control_malformed')
      this.relay.drops.add(`control_malformed_${d.reason}`)
      return
    }
    try {
      this.send(this.router.onControl(nowMs, peer.id, d.value))
    } catch (err) {
      this.handlerError('control', err)
    }
  }

  onPathReport(peer: OverlayPeer, body: Buffer, nowMs: number): void {
    if (this.pathReports === undefined) {
      this.relay.drops.add('bad_inner_kind')
      return
    }
    try {
      this.pathReports.onReport(peer, body, nowMs)
    } catch (err) {
      this.handlerError('path_report', err)
    }
  }

  /** An exception from the router or the send path: the input is dropped and counted, the relay carries on. */
  private handlerError(where: string, err: unknown): void {
    this.relay.drops.add(`control_handler_error`)
    if (++this.handlerErrors <= MAX_LOGGED_HANDLER_ERRORS) {
      this.log.error('control-plane handler failed; input dropped', { where, error: err instanceof Error ? err.message : String(err) })
    }
  }

  /** Path-report demotions for `overpass routes`; undefined without a path meter. */
  pathChecks(): PathChecksView | undefined {
    return this.pathReports?.view(this.clock.nowMs())
  }

  /** The routed (unpinned) paths now in use. */
  snapshot(): PathSnapshot {
    return this.paths.current
  }

  // --- internals -----------------------------------------------------------

  private send(messages: RouterMessage[]): void {
    for (const m of messages) {
      const peer = this.relay.peerById(m.to)
      if (peer === undefined) continue
      let len: number
      if (m.kind === 'probe') len = frameProbe(this.out, m.bytes)
      else {
        const body = encodeControl(m.msg)
        if (body.length + 1 > MAX_CONTROL_BYTES) {
          this.log.warn('control message too large; not sent', { to: m.to, bytes: body.length })
          continue
        }
        len = frameControl(this.out, body)
      }
      this.relay.sendPlain(peer, this.out, len)
    }
  }

  /** Rebuilds the path snapshot the data plane reads; logs every change. */
  private refresh(nowMs: number): void {
    const self = this.config.relay.id
    const forward = new Map<string, PathRef>()
    const reply = new Map<string, Map<number, PathRef>>()
    const forwardByExit = new Map<string, Map<number, PathRef>>()
    const prev = this.paths.current
    for (const { cfg: s, isIngress, isExit, pinned } of this.roles) {
      if (pinned) continue
      if (isIngress) {
        const ref = this.refFor(prev.forward.get(s.name), this.router.forwardPath(s.name), s.name, 'forward', undefined, nowMs)
        if (ref) forward.set(s.name, ref)
        if (s.exits.length > 1) forwardByExit.set(s.name, this.exitRefs(prev.forwardByExit?.get(s.name), s.name, s.exits))
      }
      // L3 has no reply paths: the exit's answer is a new packet read from its TUN, routed forward.
      if (isExit && s.mode === 'l4') {
        const byIngress = new Map<number, PathRef>()
        for (const ing of new Set(s.ingress.map((i) => i.relay))) {
          const node = nameId(ing)
          const old = prev.reply.get(s.name)?.get(node)
          const ref = this.refFor(old, ing === self ? LOCAL : this.router.replyPath(s.name, ing), s.name, 'reply', ing, nowMs)
          if (ref) byIngress.set(node, ref)
        }
        reply.set(s.name, byIngress)
      }
    }
    this.paths.set({ forward, reply, forwardByExit })
    if (this.changed) {
      this.changed = false
      this.onPathsChanged?.(this.paths.current)
    }
  }

  /** Keeps the old PathRef object when the path is unchanged, so unchanged snapshots are free. */
  private refFor(old: PathRef | undefined, choice: PathChoice | undefined, service: string, direction: 'forward' | 'reply', to: string | undefined, nowMs: number): PathRef | undefined {
    if (choice === LOCAL) choice = { ...LOCAL, path: [this.config.relay.id, this.config.relay.id] }
    else if (choice?.path.length === 1) choice = { ...choice, path: [choice.path[0], choice.path[0]] } // ingress is the exit
    if (choice === undefined || choice.path.length < 2) {
      if (old !== undefined) this.record({ service, direction, to, path: [], previous: this.names(old) }, nowMs)
      return undefined
    }
    const backup = choice.backup && choice.backup.length >= 2 ? choice.backup : undefined
    if (old !== undefined && sameNodes(old, choice.path) && sameNodes(old.backup, backup)) return old
    const ref = pathRef(choice.path)
    if (backup) ref.backup = pathRef(backup)
    this.record({ service, direction, to, path: choice.path, previous: old ? this.names(old) : undefined }, nowMs)
    return ref
  }

  /**
   * Paths to each usable exit of a service. Not logged or counted as route
   * changes: only flows whose exit is not the best one ride them.
   */
  private exitRefs(old: Map<number, PathRef> | undefined, service: string, exits: string[]): Map<number, PathRef> {
    const out = new Map<number, PathRef>()
    for (const exit of exits) {
      const node = nameId(exit)
      let choice = this.router.forwardPathVia?.(service, exit)
      if (choice?.path.length === 1) choice = { ...choice, path: [choice.path[0], choice.path[0]] } // ingress is the exit
      const prev = old?.get(node)
      if (choice === undefined || choice.path.length < 2) {
        if (prev !== undefined) this.changed = true
        continue
      }
      const backup = choice.backup && choice.backup.length >= 2 ? choice.backup : undefined
      if (prev !== undefined && sameNodes(prev, choice.path) && sameNodes(prev.backup, backup)) {
        out.set(node, prev)
        continue
      }
      const ref = pathRef(choice.path)
      if (backup) ref.backup = pathRef(backup)
      out.set(node, ref)
      this.changed = true
    }
    return out
  }

  private record(change: RouteChange, nowMs: number): void {
    this.changed = true
    this.history.push({ ...change, atMs: nowMs })
    const key = routeChangeKey(change.service, change.direction)
    this.changeCounts.set(key, (this.changeCounts.get(key) ?? 0) + 1)
    if (this.history.length > 1000) this.history.splice(0, this.history.length - 1000)
    this.log.info('route changed', { ...change })
  }

  private names(ref: PathRef): string[] {
    return [...ref.nodes].map((n) => this.nameByNode.get(n) ?? n.toString(16))
  }
}

/** The transport calls path reports need, bound to the relay (its methods use `this`). */
function pick(relay: ControlTransport): Omit<PathReportTransport, 'pathMeter'> {
  return {
    peerById: (id) => relay.peerById(id),
    sendPlain: (peer, plain, length) => relay.sendPlain(peer, plain, length),
    drops: relay.drops,
  }
}

/** Marker for "ingress and exit are this relay": the data plane delivers locally. */
const LOCAL: PathChoice = { service: '', path: [], delayMs: 0, sinceMs: 0 }

function sameNodes(ref: PathRef | undefined, names: string[] | undefined): boolean {
  if (ref === undefined || names === undefined) return ref === undefined && names === undefined
  if (ref.nodes.length !== names.length) return false
  for (let i = 0; i < names.length; i++) if (ref.nodes[i] !== nameId(names[i])) return false
  return true
}
