/**
 * The network-version state machine of one relay (sans-IO: fed `now` and
 * inputs, returns actions; never reads a clock, a socket or a file).
 *
 * 1. Spreading. Every relay announces what it holds and runs, periodically
 *    and at once on a change. A relay that hears of a version above its
 *    anti-rollback floor fetches the bundle (signature + file) from that
 *    peer, chunk by chunk, then judges it: operator signature first, then
 *    strictly newer than anything it held, then the same validation as
 *    `overpass check` for this relay (config/signed-version.ts). A version
 *    whose signature checks out is kept as `newest`, persisted and
 *    announced, so it passes on even where it cannot be applied.
 * 2. Adopting. The newest version goes live through the injected applier
 *    (an `apply` action, answered by `onApplied`), never half: the applier
 *    applies all or nothing. A version that is invalid here, needs a
 *    restart or failed to apply is held aside and reported (`status()`).
 * 3. Canaries. When the version's `rollout:` names canaries and this relay
 *    is not one, it waits until every canary announces that it runs the
 *    version (or a newer one) and has been healthy for `hold_s`. Health
 *    travels as a duration ("healthy for 312000 ms"), never a timestamp,
 *    so no two relays' clocks are compared.
 * 4. Rollback. A relay that loses all its peers within `rollbackWindowMs`
 *    of applying a version goes back to the previous one by itself, says so,
 *    and never adopts that version again (it stays below the floor).
 */
import { isValidVersion, judgeVersion, signedMessage, type SignedNetworkFile } from '../config/signed-version.js'
import { OPERATOR_SIGNATURE_LEN, verifyDetached } from '../crypto/operator-signing.js'
import {
  chunkCount, decodeVersionMessage, encodeAnnounce, encodeChunk, encodeRequest, MAX_BUNDLE_BYTES,
  type Announce, type Chunk, type ChunkRequest,
} from './messages.js'
import type {
  ApplyResult, HeldVersion, PersistedVersions, RelayHealth, VersionAction, VersionInspection,
} from './types.js'

export const DEFAULT_ANNOUNCE_INTERVAL_MS = 5_000
/** Loss of every peer this soon after applying a version rolls it back. */
export const DEFAULT_ROLLBACK_WINDOW_MS = 60_000
/**
 * Peers must all stay down this long to count as lost: a blip (one probe
 * interval with no answer) is not a cut, and a relay that just started
 * needs a moment to bring its sessions up.
 */
export const DEFAULT_LOSS_CONFIRM_MS = 10_000
/** Chunk requests in flight at once. */
export const FETCH_WINDOW = 8
/** A chunk not answered within this is asked for again. */
export const FETCH_RETRY_MS = 1_000
/** A fetch with no new chunk for this long is dropped (the next announcement starts it again). */
export const FETCH_STALL_MS = 10_000
/** A peer's announcement older than this many intervals no longer counts for canary health. */
const ANNOUNCE_FRESH_INTERVALS = 3
/** Offers (peer, version) that failed verification are remembered, so a liar is not fetched from again. */
const MAX_BAD_OFFERS = 1024

export interface NetworkVersionsInit {
  self: string
  operatorKey: Uint8Array
  /** The version the relay started with (its network file); version 0 when bootstrapping (config/loadBootstrap). */
  running: SignedNetworkFile
  /** The record from the last run, if any. */
  persisted?: PersistedVersions
  /** This relay's view of a version's content: `overpass check` problems, relays, rollout policy. */
  inspect: (bytes: Uint8Array) => VersionInspection
  announceIntervalMs?: number
  rollbackWindowMs?: number
  lossConfirmMs?: number
  /** Now, at start: a start that takes a version saved as `needs_restart` is watched like a live apply. */
  startMs?: number
  random?: () => number
}

interface Held {
  file: SignedNetworkFile
  bundle: Uint8Array
  info: VersionInspection
}

interface Fetch {
  version: number
  from: string
  total: number
  chunks: (Uint8Array | undefined)[]
  have: number
  askedAtMs: Map<number, number>
  progressAtMs: number
}

interface PeerView {
  announce: Announce
  heardAtMs: number
}

export interface RollbackRecord {
  from: number
  to: number
  afterMs: number
}

