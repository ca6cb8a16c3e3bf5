import { OriginEdge } from '../probe/origin-edge.js'
import { RelayIndex } from '../probe/relay-index.js'
import { DEFAULT_LOSS_DOWN_AFTER, DEFAULT_PROBE_INTERVAL_MS, Prober } from '../probe/prober.js'
import { nameId } from '../wire/ids.js'
import { checkEdges, MAP_MSG_VERSION, parseMapUpdate, parseResync, relayCopy, RESYNC_MSG_TYPE } from './control-message.js'
import type { MapSchema, MapUpdate, ResyncRequest } from './control-message.js'
import { canonicalColumn } from './column-signature.js'
import { DEFAULT_SWITCH_HOLD_MS } from './hysteresis.js'
import { ApplyResult, EDGE_FIELDS, F_JITTER, F_LOSS, F_PRESENT, F_PSEUDO, F_THETA, LinkMap, Plan } from './link-map.js'
import { ColumnChange, OwnColumn } from './own-column.js'
import { POTENTIAL_REFRESH_MS, profilesInUse, RouteTable } from './route-table.js'
import { PROFILES } from './profiles.js'
import type { RouteEntry, ServiceInfo } from './route-table.js'
import { edgeDelay } from './weights.js'
import type { ColumnAuth, EdgeView, OriginSample, PathChoice, PathPrediction, Router, RouterCounters, RouterInit, RouterMessage, RouterResume } from './types.js'
import { validateInit } from './validate-init.js'
import { ColumnHold, type ControlPlaneHealth } from './column-hold.js'
import { seededRandom } from './seeded-random.js'

export const DEFAULT_FLOOD_INTERVAL_MS = 1000
/** Shared empty answer (a probe never makes us send anything): no allocation per probe. */
const NO_MESSAGES = Object.freeze([]) as unknown as RouterMessage[]
export const FLOOD_JITTER = 0.1
export const DEFAULT_MAX_LOSS_PCT = 5
export const DEFAULT_ORIGIN_STALE_MS = 3000
/** Routes are recomputed at most this often for minor map changes (breakage recomputes at once). */
export const RECOMPUTE_MIN_INTERVAL_MS = 100
/** Triggered floods are at least this far apart, except for an edge going down, which floods at once. */
export const MIN_TRIGGERED_FLOOD_GAP_MS = 250
/** Every this many floods, the whole column goes to every relay (deltas in between). */
export const FULL_REFRESH_FLOODS = 5
/** A relay asks one origin for a whole column at most this often. */
export const RESYNC_MIN_GAP_MS = 1000
/** How many relays forward an update around one failed direct edge. */
export const RELAYERS_PER_PAIR = 2
/**
 * Most deltas kept per origin after its whole column (for relaying). An
 * origin sends its whole column every FULL_REFRESH_FLOODS floods, so a real
 * chain holds at most that many; a peer streaming deltas without a whole
 * column would otherwise grow it without bound. Past the cap the chain is
 * dropped until the next whole column (relaying waits for it; nothing else
 * reads the chain).
 */
export const MAX_CHAIN_DELTAS = 4 * FULL_REFRESH_FLOODS
/** A relay fights back against a column claiming to be its own at most this often. */
export const FIGHT_BACK_MIN_GAP_MS = 1000
const U32 = 0x1_0000_0000

/**
 * One relay's control plane: probes, its own measurements, the flooded map,
 * and damped route choice. Pure: time only comes in as nowMs.
 */
export class RouterCore implements Router {
  private readonly self: number
  private readonly relays: string[]
  private readonly relayIndex: RelayIndex
  private readonly relayIds: number[]
  private readonly services: ServiceInfo[]
  private readonly serviceByName = new Map<string, ServiceInfo>()
  private readonly schema: MapSchema
  private readonly prober: Prober
  private readonly origins = new Map<number, OriginEdge>()
  private readonly map: LinkMap
  private readonly own: OwnColumn
  private readonly table: RouteTable
  private readonly fresh: Uint8Array
  /** Stale columns kept because their relays are still heard (degraded mode, column-hold.ts). */
  private readonly hold: ColumnHold
  /**
   * Per origin: its newest whole-column update and the deltas accepted since
   * (consecutive seqs), enough to bring another relay in sync.
   */
  private readonly sinceFull: MapUpdate[][]
  /** Relays that asked for a whole column with our next flood. */
  private readonly pendingFull: Uint8Array
  /** Per origin: when we last asked it for a whole column. */
  private readonly lastResyncMs: Float64Array
  /** Scratch for checkEdges. */
  private readonly seen: Uint32Array
  private readonly fromIdx: Int32Array
  private seenStamp = 0
  /** Floods since the last whole-column refresh; -1 before the first flood. */
  private floodsSinceFull = -1
  /** to * n + origin -> the newest update of `origin`'s chain this relay relayed to `to` (only pairs we relay for). */
  private readonly relayedTo = new Map<number, MapUpdate>()
  private readonly random: () => number
  private readonly floodIntervalMs: number
  private readonly staleAfterMs: number
  private readonly originStaleMs: number
  private readonly maxLossPct: number
  private readonly counts: RouterCounters = {}
  private readonly auth: ColumnAuth | undefined
  private lastFightBackMs = -Infinity
  /** Our own column restarted (fight-back): our own map takes the next whole column. */
  private ownRestarted = false
  private nextFloodMs = NaN
  private lastFloodMs = -Infinity
  private lastComputeMs = -Infinity
  /** No fresh column can go stale before this time (see refreshFreshness). */
  private nextStaleMs = Infinity
  private dirty = false
  /** An edge, origin link or column became unusable since the last computation (see maybeCompute). */
  private suspect = false
  private lastNowMs = 0
  private choices = new Map<RouteEntry, PathChoice>()

