/**
 * Connects a relay's data plane to its control plane (the sans-IO Router).
 *
 * - Ticks the router on injected timers, when it or the bridge's own
 *   schedules have work due (on the grid of a 20 ms tick; see start), and
 *   sends what it asks for: probes as kind-3 plaintexts, control messages
 *   as msgpack in kind-2 plaintexts, all sealed like data on the overlay.
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
 * - Hands over to a new router after a live config change (`handOver`,
 *   node/live-apply.ts): the new one runs in the shadow, fed the same
 *   probes, control messages and origin samples but sending nothing except
 *   resync requests (it must learn the peers' columns), while the old one
 *   keeps routing. It takes over once it has a route wherever the old one
 *   had one (or after HANDOVER_MAX_MS), carrying on the old one's boot ids
 *   and sequence numbers (Router.continueFrom), so peers see one run and
 *   flows see no gap.
 */
import { resolveServiceRoles, type ServiceRoles } from '../config/data-plane.js'
import type { RelayConfig } from '../config/types.js'
import type { ControlPlaneSink, OverlayPeer, Relay } from '../dataplane/relay.js'
import { pathRef, type PathRef, type PathSnapshot, type SnapshotPaths } from '../dataplane/paths.js'
import type { Clock, Logger, TimerHandle, Timers } from '../io/index.js'
import type { OriginSample, PathChoice, Router, RouterMessage } from '../route/types.js'
import { RESYNC_MSG_TYPE } from '../route/control-message.js'
import { controlLimits, decodeControl, encodeControl, MAX_CONTROL_BYTES, type ControlLimits } from './control-codec.js'
import { nameId } from '../wire/ids.js'
import { frameControl, frameProbe } from './framing.js'
import { PathReports, type PathChecksView, type PathReportTransport } from './path-reports.js'
import { DataActivity, type ActivityPeer } from './data-activity.js'

/** A hand-over never takes longer than this: a route the new router still lacks then is one the new config does not give. */
export const HANDOVER_MAX_MS = 5_000
/** Probe rounds the new router hears before it may take over: its inbound edges need UP_AFTER_PROBES (3) to come up. */
const HANDOVER_MIN_PROBE_ROUNDS = 5

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
export type ControlTransport = Pick<Relay, 'attachControlPlane' | 'peerById' | 'sendPlain' | 'drops'> & Partial<Pick<Relay, 'pathMeter' | 'checkEndpoints' | 'tickIfDue'>>

/** How often peers with several endpoints are checked for failover (dataplane/peer-endpoints.ts). */
export const ENDPOINT_CHECK_MS = 500

/** The finest tick: never more often than this, as when every tick ran on this period. */
export const DEFAULT_TICK_MS = 20
/**
 * The longest the bridge sleeps when nothing reports a deadline sooner: a
 * safety net, not a schedule (every deadline the router keeps is reported
 * through Router.nextTickMs).
 */
export const MAX_TICK_GAP_MS = 1_000

/** A router waiting to take over (RouterBridge.handOver). */
interface Shadow {
  router: Router
  config: RelayConfig
  roles: ServiceRoles[]
  startedMs: number
  minMs: number
  /** Called once the shadow took over (the caller then drops what the new config removed). */
  onTakeOver: () => void
}

export class RouterBridge implements ControlPlaneSink {
  private roles: ServiceRoles[]
  private shadow: Shadow | undefined
  /**
   * Until then a route the new router still lacks keeps its old path, when
   * every relay on it is still configured (a take-over forced by
   * HANDOVER_MAX_MS on a slow machine must not cut flows the old router served).
   */
  private holdOldPathsUntilMs = -Infinity
  /** Called with the new snapshot whenever a path changed (a multi-worker relay copies it to the other workers). */
  onPathsChanged: ((snap: PathSnapshot) => void) | undefined
  private changed = false
  private nameByNode: Map<number, string>
  private readonly out = Buffer.allocUnsafe(65_536)
  private timer: TimerHandle | undefined
  /** When the armed timer fires, and when the last tick ran (this relay's clock). */
  private armedForMs = Infinity
  private lastTickMs = -Infinity
  private running = false
  private lastEndpointCheckMs = -Infinity
  /** Peers we send data to, probed at the fast interval (data-activity.ts). */
  private readonly activity = new DataActivity()
  private readonly outboundUp = (peer: string): boolean | undefined => this.router.outboundUp?.(peer)
  /** Paths over time, newest last (bounded), for `overpass routes` and reports. */
  readonly history: (RouteChange & { atMs: number })[] = []
  controlMalformed = 0
  handlerErrors = 0
  private limits: ControlLimits
  /** Route changes since start by `service/direction` (routeChangeKey); history is bounded, this is not. */
  readonly changeCounts = new Map<string, number>()
  /** Path reports and the check of the map against the traffic (path-reports.ts); absent without a path meter. */
  readonly pathReports: PathReports | undefined