export interface VersionStatus {
  running: number
  on_disk: number
  newest?: number
  floor: number
  held?: HeldVersion
  waiting_for?: string[]
  fetching?: { version: number; from: string; chunks: number; of: number }
  rollback_watch_ms_left?: number
  last_rollback?: RollbackRecord
  /** Peers whose edge from this relay is up, as the rollback watch last saw it. */
  peers_up: number
  counters: Record<string, number>
}

/** What `offer` says about an operator's local push. */
export type OfferVerdict = { accepted: true; version: number } | { accepted: false; reason: string; detail: string }

export class NetworkVersions {
  private readonly self: string
  private readonly operatorKey: Uint8Array
  private readonly inspect: (bytes: Uint8Array) => VersionInspection
  private readonly announceIntervalMs: number
  private readonly rollbackWindowMs: number
  private readonly lossConfirmMs: number
  private readonly random: () => number

  private running: Held
  private previous: SignedNetworkFile | undefined
  private onDisk: SignedNetworkFile
  private newest: Held | undefined
  private floor: number
  private held: HeldVersion | undefined
  private applying: { file: SignedNetworkFile; why: 'adopt' | 'rollback'; from: SignedNetworkFile } | undefined
  private fetch: Fetch | undefined
  private readonly peers = new Map<string, PeerView>()
  private knownPeers: Set<string>
  private readonly badOffers = new Set<string>()
  private healthySinceMs: number | undefined
  private watch: { version: number; untilMs: number; appliedAtMs: number; hadPeers: boolean; noPeersSinceMs?: number } | undefined
  private lastRollback: RollbackRecord | undefined
  private nextAnnounceMs = 0
  private announceNow = true
  private lastHealth: RelayHealth = { peersUp: 0, mapFresh: false }
  /** When the map last showed a peer up: an apply during a blip of the map still counts as having had peers. */
  private peersLastUpMs: number | undefined
  readonly counters: Record<string, number> = {}

  constructor(init: NetworkVersionsInit) {
    this.self = init.self
    this.operatorKey = init.operatorKey
    this.inspect = init.inspect
    this.announceIntervalMs = init.announceIntervalMs ?? DEFAULT_ANNOUNCE_INTERVAL_MS
    this.rollbackWindowMs = init.rollbackWindowMs ?? DEFAULT_ROLLBACK_WINDOW_MS
    this.lossConfirmMs = init.lossConfirmMs ?? DEFAULT_LOSS_CONFIRM_MS
    this.random = init.random ?? Math.random
    this.running = this.heldOf(init.running)
    this.knownPeers = this.peersOf(this.running.info)
    const p = init.persisted === undefined ? undefined : this.verified(init.persisted)
    this.onDisk = init.running
    this.floor = Math.max(init.running.version, p?.floor ?? 0)
    if (p?.previous !== undefined && p.previous.version < init.running.version) this.previous = p.previous
    if (p?.newest !== undefined && p.newest.version > init.running.version) this.newest = this.heldOf(p.newest)
    // A reason that depends on this process (waiting, needs restart) is judged again; the rest stand.
    if (p?.held !== undefined && this.newest?.file.version === p.held.version && p.held.reason !== 'waiting_canaries' && p.held.reason !== 'needs_restart') this.held = p.held
    // This start takes a version that needed a restart: it had peers before, so losing them all now is the version's doing.
    if (p?.held?.reason === 'needs_restart' && p.held.version === init.running.version && this.previous !== undefined) {
      const at = init.startMs ?? 0
      this.watch = { version: init.running.version, appliedAtMs: at, untilMs: at + this.rollbackWindowMs, hadPeers: true }
    }
  }

  /** The bundle a peer fetches: signature, then the file's exact bytes. */
  static bundleOf(file: SignedNetworkFile): Uint8Array {
    const b = new Uint8Array(OPERATOR_SIGNATURE_LEN + file.bytes.length)
    b.set(file.signature, 0)
    b.set(file.bytes, OPERATOR_SIGNATURE_LEN)
    return b
  }

  get runningVersion(): number {
    return this.running.file.version
  }

  /** Time-driven work: announcements, chunk requests and retries, the canary gate, the rollback watch. */
  tick(nowMs: number, health: RelayHealth): VersionAction[] {
    const out: VersionAction[] = []
    this.lastHealth = health
    if (health.peersUp > 0) this.peersLastUpMs = nowMs
    this.trackHealth(nowMs, health)
    this.checkRollback(nowMs, health, out)
    this.pumpFetch(nowMs, out)
    this.maybeAdopt(nowMs, out)
    if (this.announceNow || nowMs >= this.nextAnnounceMs) this.announce(nowMs, out)
    return out
  }

