/**
 * A peer relay reachable at several addresses (`endpoints:` in the network
 * file: IPv4 and IPv6, or two providers). The relay sends to one, the active
 * endpoint, and moves to the next when that one evidently does not work, so a
 * route leak or an outage at one provider does not cut the peer off:
 *
 * - no session with the peer (handshakes sent there get no answer), or
 * - the peer's own fresh map column reports our edge to it down or never up
 *   (it measures the probes we send to the active endpoint; route/).
 *
 * After a move the new endpoint gets TRY_MS to prove itself (a handshake
 * retries every ~1 s; an edge comes up after a few probes and one flood)
 * before the next move, round robin; the first endpoint is tried first.
 * Packets from any of the peer's endpoints are accepted (the relay maps every
 * one to the peer). Sans-IO: time comes in as nowMs.
 */
import type { PeerAddress } from '../io/index.js'

/** How long an endpoint is given to work before the next is tried. */
export const TRY_MS = 3000

export class PeerEndpoints {
  private index = 0
  private sinceMs: number | undefined
  /** Moves made, for status. */
  failovers = 0

  constructor(readonly candidates: readonly PeerAddress[], private readonly tryMs = TRY_MS) {
    if (candidates.length === 0) throw new RangeError('a peer needs at least one endpoint')
  }

  get active(): PeerAddress {
    return this.candidates[this.index]
  }

  /**
   * Called periodically with whether the active endpoint works (`undefined`:
   * no news, e.g. the peer's column is not fresh). Returns true when it moved
   * to the next endpoint.
   */
  observe(nowMs: number, works: boolean | undefined): boolean {
    this.sinceMs ??= nowMs
    if (works !== false || this.candidates.length < 2 || nowMs - this.sinceMs < this.tryMs) return false
    this.index = (this.index + 1) % this.candidates.length
    this.sinceMs = nowMs
    this.failovers++
    return true
  }
}