  constructor(init: RouterInit) {
    validateInit(init)
    this.relays = [...init.relays]
    this.relayIndex = new RelayIndex(this.relays)
    this.self = this.relayIndex.get(init.self)!
    this.relayIds = this.relays.map(nameId)
    this.random = init.random ?? seededRandom(nameId(init.self))
    this.auth = init.columnAuth
    const bootId = init.bootId ?? Math.floor(this.random() * 0x1_0000_0000)
    this.floodIntervalMs = init.floodIntervalMs ?? DEFAULT_FLOOD_INTERVAL_MS
    this.staleAfterMs = init.staleAfterMs ?? 3.5 * this.floodIntervalMs
    this.originStaleMs = init.originStaleMs ?? DEFAULT_ORIGIN_STALE_MS
    this.maxLossPct = init.maxLossPct ?? DEFAULT_MAX_LOSS_PCT
    const lossDownAfter = init.lossDownAfter ?? DEFAULT_LOSS_DOWN_AFTER
    this.services = init.services.map((s, index) => ({
      name: s.name,
      index,
      ingress: s.ingress.map((r) => this.relayIndex.get(r)!),
      exits: s.exits.map((r) => this.relayIndex.get(r)!),
      profile: s.profile ?? 'latency',
      redundant: s.redundant === true,
    }))
    for (const s of this.services) this.serviceByName.set(s.name, s)
    this.schema = {
      relays: this.relayIndex,
      exits: new Map(init.services.map((s) => [s.name, new Set(s.exits)])),
    }
    this.prober = new Prober({
      self: init.self,
      selfId: nameId(init.self),
      relays: this.relays,
      index: this.relayIndex,
      relayIds: this.relays.map(nameId),
      bootId,
      probeIntervalMs: init.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS,
      lossDownAfter,
      random: this.random,
    })
    const exitServices = new Map<number, string>()
    for (const s of this.services) {
      if (s.exits.includes(this.self)) {
        this.origins.set(s.index, new OriginEdge(lossDownAfter, 2 * this.maxLossPct))
        exitServices.set(s.index, s.name)
      }
    }
    const serviceIndex = new Map(this.services.map((s) => [s.name, s.index]))
    // Jitter or loss changes alone only matter to routing if a profile in use weighs them.
    const used = [...profilesInUse(this.services, this.self)].map((p) => PROFILES[p])
    const weighs = { jitter: used.some((p) => p.jitterWeight > 0), loss: used.some((p) => p.lossMsPerPct > 0) }
    this.map = new LinkMap(this.relayIndex, serviceIndex, this.maxLossPct, weighs)
    this.own = new OwnColumn(init.self, this.relays, bootId, exitServices, this.maxLossPct, this.services.length, this.prober.inbound)
    this.table = new RouteTable(this.map, this.services, {
      self: this.self,
      hopCostMs: init.hopCostMs ?? 0,
      maxLossPct: this.maxLossPct,
      holdMs: init.switchHoldMs ?? DEFAULT_SWITCH_HOLD_MS,
    })
    this.fresh = new Uint8Array(this.relays.length)
    this.fresh[this.self] = 1
    this.hold = new ColumnHold(this.relays.length)
    this.sinceFull = this.relays.map(() => [])
    this.pendingFull = new Uint8Array(this.relays.length)
    this.lastResyncMs = new Float64Array(this.relays.length).fill(-Infinity)
    this.seen = new Uint32Array(this.relays.length)
    this.fromIdx = new Int32Array(this.relays.length)
  }