  /** A version-message body from `from` (an authenticated overlay peer). Bad input is counted, never thrown. */
  onMessage(nowMs: number, from: string, bytes: Uint8Array): VersionAction[] {
    if (!this.knownPeers.has(from)) {
      this.count('version_unknown_peer')
      return []
    }
    const m = decodeVersionMessage(bytes)
    if (typeof m === 'string') {
      this.count('version_malformed')
      this.count(`version_malformed_${m}`)
      return []
    }
    const out: VersionAction[] = []
    if (m.type === 'announce') this.onAnnounce(nowMs, from, m, out)
    else if (m.type === 'request') this.onRequest(from, m, out)
    else this.onChunk(nowMs, from, m, out)
    return out
  }

  /** The operator hands this relay a signed version (control socket): judged like one from a peer. */
  offer(nowMs: number, file: SignedNetworkFile): { verdict: OfferVerdict; actions: VersionAction[] } {
    const out: VersionAction[] = []
    const verdict = this.receive(nowMs, 'local', file, out)
    return { verdict, actions: out }
  }

  /** The applier's answer to an `apply` action. */
  onApplied(nowMs: number, version: number, result: ApplyResult): VersionAction[] {
    const out: VersionAction[] = []
    const a = this.applying
    if (a === undefined || a.file.version !== version) return out
    this.applying = undefined
    if (a.why === 'rollback') this.rolledBack(a, result, out)
    else if (result.outcome === 'applied') {
      this.previous = previousOf(a.from)
      this.running = this.newest !== undefined && this.newest.file.version === version ? this.newest : this.heldOf(a.file)
      this.knownPeers = this.peersOf(this.running.info)
      this.onDisk = a.file
      this.held = undefined
      this.healthySinceMs = undefined
      this.watch = { version, appliedAtMs: nowMs, untilMs: nowMs + this.rollbackWindowMs, hadPeers: this.hadPeersRecently(nowMs) }
      log(out, 'info', 'network version applied', { version, previous: a.from.version })
    } else if (result.outcome === 'needs_restart') {
      this.previous = previousOf(a.from)
      this.onDisk = a.file
      this.hold(out, { version, reason: 'needs_restart', detail: `${result.detail}; version ${version} is saved and runs after a restart` })
    } else {
      this.hold(out, { version, reason: 'apply_failed', detail: result.detail })
    }
    this.announceNow = true
    out.push(this.persist())
    return out
  }

  status(nowMs: number): VersionStatus {
    const s: VersionStatus = { running: this.running.file.version, on_disk: this.onDisk.version, floor: this.floor, peers_up: this.lastHealth.peersUp, counters: { ...this.counters } }
    if (this.newest !== undefined) s.newest = this.newest.file.version
    if (this.held !== undefined) s.held = { ...this.held }
    if (this.held?.reason === 'waiting_canaries' && this.newest !== undefined) s.waiting_for = this.canariesNotReady(nowMs, this.newest)
    if (this.fetch !== undefined) s.fetching = { version: this.fetch.version, from: this.fetch.from, chunks: this.fetch.have, of: this.fetch.chunks.length }
    if (this.watch !== undefined) s.rollback_watch_ms_left = Math.max(0, this.watch.untilMs - nowMs)
    if (this.lastRollback !== undefined) s.last_rollback = { ...this.lastRollback }
    return s
  }

  // --- receiving -------------------------------------------------------------

  private onAnnounce(nowMs: number, from: string, a: Announce, out: VersionAction[]): void {
    this.peers.set(from, { announce: a, heardAtMs: nowMs })
    if (a.newest <= this.top() || this.badOffers.has(offerKey(from, a.newest))) return
    if (this.fetch !== undefined && this.fetch.version >= a.newest) return
    const count = chunkCount(a.newestBytes)
    this.fetch = { version: a.newest, from, total: a.newestBytes, chunks: new Array<Uint8Array | undefined>(count).fill(undefined), have: 0, askedAtMs: new Map(), progressAtMs: nowMs }
    log(out, 'info', 'fetching a newer network version', { version: a.newest, from, bytes: a.newestBytes })
    this.pumpFetch(nowMs, out)
  }