  constructor(
    private readonly relay: ControlTransport,
    private current: Router,
    private config: RelayConfig,
    /** The relay's path table: this bridge is its only writer on this thread. */
    private readonly paths: SnapshotPaths,
    private readonly clock: Clock,
    private readonly timers: Timers,
    private readonly log: Logger,
    private readonly tickMs = DEFAULT_TICK_MS,
  ) {
    this.roles = rolesOf(config)
    this.nameByNode = namesOf(config)
    this.limits = controlLimits(config.peers.length + 1, config.services.length)
    const meter = relay.pathMeter
    if (meter !== undefined) {
      this.pathReports = new PathReports({ ...pick(relay), pathMeter: meter }, () => this.current, config, (nodes) => [...nodes].map((n) => this.nameByNode.get(n) ?? n.toString(16)), this.log)
    }
  }

  /** The router that routes now. */
  get router(): Router {
    return this.current
  }

  /** The config the current router was built from. */
  get routedConfig(): RelayConfig {
    return this.config
  }

  /** True while a new router waits in the shadow. */
  get handingOver(): boolean {
    return this.shadow !== undefined
  }

  /**
   * Starts handing over to `next` (built from `config`); a hand-over still
   * under way is dropped for this one (its config is older). `onTakeOver`
   * runs once `next` routes.
   */
  handOver(next: Router, config: RelayConfig, onTakeOver: () => void): void {
    const probeMs = Math.max(config.routing.probeIntervalMs, this.config.routing.probeIntervalMs)
    this.shadow = { router: next, config, roles: rolesOf(config), startedMs: this.clock.nowMs(), minMs: HANDOVER_MIN_PROBE_ROUNDS * probeMs, onTakeOver }
    this.rearm()
    // Either router's messages must decode while both listen.
    this.limits = controlLimits(Math.max(config.peers.length, this.config.peers.length) + 1, Math.max(config.services.length, this.config.services.length))
  }

  /** An origin sample from this exit's probes (control/origin-probes.ts): both routers take it during a hand-over. */
  onOriginSample(nowMs: number, sample: OriginSample): void {
    const changed = this.current.onOriginSample(nowMs, sample) === true
    this.shadow?.router.onOriginSample(nowMs, sample)
    // A leg that went down floods now, not at the next tick (up to tickMs
    // later): flows wait for it (origin failover budget, docs/routing.md).
    if (!changed) {
      this.rearm()
      return
    }
    this.log.info('origin leg changed', { service: sample.service, up: sample.missed !== true && sample.lost !== true })
    this.tickNow(nowMs)
  }

  /** One tick out of turn: the router's (its floods), then the paths this relay holds. */
  private tickNow(nowMs: number): void {
    try {
      this.send(this.current.tick(nowMs))
      this.refresh(nowMs)
    } catch (err) {
      this.handlerError('tick', err)
    }
    this.rearm()
  }

  /**
   * Ticks the router, and after each tick arms ONE timer for the next
   * moment anything has work (Router.nextTickMs, the data-activity sample,
   * the path reports, the endpoint check, the end of a path hold; dueMs),
   * on the grid of a tick every tickMs and at least every MAX_TICK_GAP_MS. A transit with its routes settled then
   * wakes for its probe rounds and floods, not 50 times a second: every
   * wake-up is time a datagram arriving during it waits (docs/performance.md,
   * "The relay hop"). Inputs that bring a deadline forward re-arm the timer
   * (rearm).
   */
  start(): void {
    this.relay.attachControlPlane(this)
    this.running = true
    this.loop()
  }