  tick(nowMs: number): RouterMessage[] {
    this.lastNowMs = nowMs
    const out: RouterMessage[] = []
    let reach = this.prober.tick(nowMs, out) > 0
    // Edges that went silent are failures for flap damping.
    if (reach) {
      for (let i = 0; i < this.relays.length; i++) this.own.touch(i, this.prober.inbound[i], nowMs)
      this.markSilentPeers()
    }
    this.own.release(nowMs)
    // Silence counts only time this relay was running (stall-watch.ts), as for probes.
    for (const o of this.origins.values()) if (o.checkSilence(nowMs - (this.prober.unobservedMs - o.unobservedAtGoodMs), this.originStaleMs)) reach = true
    if (this.refreshFreshness(nowMs)) this.dirty = true
    if (this.table.demotions.expire(nowMs)) this.dirty = true
    // Thetas and RTTs alone never make routes recompute, but the potentials
    // (displayed delays, the base of the switching margin) are estimated
    // from them, only when routes are computed: on a settled map they were
    // left from the first seconds, often before any theta was in.
    if (this.map.offsetsMoved && nowMs - this.table.potentialsAtMs >= POTENTIAL_REFRESH_MS) this.dirty = true
    const change = reach ? ColumnChange.Reachability : this.own.changed(this.origins)
    const due = Number.isNaN(this.nextFloodMs) || nowMs >= this.nextFloodMs
    if (
      due || change === ColumnChange.Reachability ||
      (change !== ColumnChange.None && nowMs - this.lastFloodMs >= MIN_TRIGGERED_FLOOD_GAP_MS)
    ) this.flood(nowMs, out)
    this.maybeCompute(nowMs)
    for (const r of this.table.forward) if (r.slot.poll(nowMs)) this.publish(nowMs)
    for (const r of this.table.reply) if (r.slot.poll(nowMs)) this.publish(nowMs)
    return out
  }

  /**
   * When tick() next has work, from the deadlines its parts keep: the next
   * probe round or silence deadline, the next flood (or the triggered one a
   * moved column waits for), a column going stale, a flap-damped edge's
   * release, a demotion's end, the potentials' refresh, an origin leg's
   * silence (the backstop of its prober's misses; a sample that changes a
   * leg is an input, and the bridge ticks at once for it). While anything
   * is in motion that is checked on every tick (a held column, a map change
   * not computed yet, a pending route switch), and before the first tick,
   * it is -Infinity (due now): tick as often as you would without it.
   */
  nextTickMs(): number {
    if (this.dirty || this.hold.any || Number.isNaN(this.nextFloodMs)) return -Infinity
    for (const r of this.table.forward) if (!Number.isNaN(r.slot.pendingSinceMs)) return -Infinity
    for (const r of this.table.reply) if (!Number.isNaN(r.slot.pendingSinceMs)) return -Infinity
    let next = Math.min(this.prober.nextDueMs, this.nextFloodMs, this.nextStaleMs, this.own.damping.nextReleaseMs, this.table.demotions.nextExpiryMs())
    // Plus what this relay's own stalls since the leg's last good sample add (tick() leaves them out).
    for (const o of this.origins.values()) next = Math.min(next, o.silenceDueMs(this.originStaleMs) + (this.prober.unobservedMs - o.unobservedAtGoodMs))
    const change = this.own.changed(this.origins)
    if (change === ColumnChange.Reachability) return -Infinity
    if (change !== ColumnChange.None) next = Math.min(next, this.lastFloodMs + MIN_TRIGGERED_FLOOD_GAP_MS)
    if (this.map.offsetsMoved) next = Math.min(next, this.table.potentialsAtMs + POTENTIAL_REFRESH_MS)
    return next
  }

  onProbe(nowMs: number, from: string, bytes: Uint8Array): RouterMessage[] {
    this.lastNowMs = nowMs
    const i = this.prober.onProbe(nowMs, from, bytes)
    if (i >= 0) {
      this.own.touch(i, this.prober.inbound[i], nowMs)
      if (this.prober.inbound[i].up && this.table.demotions.clearSilent(this.self, i)) this.dirty = true
      if (this.prober.inbound[i].up && this.table.demotions.clearSuspect(i)) this.dirty = true
    }
    return NO_MESSAGES
  }