  private onRequest(from: string, r: ChunkRequest, out: VersionAction[]): void {
    const h = this.newest?.file.version === r.version ? this.newest : this.running.file.version === r.version ? this.running : undefined
    if (h === undefined || r.index >= chunkCount(h.bundle.length)) {
      this.count('version_request_unknown')
      return
    }
    out.push({ kind: 'send', to: from, bytes: encodeChunk(r.version, h.bundle, r.index) })
  }

  private onChunk(nowMs: number, from: string, c: Chunk, out: VersionAction[]): void {
    const f = this.fetch
    if (f === undefined || f.from !== from || f.version !== c.version || f.total !== c.total) {
      this.count('version_unexpected_chunk')
      return
    }
    if (f.chunks[c.index] !== undefined) {
      this.count('version_duplicate_chunk')
      return
    }
    f.chunks[c.index] = c.payload
    f.askedAtMs.delete(c.index)
    f.have++
    f.progressAtMs = nowMs
    if (f.have < f.chunks.length) {
      this.pumpFetch(nowMs, out)
      return
    }
    this.fetch = undefined
    const bundle = concat(f.chunks as Uint8Array[], f.total)
    const file: SignedNetworkFile = { version: f.version, signature: bundle.slice(0, OPERATOR_SIGNATURE_LEN), bytes: bundle.slice(OPERATOR_SIGNATURE_LEN) }
    const v = this.receive(nowMs, from, file, out)
    if (!v.accepted && (v.reason === 'bad_signature' || v.reason === 'bad_version')) {
      if (this.badOffers.size >= MAX_BAD_OFFERS) this.badOffers.clear()
      this.badOffers.add(offerKey(from, f.version))
    }
  }

  /** Judges a complete version from `source` (a peer, or 'local'); keeps it as newest when its signature holds. */
  private receive(nowMs: number, source: string, file: SignedNetworkFile, out: VersionAction[]): OfferVerdict {
    if (OPERATOR_SIGNATURE_LEN + file.bytes.length > MAX_BUNDLE_BYTES) {
      this.count('version_rejected_too_large')
      return { accepted: false, reason: 'too_large', detail: `the network file is over ${MAX_BUNDLE_BYTES - OPERATOR_SIGNATURE_LEN} bytes` }
    }
    let info: VersionInspection | undefined
    const verdict = judgeVersion({
      currentVersion: this.top(),
      candidate: file,
      operatorKey: this.operatorKey,
      validate: (bytes) => (info = this.inspect(bytes)).problems,
    })
    if (!verdict.accept && verdict.reason !== 'invalid_content') {
      this.count(`version_rejected_${verdict.reason}`)
      log(out, 'warn', 'network version refused', { version: file.version, from: source, reason: verdict.reason, detail: verdict.detail })
      return { accepted: false, reason: verdict.reason, detail: verdict.detail }
    }
    // The operator signed it: it is kept and passed on, whether or not this relay can run it.
    this.newest = { file, bundle: NetworkVersions.bundleOf(file), info: info! }
    this.floor = file.version
    this.announceNow = true
    log(out, 'info', 'network version received', { version: file.version, from: source })
    if (!verdict.accept) {
      this.count('version_rejected_invalid_content')
      this.hold(out, { version: file.version, reason: 'invalid', detail: verdict.detail })
    } else this.held = undefined
    out.push(this.persist())
    this.maybeAdopt(nowMs, out)
    return verdict.accept ? { accepted: true, version: file.version } : { accepted: false, reason: verdict.reason, detail: verdict.detail }
  }

  // --- adopting --------------------------------------------------------------

  private maybeAdopt(nowMs: number, out: VersionAction[]): void {
    const n = this.newest
    if (n === undefined || this.applying !== undefined || n.file.version <= this.running.file.version) return
    if (this.held !== undefined && this.held.version === n.file.version && this.held.reason !== 'waiting_canaries') return
    const { canaries, holdMs } = n.info.rollout
    if (canaries.length > 0 && !canaries.includes(this.self)) {
      const notReady = this.canariesNotReady(nowMs, n)
      if (notReady.length > 0) {
        if (this.held?.version !== n.file.version) {
          this.hold(out, { version: n.file.version, reason: 'waiting_canaries', detail: `waiting until canaries ${canaries.join(', ')} have run it healthily for ${holdMs / 1000} s` })
          out.push(this.persist())
        }
        return
      }
      log(out, 'info', 'canaries healthy; applying the network version', { version: n.file.version, canaries, hold_s: holdMs / 1000 })
    }
    this.applying = { file: n.file, why: 'adopt', from: this.running.file }
    out.push({ kind: 'apply', file: n.file, why: 'adopt' })
  }