  stop(): void {
    this.running = false
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer)
    this.timer = undefined
    this.armedForMs = Infinity
  }

  private readonly loop = (): void => {
    this.timer = undefined
    this.armedForMs = Infinity
    const now = this.clock.nowMs()
    this.lastTickMs = now
    try {
      this.send(this.current.tick(now))
      if (this.activity.due(now)) {
        this.activity.sample(now, this.activityPeers(), (peer) => {
          this.current.markActivePeer?.(peer, now)
          this.shadow?.router.markActivePeer?.(peer, now)
        })
      }
      if (this.shadow !== undefined) this.tickShadow(now, this.shadow)
      this.pathReports?.tick(now)
      this.refresh(now)
      if (now - this.lastEndpointCheckMs >= ENDPOINT_CHECK_MS) {
        this.lastEndpointCheckMs = now
        this.relay.checkEndpoints?.(now, this.outboundUp)
      }
      // Awake anyway: the relay's housekeeping runs here when it is nearly due, not on a wake-up of its own.
      this.relay.tickIfDue?.(now)
    } catch (err) {
      this.handlerError('tick', err)
    }
    this.rearm()
  }

  /**
   * When the next tick is due: the earliest deadline of everything a tick
   * does on a schedule, each read from the part that keeps it (no copy of
   * anyone's constants here). A part added to loop() must add its deadline
   * here, as a schedule added to the router must to Router.nextTickMs:
   * test/control/tick-deadlines.test.ts requires the same bytes sent at the
   * same instants as with a tick every tickMs.
   */
  private dueMs(): number {
    // A Router without deadlines, or a hand-over (the shadow is judged every tick): every tickMs.
    let due = this.shadow === undefined ? (this.current.nextTickMs?.() ?? -Infinity) : -Infinity
    // Which peers carry data, so their edges are probed fast (data-activity.ts).
    due = Math.min(due, this.activity.nextDueMs)
    if (this.pathReports !== undefined) due = Math.min(due, this.pathReports.nextDueMs)
    if (this.relay.checkEndpoints !== undefined) due = Math.min(due, this.lastEndpointCheckMs + ENDPOINT_CHECK_MS)
    // refresh() drops the old paths it held once the hold is over.
    if (this.holdOldPathsUntilMs >= this.lastTickMs) due = Math.min(due, this.holdOldPathsUntilMs)
    return due
  }

  /** Arms the timer for the next due tick, unless it is already armed for that or sooner. */
  private rearm(): void {
    if (!this.running) return
    // Armed for the next slot of the grid already: nothing can come sooner (the
    // common case on a busy relay, where this runs for every probe received).
    if (this.timer !== undefined && this.armedForMs <= this.lastTickMs + this.tickMs) return
    const now = this.clock.nowMs()
    let steps = 1
    try {
      // Ticks stay on the tickMs grid of a fixed-period tick, skipping the
      // empty slots: work is done exactly when the fixed tick would have done it.
      const target = Math.max(this.dueMs(), now)
      steps = Math.min(Math.max(1, Math.ceil((target - this.lastTickMs) / this.tickMs)), Math.floor(MAX_TICK_GAP_MS / this.tickMs))
    } catch (err) {
      this.handlerError('schedule', err)
    }
    const at = this.lastTickMs + steps * this.tickMs
    if (this.timer !== undefined) {
      if (at >= this.armedForMs) return
      this.timers.clearTimeout(this.timer)
    }
    this.armedForMs = at
    this.timer = this.timers.setTimeout(this.loop, Math.max(0, at - now))
  }

  // --- ControlPlaneSink --------------------------------------------------

  onProbe(peer: OverlayPeer, body: Buffer, nowMs: number): void {
    try {
      this.send(this.current.onProbe(nowMs, peer.id, body))
      this.shadow?.router.onProbe(nowMs, peer.id, body)
    } catch (err) {
      this.handlerError('probe', err)
    }
    this.rearm()
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
      this.send(this.current.onControl(nowMs, peer.id, d.value))
      if (this.shadow !== undefined) this.sendResyncs(this.shadow.router.onControl(nowMs, peer.id, d.value))
      // A column that broke a route is recomputed in onControl: the data plane takes the new
      // paths now rather than at the next tick (an exit's origin leg down, docs/routing.md).
      this.refresh(nowMs)
    } catch (err) {
      this.handlerError('control', err)
    }
    this.rearm()
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
    this.rearm()
  }

  private tickShadow(nowMs: number, shadow: Shadow): void {
    this.sendResyncs(shadow.router.tick(nowMs))
    const ageMs = nowMs - shadow.startedMs
    if (ageMs < shadow.minMs || (ageMs < HANDOVER_MAX_MS && !this.shadowReady(shadow))) return
    const ready = this.shadowReady(shadow)
    if (!ready) this.holdOldPathsUntilMs = nowMs + HANDOVER_MAX_MS
    const point = this.current.resumePoint?.()
    if (point !== undefined) shadow.router.continueFrom?.(point)
    this.shadow = undefined
    this.current = shadow.router
    this.config = shadow.config
    this.roles = shadow.roles
    this.nameByNode = namesOf(shadow.config)
    this.pathReports?.reconfigure(shadow.config)
    this.limits = controlLimits(shadow.config.peers.length + 1, shadow.config.services.length)
    this.log.info('new router took over', { after_ms: Math.round(ageMs), ready })
    shadow.onTakeOver()
  }

  /**
   * The shadow has a route wherever the current router has one that the new
   * config still needs, and, at an exit, the origin link up wherever the
   * current one has it up (the ingresses' routes to us depend on it).
   */
  private shadowReady(shadow: Shadow): boolean {
    const self = shadow.config.relay.id
    let originsUp: ((r: Router) => Set<string>) | undefined
    for (const { cfg: s, isIngress, isExit, pinned } of shadow.roles) {
      if (isExit) {
        originsUp ??= (r) => new Set(r.edges().filter((e) => e.from === self && e.up && e.to.startsWith('origin:')).map((e) => e.to))
        const now = originsUp(this.current)
        const next = originsUp(shadow.router)
        for (const o of now) if (o === `origin:${s.name}` && !next.has(o)) return false
      }
      if (pinned) continue
      if (isIngress && this.current.forwardPath(s.name) !== undefined && shadow.router.forwardPath(s.name) === undefined) return false
      if (!isExit || s.mode !== 'l4') continue
      for (const ing of new Set(s.ingress.map((i) => i.relay))) {
        if (ing !== self && this.current.replyPath(s.name, ing) !== undefined && shadow.router.replyPath(s.name, ing) === undefined) return false
      }
    }
    return true
  }

  /** What a shadow router may send: only its requests for whole columns (it must learn the map). */
  private sendResyncs(messages: RouterMessage[]): void {
    for (const m of messages) if (m.kind === 'control' && (m.msg as { type?: unknown }).type === RESYNC_MSG_TYPE) this.send([m])
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

  /**
   * The path to each usable exit of a multi-exit service, as the data plane
   * holds it: a sticky flow whose exit is not the best one rides these.
   */
  forwardByExit(): Record<string, ExitPathView[]> {
    const out: Record<string, ExitPathView[]> = {}
    for (const [service, byExit] of this.paths.current.forwardByExit ?? []) {
      out[service] = [...byExit.values()].map((ref) => {
        const path = this.names(ref)
        return { exit: path[path.length - 1], path, ...(ref.backup ? { backup: this.names(ref.backup) } : {}) }
      })
    }
    return out
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
      this.activity.controlSent(peer.id)
    }
  }

  private *activityPeers(): Iterable<ActivityPeer> {
    for (const p of this.config.peers) {
      const peer = this.relay.peerById(p.id)
      if (peer !== undefined) yield peer
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
        const ref = this.refFor(prev.forward.get(s.name), this.current.forwardPath(s.name), s.name, 'forward', undefined, nowMs)
        if (ref) forward.set(s.name, ref)
        if (s.exits.length > 1) forwardByExit.set(s.name, this.exitRefs(prev.forwardByExit?.get(s.name), s.name, s.exits))
      }
      // L3 has no reply paths: the exit's answer is a new packet read from its TUN, routed forward.
      if (isExit && s.mode === 'l4') {
        const byIngress = new Map<number, PathRef>()
        for (const ing of new Set(s.ingress.map((i) => i.relay))) {
          const node = nameId(ing)
          const old = prev.reply.get(s.name)?.get(node)
          const ref = this.refFor(old, ing === self ? LOCAL : this.current.replyPath(s.name, ing), s.name, 'reply', ing, nowMs)
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
    if (choice === undefined && old !== undefined && nowMs < this.holdOldPathsUntilMs && this.allConfigured(old)) return old
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
      let choice = this.current.forwardPathVia?.(service, exit)
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

  private allConfigured(ref: PathRef): boolean {
    for (const n of ref.nodes) if (!this.nameByNode.has(n)) return false
    return true
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

function rolesOf(config: RelayConfig): ServiceRoles[] {
  return resolveServiceRoles(config.relay.id, config.l3 !== undefined, config.services)
}

function namesOf(config: RelayConfig): Map<number, string> {
  return new Map([config.relay.id, ...config.peers.map((p) => p.id)].map((id) => [nameId(id), id]))
}

/** Marker for "ingress and exit are this relay": the data plane delivers locally. */
const LOCAL: PathChoice = { service: '', path: [], delayMs: 0, sinceMs: 0 }

function sameNodes(ref: PathRef | undefined, names: string[] | undefined): boolean {
  if (ref === undefined || names === undefined) return ref === undefined && names === undefined
  if (ref.nodes.length !== names.length) return false
  for (let i = 0; i < names.length; i++) if (ref.nodes[i] !== nameId(names[i])) return false
  return true
}

/** One exit's path in `overpass routes` (`by_exit`): relay names, ingress first, exit last. */
export interface ExitPathView {
  exit: string
  path: string[]
  backup?: string[]
}