  onControl(nowMs: number, from: string, msg: unknown): RouterMessage[] {
    this.lastNowMs = nowMs
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return this.malformed('not_object')
    if ((msg as { type?: unknown }).type === RESYNC_MSG_TYPE) {
      const req = parseResync(msg as Record<string, unknown>)
      return req === undefined ? this.malformed('resync') : this.onResync(from, req)
    }
    const u = parseMapUpdate(msg, this.schema)
    if (typeof u === 'string') return this.malformed(u)
    if (u.origin === this.relays[this.self]) return this.onOwnColumn(nowMs, u)
    const v = this.relayIndex.get(u.origin)!
    // Safety net for an origin restarted without a fresh boot id (seq starts
    // over): once its column has gone stale, its updates are taken again.
    const restarted = nowMs - this.map.colRxMs[v] > this.staleAfterMs
    const plan = this.map.plan(u, restarted)
    if (plan === Plan.Stale) {
      this.count('control_stale')
      return []
    }
    if (plan === Plan.Gap) return this.onGap(nowMs, v)
    const bad = checkEdges(u, this.relayIndex, this.seen, ++this.seenStamp, this.fromIdx)
    if (bad !== '') return this.malformed(bad)
    // Checked before anything of it is applied, stored or relayed.
    if (this.auth !== undefined) {
      if (u.sig === undefined) return this.forged('unsigned')
      if (!this.auth.verify(u.origin, canonicalColumn(u), u.sig)) return this.forged('signature')
    }
    if (plan === Plan.Skip) {
      // Nothing to apply (the delta of the same seq follows), but it starts
      // the chain we relay: were it dropped, a relay in sync would keep
      // growing its chain from the last whole column it applied, drop it at
      // MAX_CHAIN_DELTAS and then have nothing to relay around a cut until
      // it fell out of sync - the far end of a cut link then learnt the cut
      // only when the column went stale (3.5 s). Relayed around failed
      // edges too, so that a relay cut off from the origin resyncs from it.
      this.count('control_full_skipped')
      this.keepForRelaying(v, u)
      return this.relayAround(nowMs, v, from, u)
    }
    const res = this.map.apply(nowMs, u, restarted, this.fromIdx)
    this.count('control_accepted')
    // v is alive and its column current (Silent peers): its edges count as shown again.
    if (this.table.demotions.clearSuspect(v)) this.dirty = true
    this.counts.control_edges_applied = (this.counts.control_edges_applied ?? 0) + u.edges.length
    this.keepForRelaying(v, u)
    const fresher = this.markFresh(nowMs, v)
    if (this.refreshFreshness(nowMs) || fresher || res !== ApplyResult.Unchanged) this.dirty = true
    if (res === ApplyResult.Significant) this.maybeCompute(nowMs)
    return this.relayAround(nowMs, v, from, u)
  }

  /** Keeps origin v's newest whole column and the deltas since (bounded: MAX_CHAIN_DELTAS). */
  private keepForRelaying(v: number, u: MapUpdate): void {
    const chain = this.sinceFull[v]
    if (u.full !== false) this.sinceFull[v] = [u]
    else if (chain.length === 0) return // dropped: wait for the next whole column
    else if (chain.length > MAX_CHAIN_DELTAS) {
      this.sinceFull[v] = []
      this.count('control_chain_dropped')
    } else chain.push(u)
  }

  /**
   * A column claiming to be ours. Our own updates relayed back are normal
   * (ignored). Anything we never issued (another boot, or a seq beyond ours)
   * is forged or replayed, and receivers that took it would refuse our real
   * updates as stale: we fight back, at most once per FIGHT_BACK_MIN_GAP_MS,
   * by flooding our whole column to every relay at once. When a receiver can
   * have taken the claim (it is well-formed and, with signing on, carries
   * our own valid signature: a replay of an old column of ours, or our key
   * leaked), the column goes out newer than the claim: a higher seq in the
   * same boot, else a new boot (receivers that took another boot treat ours
   * as an old one). A claim no receiver can take only gets the refresh:
   * re-booting for every unsigned forgery would let a peer churn our boots,
   * then replay one of them once receivers forgot it (they remember 8).
   */
  private onOwnColumn(nowMs: number, u: MapUpdate): RouterMessage[] {
    if (this.own.issued(u.boot, u.seq)) {
      this.count('control_own_update')
      return []
    }
    this.count('control_own_forged')
    if (nowMs - this.lastFightBackMs < FIGHT_BACK_MIN_GAP_MS) return []
    this.lastFightBackMs = nowMs
    if (this.takeable(u)) {
      // A higher seq wins within the claimed boot; against another boot (or a seq near the limit) only a new boot does.
      if (u.boot === this.own.boot && u.seq < Number.MAX_SAFE_INTEGER / 2) this.own.restart(u.seq + 1)
      else this.own.restart(0, this.freshBoot(u.boot))
      // Not in sync with ourselves any more: our own map takes the whole column.
      this.ownRestarted = true
    }
    // The next tick floods the whole column to every relay.
    this.floodsSinceFull = -1
    this.nextFloodMs = NaN
    this.count('control_fight_back')
    return []
  }

  /** A boot id other than our current one and `avoid` (stepping past them: an injected random may repeat). */
  private freshBoot(avoid: number): number {
    let boot = Math.floor(this.random() * U32) >>> 0
    while (boot === this.own.boot || boot === avoid) boot = (boot + 1) >>> 0
    return boot
  }

  /** Whether a receiver could accept `u` (a column claiming to be ours): it validates, and verifies if we sign. */
  private takeable(u: MapUpdate): boolean {
    if (checkEdges(u, this.relayIndex, this.seen, ++this.seenStamp, this.fromIdx) !== '') return false
    if (this.auth === undefined) return true
    return u.sig !== undefined && this.auth.verify(u.origin, canonicalColumn(u), u.sig)
  }

  /** A column whose signature is missing or wrong: dropped, never applied, stored or relayed. */
  private forged(reason: string): RouterMessage[] {
    this.count('control_forged')
    this.count(`control_forged_${reason}`)
    return []
  }

  private malformed(reason: string): RouterMessage[] {
    this.count('control_malformed')
    this.count(`control_malformed_${reason}`)
    return []
  }