  /** Canaries that have not announced running `h` (or newer) healthily for the hold, recently. */
  private canariesNotReady(nowMs: number, h: Held): string[] {
    const { canaries, holdMs } = h.info.rollout
    const freshMs = ANNOUNCE_FRESH_INTERVALS * this.announceIntervalMs
    return canaries.filter((c) => {
      const p = this.peers.get(c)
      return p === undefined || nowMs - p.heardAtMs > freshMs || p.announce.running < h.file.version || !p.announce.healthy || p.announce.healthyMs < holdMs
    })
  }

  /**
   * Whether this relay had peers just before an apply. Counting only the last
   * tick would disarm the rollback watch whenever the map blinks (an edge
   * between two probe results, a busy machine) at the moment of the apply; a
   * relay whose peers have been gone longer than a loss confirmation did not
   * lose them to this version, so that does not count.
   */
  private hadPeersRecently(nowMs: number): boolean {
    return this.peersLastUpMs !== undefined && nowMs - this.peersLastUpMs <= this.lossConfirmMs
  }

  private trackHealth(nowMs: number, health: RelayHealth): void {
    const healthy = health.peersUp > 0 && health.mapFresh
    if (!healthy) {
      if (this.healthySinceMs !== undefined) this.announceNow = true
      this.healthySinceMs = undefined
    } else if (this.healthySinceMs === undefined) {
      this.healthySinceMs = nowMs
      this.announceNow = true
    }
  }

  // --- rollback --------------------------------------------------------------

  private checkRollback(nowMs: number, health: RelayHealth, out: VersionAction[]): void {
    const w = this.watch
    if (w === undefined) return
    if (w.version !== this.running.file.version || (nowMs > w.untilMs && w.noPeersSinceMs === undefined)) {
      this.watch = undefined
      return
    }
    if (health.peersUp > 0) {
      w.hadPeers = true
      w.noPeersSinceMs = undefined
      if (nowMs > w.untilMs) this.watch = undefined
      return
    }
    if (!w.hadPeers || this.previous === undefined || this.applying !== undefined) return
    w.noPeersSinceMs ??= nowMs
    if (nowMs - w.noPeersSinceMs < this.lossConfirmMs) return
    this.watch = undefined
    const afterMs = w.noPeersSinceMs - w.appliedAtMs
    log(out, 'error', 'lost every peer after applying a network version; rolling back', { version: w.version, to: this.previous.version, lost_after_ms: afterMs })
    this.lastRollback = { from: w.version, to: this.previous.version, afterMs }
    this.count('version_rollbacks')
    this.applying = { file: this.previous, why: 'rollback', from: this.running.file }
    out.push({ kind: 'apply', file: this.previous, why: 'rollback' })
  }

  private rolledBack(a: { file: SignedNetworkFile; from: SignedNetworkFile }, result: ApplyResult, out: VersionAction[]): void {
    const bad = a.from.version
    if (result.outcome === 'failed') {
      log(out, 'error', 'rollback failed; still running the version that lost every peer', { version: bad, to: a.file.version, detail: result.detail })
      return
    }
    if (result.outcome === 'applied') {
      this.running = this.heldOf(a.file)
      this.knownPeers = this.peersOf(this.running.info)
      this.healthySinceMs = undefined
    }
    this.previous = undefined
    this.onDisk = a.file
    const when = this.lastRollback !== undefined ? ` ${(this.lastRollback.afterMs / 1000).toFixed(1)} s after applying it` : ''
    const restart = result.outcome === 'needs_restart' ? `; ${result.detail}, restart to run version ${a.file.version}` : ''
    this.hold(out, { version: bad, reason: 'rolled_back', detail: `rolled back to version ${a.file.version}: every peer was lost${when}${restart}` })
  }

  // --- sending ---------------------------------------------------------------

