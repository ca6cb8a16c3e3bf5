/**
 * A peer relay reachable at several addresses (`endpoints:` in the network
 * file: IPv4 and IPv6, or two providers). The relay sends to one, the active
 * endpoint, and moves to another when that one evidently does not work, so a
 * route leak or an outage at one provider does not cut the peer off:
 *
 * - no session with the peer (handshakes sent there get no answer), or
 * - the peer's own fresh map column reports our edge to it down or never up
 *   (it measures the probes we send to the active endpoint; route/).
 *
 * The others are spares. Each spare is probed every SPARE_PROBE_INTERVAL_MS
 * (an endpoint probe, wire/endpoint-probe.ts, sealed and sent to the spare's
 * address; the peer echoes it back along its usual way to us), so a move
 * goes to a spare that answered its last probe when there is one, not
 * blindly to the next address, and never to one known down: when every
 * spare is, the relay stays where it is (moving would not help). What a
 * probe said holds for SPARE_FRESH_MS; without a session nothing can be
 * sealed, so spares turn unknown and the move is round robin again.
 *
 * After a move the new endpoint gets TRY_MS to prove itself (a handshake
 * retries every ~1 s; an edge comes up after a few probes and one flood)
 * before the next move; the first endpoint is tried first. Packets from any
 * of the peer's endpoints are accepted (the relay maps every one to the
 * peer). Sans-IO: time comes in as nowMs, randomness (probe jitter) is injected.
 */
import type { PeerAddress } from '../io/index.js'

/** How long an endpoint is given to work before the next is tried. */
export const TRY_MS = 3000
/**
 * How often each spare endpoint is probed (±20 % jitter). A probe is one
 * small sealed datagram each way, so a spare costs ~20 B/s per peer; at this
 * rate a spare that broke is known to be down (SPARE_DOWN_AFTER_LOST probes)
 * within ~10 s, while a failover itself takes TRY_MS after the active
 * endpoint stops working: the choice it makes rests on news at most a few
 * seconds old without the spares adding measurable load.
 */
export const SPARE_PROBE_INTERVAL_MS = 5000
/** A spare whose probes went unanswered this many times in a row is down (one lost datagram is not enough). */
export const SPARE_DOWN_AFTER_LOST = 2
/** What the last probe said of a spare is trusted this long (three probes' worth); after that it is unknown. */
export const SPARE_FRESH_MS = 3 * SPARE_PROBE_INTERVAL_MS

/** What is known of one endpoint: `unknown` until a probe (or, for the active one, the edge) says. */
export type EndpointHealth = 'unknown' | 'up' | 'down'

/** One endpoint as `overpass status` shows it. */
export interface EndpointView {
  endpoint: string
  active: boolean
  health: EndpointHealth
  /** Round-trip time of the last answered probe (spares only). */
  rtt_ms?: number
}

interface Candidate {
  readonly address: PeerAddress
  health: EndpointHealth
  /** Probes lost in a row. */
  lost: number
  /** When `health` was last learned. */
  heardMs: number | undefined
  rttMs: number | undefined
  nextProbeMs: number | undefined
  /** The probe in flight: its token and when it left. */
  pending: { token: number; sentMs: number } | undefined
}

export interface PeerEndpointsOptions {
  tryMs?: number
  /** The endpoint in use at first (a lane worker copies worker 0's); default 0. */
  active?: number
  /** In [0, 1): probe jitter; default Math.random. */
  random?: () => number
}

export class PeerEndpoints {
  private index: number
  /**
   * Since when the active endpoint has been reported not working without a
   * word that it works in between. A move needs TRY_MS of that, not one bad
   * report: a rekey or a moment of silence (a busy peer, a demoted edge)
   * makes the control plane say "down" once, and moving then would trade a
   * working endpoint for a spare nobody has heard from.
   */
  private failingSinceMs: number | undefined
  private readonly entries: Candidate[]
  private readonly tryMs: number
  private readonly random: () => number
  private nextToken: number
  /** Moves made, for status. */
  failovers = 0

  constructor(readonly candidates: readonly PeerAddress[], opts: PeerEndpointsOptions = {}) {
    if (candidates.length === 0) throw new RangeError('a peer needs at least one endpoint')
    this.tryMs = opts.tryMs ?? TRY_MS
    this.random = opts.random ?? Math.random
    this.index = Math.min(Math.max(opts.active ?? 0, 0), candidates.length - 1)
    this.entries = candidates.map((address) => ({ address, health: 'unknown', lost: 0, heardMs: undefined, rttMs: undefined, nextProbeMs: undefined, pending: undefined }))
    this.nextToken = Math.floor(this.random() * 0x1_0000_0000) >>> 0
  }