  /** A delta we cannot apply: ask its origin for a full update (at most once per RESYNC_MIN_GAP_MS). */
  private onGap(nowMs: number, v: number): RouterMessage[] {
    this.count('control_delta_gap')
    if (nowMs - this.lastResyncMs[v] < RESYNC_MIN_GAP_MS) return []
    this.lastResyncMs[v] = nowMs
    this.count('control_resync_sent')
    const req: ResyncRequest = { type: RESYNC_MSG_TYPE, v: MAP_MSG_VERSION, origin: this.relays[this.self] }
    return [{ to: this.relays[v], kind: 'control', msg: req }]
  }

  /** A peer missed one of our deltas: it gets the whole column with our next flood. */
  private onResync(from: string, msg: ResyncRequest): RouterMessage[] {
    const i = this.relayIndex.get(from)
    if (msg.origin !== from || i === undefined || i === this.self) return this.malformed('resync')
    this.pendingFull[i] = 1
    this.count('control_resync_received')
    return []
  }

  onOriginSample(nowMs: number, sample: OriginSample): boolean {
    this.lastNowMs = nowMs
    const s = typeof sample === 'object' && sample !== null ? this.serviceByName.get(sample.service) : undefined
    const o = s && this.origins.get(s.index)
    if (o === undefined) {
      this.count('origin_sample_unknown_service')
      return false
    }
    const r = o.onSample(nowMs, sample)
    if (!r.valid) this.count('origin_sample_malformed')
    if (o.lastGoodMs === nowMs) o.unobservedAtGoodMs = this.prober.unobservedMs
    return r.changed
  }

  forwardPath(service: string): PathChoice | undefined {
    const r = this.table.forward.find((e) => e.service.name === service)
    return r && this.choices.get(r)
  }

  forwardPathVia(service: string, exit: string): PathChoice | undefined {
    const e = this.relayIndex.get(exit)
    const r = this.table.byExit.find((x) => x.service.name === service && x.exits?.[0] === e)
    return r && this.choices.get(r)
  }

  replyPath(service: string, ingress: string): PathChoice | undefined {
    const ing = this.relayIndex.get(ingress)
    const r = this.table.reply.find((e) => e.service.name === service && e.dst === ing)
    return r && this.choices.get(r)
  }

  pathTo(nowMs: number, dest: string): PathChoice | undefined {
    this.lastNowMs = nowMs
    const d = this.relayIndex.get(dest)
    if (d === undefined) return undefined
    const r = this.table.relayPath(nowMs, d, this.fresh)
    r.slot.poll(nowMs)
    return this.choiceOf(r)
  }

  edges(): EdgeView[] {
    return edgeViews(this.map, this.relays, this.services, this.table, this.fresh, this.lastNowMs, this.maxLossPct)
  }

  routes(): { forward: PathChoice[]; reply: PathChoice[] } {
    const pick = (list: RouteEntry[]) => list.map((r) => this.choices.get(r)).filter((c): c is PathChoice => c !== undefined)
    return { forward: pick(this.table.forward), reply: pick(this.table.reply) }
  }

  predictPath(path: readonly string[]): PathPrediction | undefined {
    const n = this.relays.length
    const p: PathPrediction = { up: true, pseudoMs: 0, delayMs: 0, lossPct: 0, jitterMs: 0 }
    for (let i = 0; i + 1 < path.length; i++) {
      const u = this.relayIndex.get(path[i])
      const v = this.relayIndex.get(path[i + 1])
      if (u === undefined || v === undefined) return undefined
      const o = EDGE_FIELDS * (u * n + v)
      if (this.map.edge[o + F_PRESENT] !== 1) return undefined
      if (this.fresh[v] !== 1 || !this.map.usable(u * n + v, this.maxLossPct)) p.up = false
      p.pseudoMs += this.map.edge[o + F_PSEUDO]
      p.delayMs += edgeDelay(this.map, u, v, this.table.h, this.fresh, Infinity)
      p.lossPct += this.map.edge[o + F_LOSS]
      p.jitterMs += this.map.edge[o + F_JITTER]
    }
    return p
  }

  /**
   * Silent peers: when a peer's probes stop reaching us, ours most likely
   * stop reaching it too (a cut link, a dead or isolated relay), but our
   * edge to it is measured at its end, which may never tell us. So our own
   * routes stop using self -> v at once, locally (a demotion, not flooded),
   * until v is heard again: the first hop of a path through a relay that
   * was cut off leaves it after the silence deadline (120 ms on an edge
   * that carries data), without waiting for a flood. A one-way loss of v's
   * probes costs our routes a detour, never reachability (a penalty, not an
   * exclusion). The edge comes back with v's probes (UP_AFTER_PROBES).
   * v's column is suspect too (EdgeDemotions.suspect): the edges into v are
   * avoided until an update from v arrives or v is heard again.
   */
  private markSilentPeers(): void {
    let any = false
    for (let v = 0; v < this.relays.length; v++) {
      const e = this.prober.inbound[v]
      if (v !== this.self && e.heard && !e.up && this.table.demotions.markSilent(this.self, v)) {
        this.table.demotions.markSuspect(v)
        any = true
      }
    }
    if (!any) return
    // Recompute at once, not after RECOMPUTE_MIN_INTERVAL_MS: traffic is being lost.
    this.dirty = true
    this.lastComputeMs = -Infinity
  }