  private pumpFetch(nowMs: number, out: VersionAction[]): void {
    const f = this.fetch
    if (f === undefined) return
    if (nowMs - f.progressAtMs > FETCH_STALL_MS) {
      this.count('version_fetch_stalled')
      log(out, 'warn', 'network version fetch stalled; dropped until the next announcement', { version: f.version, from: f.from, chunks: f.have, of: f.chunks.length })
      this.fetch = undefined
      return
    }
    for (const [i, at] of f.askedAtMs) if (nowMs - at >= FETCH_RETRY_MS) f.askedAtMs.delete(i)
    for (let i = 0; i < f.chunks.length && f.askedAtMs.size < FETCH_WINDOW; i++) {
      if (f.chunks[i] !== undefined || f.askedAtMs.has(i)) continue
      f.askedAtMs.set(i, nowMs)
      out.push({ kind: 'send', to: f.from, bytes: encodeRequest(f.version, i) })
    }
  }

  private announce(nowMs: number, out: VersionAction[]): void {
    this.announceNow = false
    this.nextAnnounceMs = nowMs + this.announceIntervalMs * (0.9 + 0.2 * this.random())
    const healthy = this.healthySinceMs !== undefined
    // Version 0 is a bootstrapping relay's "none yet": nothing to offer.
    const offered = this.newest ?? (this.running.file.version > 0 ? this.running : undefined)
    const bytes = encodeAnnounce({
      newest: offered?.file.version ?? 0,
      newestBytes: offered?.bundle.length ?? 0,
      running: this.running.file.version,
      healthy,
      healthyMs: healthy ? nowMs - this.healthySinceMs! : 0,
    })
    for (const p of this.knownPeers) out.push({ kind: 'send', to: p, bytes })
  }

  // --- helpers ---------------------------------------------------------------

  /** The record without any version whose signature does not hold (a record edited on disk gains nothing). */
  private verified(p: PersistedVersions): PersistedVersions {
    const ok = (f: SignedNetworkFile | undefined): boolean => f !== undefined && verifyDetached(f.signature, signedMessage(f.version, f.bytes), this.operatorKey)
    const out: PersistedVersions = { onDisk: p.onDisk, floor: p.floor }
    if (ok(p.previous)) out.previous = p.previous
    if (ok(p.newest)) out.newest = p.newest
    if (p.held !== undefined) out.held = p.held
    return out
  }

  /** The highest version this relay knows of: nothing at or below it is fetched or adopted. */
  private top(): number {
    return Math.max(this.floor, this.running.file.version, this.newest?.file.version ?? 0)
  }

  private hold(out: VersionAction[], h: HeldVersion): void {
    this.held = h
    log(out, h.reason === 'waiting_canaries' ? 'info' : 'warn', 'network version held aside', { version: h.version, reason: h.reason, detail: h.detail })
  }

  private persist(): VersionAction {
    const state: PersistedVersions = { onDisk: this.onDisk, floor: this.floor }
    if (this.previous !== undefined) state.previous = this.previous
    if (this.newest !== undefined) state.newest = this.newest.file
    if (this.held !== undefined) state.held = { ...this.held }
    return { kind: 'persist', state }
  }

  private heldOf(file: SignedNetworkFile): Held {
    return { file, bundle: NetworkVersions.bundleOf(file), info: this.inspect(file.bytes) }
  }

  private peersOf(info: VersionInspection): Set<string> {
    return new Set(info.relays.filter((r) => r !== this.self))
  }

  private count(reason: string): void {
    this.counters[reason] = (this.counters[reason] ?? 0) + 1
  }
}

function log(out: VersionAction[], level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>): void {
  out.push({ kind: 'log', level, msg, fields })
}

function offerKey(peer: string, version: number): string {
  return `${peer}@${version}`
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total)
  let p = 0
  for (const c of chunks) {
    out.set(c, p)
    p += c.length
  }
  return out
}

/**
 * What a relay may go back to from `from`: nothing when `from` is the
 * version-0 stand-in of a bootstrapping relay (config/loadBootstrap), which
 * is no network file. Recorded as `previous` it made the record unreadable,
 * so the relay that `overpass network fetch` had just set up refused to start.
 */
function previousOf(from: SignedNetworkFile): SignedNetworkFile | undefined {
  return isValidVersion(from.version) ? from : undefined
}