  get active(): PeerAddress {
    return this.candidates[this.index]
  }

  get activeIndex(): number {
    return this.index
  }

  /**
   * Called periodically with whether the active endpoint works (`undefined`:
   * no news, e.g. the peer's column is not fresh). It moves once the active
   * endpoint has been reported not working for TRY_MS with no report that it
   * works in between; a new endpoint is on trial from its move, so that is
   * also TRY_MS after the last move. Returns true when it moved
   * to another endpoint: the first spare after it that answered its probes,
   * else the first not known to be down; none when every spare is known down.
   */
  observe(nowMs: number, works: boolean | undefined): boolean {
    const current = this.entries[this.index]
    if (works !== undefined) {
      current.health = works ? 'up' : 'down'
      current.heardMs = nowMs
    }
    if (works === true) this.failingSinceMs = undefined
    if (works !== false) return false
    this.failingSinceMs ??= nowMs
    if (this.candidates.length < 2 || nowMs - this.failingSinceMs < this.tryMs) return false
    const n = this.candidates.length
    const order = Array.from({ length: n - 1 }, (_, k) => (this.index + 1 + k) % n)
    const next = order.find((i) => this.healthOf(i, nowMs) === 'up') ?? order.find((i) => this.healthOf(i, nowMs) === 'unknown')
    if (next === undefined) return false
    // The one left is a spare now: its first unanswered probe marks it down. Until a probe says, it is
    // unknown, so two endpoints that both fail without a session (no probes) still alternate every TRY_MS.
    current.lost = SPARE_DOWN_AFTER_LOST
    current.heardMs = undefined
    current.nextProbeMs = undefined
    current.pending = undefined
    this.index = next
    this.entries[next].pending = undefined
    // The new endpoint is on trial from now: without a report that it works within TRY_MS, the next one is tried.
    this.failingSinceMs = nowMs
    this.failovers++
    return true
  }

  /**
   * Spares whose probe is due now, each with the token its probe carries.
   * A probe still unanswered when the next is due counts as lost. The first
   * probe of a spare goes out within one interval, at a random point.
   */
  dueProbes(nowMs: number): { index: number; address: PeerAddress; token: number }[] {
    const out: { index: number; address: PeerAddress; token: number }[] = []
    for (let i = 0; i < this.entries.length; i++) {
      if (i === this.index) continue
      const e = this.entries[i]
      if (e.nextProbeMs === undefined) {
        e.nextProbeMs = nowMs + this.random() * SPARE_PROBE_INTERVAL_MS
        continue
      }
      if (nowMs < e.nextProbeMs) continue
      if (e.pending !== undefined && ++e.lost >= SPARE_DOWN_AFTER_LOST) {
        e.health = 'down'
        e.heardMs = nowMs
      }
      const token = this.nextToken
      this.nextToken = (this.nextToken + 1) >>> 0
      e.pending = { token, sentMs: nowMs }
      e.nextProbeMs = nowMs + SPARE_PROBE_INTERVAL_MS * (0.8 + 0.4 * this.random())
      out.push({ index: i, address: e.address, token })
    }
    return out
  }

  /** A probe reply came back (authenticated, from this peer). False: no spare's probe in flight has that token. */
  probeAnswered(nowMs: number, token: number): boolean {
    const e = this.entries.find((c) => c.pending?.token === token)
    if (e === undefined) return false
    e.rttMs = nowMs - e.pending!.sentMs
    e.pending = undefined
    e.lost = 0
    e.health = 'up'
    e.heardMs = nowMs
    return true
  }

  /** What is known of endpoint `i` now: its last health while fresh (SPARE_FRESH_MS), else unknown. */
  private healthOf(i: number, nowMs: number): EndpointHealth {
    const e = this.entries[i]
    return e.heardMs !== undefined && nowMs - e.heardMs <= SPARE_FRESH_MS ? e.health : 'unknown'
  }

  /** Every endpoint, the active one marked, with what is known of it at `nowMs`. */
  view(nowMs: number): EndpointView[] {
    return this.entries.map((e, i) => ({
      endpoint: addressText(e.address),
      active: i === this.index,
      health: this.healthOf(i, nowMs),
      ...(i !== this.index && e.rttMs !== undefined ? { rtt_ms: Math.round(e.rttMs * 10) / 10 } : {}),
    }))
  }
}

export const addressText = (a: PeerAddress): string => (a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`)