  demotePath(nowMs: number, path: readonly string[], untilMs: number): boolean {
    const idx = path.map((r) => this.relayIndex.get(r))
    if (idx.some((i) => i === undefined)) return false
    for (let i = 0; i + 1 < idx.length; i++) this.table.demotions.demote(idx[i]!, idx[i + 1]!, untilMs)
    this.count('path_demoted')
    // Recompute at the next tick, not after RECOMPUTE_MIN_INTERVAL_MS: traffic is being lost.
    this.dirty = true
    this.lastComputeMs = -Infinity
    this.lastNowMs = nowMs
    return true
  }

  demotedEdges(): { from: string; to: string; untilMs: number }[] {
    return this.table.demotions.list().map(([u, v, untilMs]) => ({ from: this.relays[u], to: this.relays[v], untilMs }))
  }

  outboundUp(peer: string): boolean | undefined {
    const v = this.relayIndex.get(peer)
    if (v === undefined || v === this.self || this.fresh[v] !== 1) return undefined
    return this.map.isUp(this.self, v)
  }

  controlPlane(): ControlPlaneHealth {
    return this.hold.health(this.relays, this.lastNowMs)
  }

  resumePoint(): RouterResume {
    const run = this.prober.run
    return { probeBootId: run.bootId, nextProbeSeq: run.nextSeq, nextProbeSeqs: run.seqs, columnBootId: this.own.boot, nextColumnSeq: this.own.nextSeq }
  }

  markActivePeer(peer: string, nowMs: number): void {
    const i = this.relayIndex.get(peer)
    if (i !== undefined) this.prober.markActive(i, nowMs)
  }

  continueFrom(point: RouterResume): void {
    this.prober.continueRun(point.probeBootId, point.nextProbeSeq, point.nextProbeSeqs)
    this.own.restart(0, point.columnBootId)
    this.own.restart(point.nextColumnSeq)
    // Whatever this router flooded before went nowhere: the next tick floods the whole column to every relay.
    this.floodsSinceFull = -1
    this.nextFloodMs = NaN
  }

  counters(): RouterCounters {
    const c: RouterCounters = { ...this.counts, ...this.prober.counters }
    c.control_columns_held = this.hold.holdsStarted
    c.route_computations = this.table.computations
    c.route_clamped_edges = this.table.clampedEdges
    // Like the event counters above, these appear once they are nonzero.
    if (this.own.lossTrips > 0) c.edge_loss_trips = this.own.lossTrips
    if (this.own.damping.suppressions > 0) c.edge_flap_suppressions = this.own.damping.suppressions
    c.route_switches = [...this.table.forward, ...this.table.reply].reduce((a, r) => a + r.slot.switches, 0)
    return c
  }

  private count(key: string): void {
    this.counts[key] = (this.counts[key] ?? 0) + 1
  }

  /**
   * Sends our column: a delta (edges that moved) to every relay, preceded by
   * the whole column every FULL_REFRESH_FLOODS floods and for relays that
   * asked for it.
   * Deltas carry consecutive seqs, so a receiver notices a missed one; it then
   * asks for a full update, and the periodic refresh bounds the gap even when
   * that request is lost.
   */
  private flood(nowMs: number, out: RouterMessage[]): void {
    const { full, delta } = this.own.build(this.prober, this.origins)
    const refresh = this.floodsSinceFull + 1 >= FULL_REFRESH_FLOODS || this.floodsSinceFull < 0
    this.floodsSinceFull = refresh ? 0 : this.floodsSinceFull + 1
    // Our own map takes what receivers in sync hold.
    const res = this.map.apply(nowMs, this.map.colSeq[this.self] < 0 || this.ownRestarted ? full : delta)
    this.ownRestarted = false
    if (res !== ApplyResult.Stale && res !== ApplyResult.Unchanged) this.dirty = true
    if (this.auth !== undefined) delta.sig = this.auth.sign(canonicalColumn(delta))
    let fullSigned = this.auth === undefined
    for (let i = 0; i < this.relays.length; i++) {
      if (i === this.self) continue
      // The whole column goes first, then the delta of the same seq (see LinkMap.plan).
      if (refresh || this.pendingFull[i] === 1) {
        if (!fullSigned) full.sig = this.auth!.sign(canonicalColumn(full))
        fullSigned = true
        out.push({ to: this.relays[i], kind: 'control', msg: full })
      }
      this.pendingFull[i] = 0
      out.push({ to: this.relays[i], kind: 'control', msg: delta })
    }
    this.lastFloodMs = nowMs
    const jitter = 1 + FLOOD_JITTER * (2 * this.random() - 1)
    this.nextFloodMs = nowMs + this.floodIntervalMs * jitter
    this.count('floods_sent')
  }

  /**
   * Limited flooding. Origins send their column straight to every relay; a
   * copy only needs relaying where that direct edge is not up (it failed,
   * never came up, or the pair has no link at all). So: relay the new update
   * of `v` to each r whose edge v->r is not up, and, since v's column just
   * told us which edges x->v are not up, relay x's latest whole column and
   * the deltas since to v (each once: `relayedTo` remembers what
   * v already got from us; later deltas reach v by the first rule). Only the
   * RELAYERS_PER_PAIR relays that rank first (by a hash of the pair) among
   * those with working edges around the gap do it, so a relay hears a
   * relayed update about twice, not once from every relay. A relayed copy is
   * never relayed again by its receiver unless the receiver is itself a
   * chosen relayer, and seq numbers make a second copy stale, so this stays
   * bounded.
   */
  private relayAround(nowMs: number, v: number, from: string, u: MapUpdate): RouterMessage[] {
    // Nothing to relay when every edge into and out of v is up (the usual case).
    if (this.map.notUpOut[v] === 0 && this.map.notUpIn[v] === 0) return NO_MESSAGES
    const out: RouterMessage[] = []
    const n = this.relays.length
    const f = this.relayIndex.get(from) ?? -1
    // What we send on is rebuilt from checked fields, never the peer's decoded object.
    let copy: MapUpdate | undefined
    for (let r = 0; r < n; r++) {
      if (r === this.self || r === v || r === f) continue
      if (this.map.notUp(v, r, nowMs) && this.isRelayer(v, r)) out.push({ to: this.relays[r], kind: 'control', msg: (copy ??= relayCopy(u)) })
      // The whole column and the deltas since: a delta alone is useless to a relay that lacks the rest.
      if (!this.map.notUp(r, v, nowMs)) continue
      const chain = this.sinceFull[r]
      const last = chain[chain.length - 1]
      const sent = this.relayedTo.get(v * n + r)
      if (last === undefined || sent === last || !this.isRelayer(r, v)) continue
      this.relayedTo.set(v * n + r, last)
      // The chain past what this rule last relayed to v, or all of it (a
      // delta the first rule relayed may have reached v out of sync: it
      // may come again, stale). Once per whole column was not enough: a
      // link cut again before r's next whole column left r's new 'down'
      // delta (which often reaches us before v's own 'down') unrelayed.
      const from = sent === undefined ? 0 : chain.indexOf(sent) + 1
      for (let k = from; k < chain.length; k++) out.push({ to: u.origin, kind: 'control', msg: relayCopy(chain[k]) })
    }
    if (out.length === 0) return NO_MESSAGES
    this.count('control_relayed')
    return out
  }

  /** Whether this relay is one of the chosen relayers for the failed direct edge a->b. */
  private isRelayer(a: number, b: number): boolean {
    if (!this.map.isUp(a, this.self) || !this.map.isUp(this.self, b)) return false
    const ids = this.relayIds
    const mine = pairHash(ids[this.self], ids[a], ids[b])
    let better = 0
    for (let x = 0; x < this.relays.length; x++) {
      if (x === a || x === b || x === this.self || !this.map.isUp(a, x) || !this.map.isUp(x, b)) continue
      if (pairHash(ids[x], ids[a], ids[b]) < mine && ++better >= RELAYERS_PER_PAIR) return false
    }
    return true
  }

  /**
   * Marks columns not refreshed for staleAfterMs as stale. A column only
   * turns fresh when an update of it is applied (`markFresh`), and only goes
   * stale with time, so the scan runs only once the earliest deadline found
   * by the last one has passed (receive times only grow, so it is a lower bound).
   * Degraded mode (column-hold.ts): a column that goes stale while its relay's
   * probes still reach us is kept (held) instead; held columns are checked
   * every tick and dropped as soon as those probes stop.
   */
  private refreshFreshness(nowMs: number): boolean {
    if (!(nowMs > this.nextStaleMs) && !this.hold.any) return false
    let changed = false
    let next = Infinity
    for (let v = 0; v < this.relays.length; v++) {
      if (v === this.self) continue
      const rx = this.map.colRxMs[v]
      let f = nowMs - rx <= this.staleAfterMs ? 1 : 0
      if (f === 0 && this.fresh[v] === 1 && this.prober.inbound[v].up) {
        f = 1
        this.hold.hold(v, nowMs)
      } else this.hold.release(v)
      if (f !== this.fresh[v]) {
        // Only ever 1 -> 0 here: columns turn fresh in markFresh.
        this.fresh[v] = f
        changed = true
        this.suspect = true
      }
      if (f === 1 && !this.hold.isHeld(v) && rx + this.staleAfterMs < next) next = rx + this.staleAfterMs
    }
    this.nextStaleMs = next
    return changed
  }

  /** Column v was just refreshed: returns true when it was stale before. */
  private markFresh(nowMs: number, v: number): boolean {
    const rx = this.map.colRxMs[v]
    if (this.hold.isHeld(v)) {
      // Held, now refreshed: fresh all along for routing, but it has a deadline again.
      this.hold.release(v)
      if (rx + this.staleAfterMs < this.nextStaleMs) this.nextStaleMs = rx + this.staleAfterMs
      return false
    }
    if (this.fresh[v] === 1 || !(nowMs - rx <= this.staleAfterMs)) return false
    this.fresh[v] = 1
    if (rx + this.staleAfterMs < this.nextStaleMs) this.nextStaleMs = rx + this.staleAfterMs
    return true
  }

  /** Recomputes when the map changed: at once if a held route broke, else at most every RECOMPUTE_MIN_INTERVAL_MS. */
  private maybeCompute(nowMs: number): void {
    if (!this.dirty) return
    if (this.map.broke) {
      // Something became unusable since the last computation: a held route may have broken.
      this.map.broke = false
      this.suspect = true
    }
    if (nowMs - this.lastComputeMs < RECOMPUTE_MIN_INTERVAL_MS && !(this.suspect && this.table.anyBroken(this.fresh))) return
    this.table.compute(nowMs, this.fresh)
    this.lastComputeMs = nowMs
    this.dirty = false
    this.suspect = false
    this.publish(nowMs)
  }

  /** Rebuilds the PathChoice snapshots the data path reads. */
  private publish(nowMs: number): void {
    void nowMs
    const next = new Map<RouteEntry, PathChoice>()
    for (const r of [...this.table.forward, ...this.table.reply, ...this.table.byExit]) {
      const c = this.choiceOf(r)
      if (c !== undefined) next.set(r, c)
    }
    this.choices = next
  }

  private choiceOf(r: RouteEntry): PathChoice | undefined {
    const a = r.slot.active
    if (a === undefined) return undefined
    const names = a.path.map((i) => this.relays[i])
    const first = a.path[0]
    const last = a.path[a.path.length - 1]
    let delayMs = 0
    for (let i = 0; i + 1 < a.path.length; i++) delayMs += edgeDelay(this.map, a.path[i], a.path[i + 1], this.table.h, this.fresh, Infinity)
    let directDelayMs = a.path.length > 1 ? edgeDelay(this.map, first, last, this.table.h, this.fresh, Infinity) : 0
    if (r.dst < 0) {
      const od = this.table.originDelayMs(r.service, last, this.fresh)
      delayMs += od
      directDelayMs += od
    }
    const choice: PathChoice = { service: r.service.name, path: names, delayMs, sinceMs: r.slot.sinceMs }
    if (Number.isFinite(directDelayMs)) choice.directDelayMs = directDelayMs
    if (r.backup !== undefined) choice.backup = r.backup.map((i) => this.relays[i])
    return choice
  }
}

/**
 * A cheap integer mix of relay name ids (not indices: each relay may list the
 * relays in its own order), so every relay ranks the relayers the same way.
 */
function pairHash(x: number, a: number, b: number): number {
  let h = Math.imul(x, 0x9e3779b1) ^ Math.imul(a, 0x85ebca6b) ^ Math.imul(b, 0xc2b2ae35)
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d)
  return (h ^ (h >>> 15)) >>> 0
}

function edgeViews(
  map: LinkMap, relays: string[], services: ServiceInfo[], table: RouteTable, fresh: Uint8Array, nowMs: number, maxLossPct: number,
): EdgeView[] {
  const n = relays.length
  const out: EdgeView[] = []
  for (let v = 0; v < n; v++) {
    for (let u = 0; u < n; u++) {
      const k = u * n + v
      const o = EDGE_FIELDS * k
      const r = map.edge
      if (r[o + F_PRESENT] !== 1) continue
      const theta = r[o + F_THETA]
      const pseudo = r[o + F_PSEUDO]
      const delayMs = Number.isFinite(theta) ? pseudo - theta : pseudo + table.h[u] - table.h[v]
      out.push({
        from: relays[u], to: relays[v], delayMs, pseudoMs: pseudo, jitterMs: r[o + F_JITTER], lossPct: r[o + F_LOSS],
        up: fresh[v] === 1 && map.usable(k, maxLossPct), ageMs: nowMs - map.colRxMs[v],
      })
    }
  }
  for (const s of services) {
    for (const e of s.exits) {
      const k = s.index * n + e
      if (!map.oPresent[k]) continue
      const delayMs = map.oTwamp[k] ? map.oFwd[k] - map.oTheta[k] : map.oFwd[k]
      out.push({
        from: relays[e], to: `origin:${s.name}`, delayMs, pseudoMs: map.oFwd[k], jitterMs: map.oJitter[k], lossPct: map.oLoss[k],
        up: map.oUp[k] === 1 && fresh[e] === 1 && map.oLoss[k] <= maxLossPct, ageMs: nowMs - map.colRxMs[e],
      })
    }
  }
  return out
}
