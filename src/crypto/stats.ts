/**
 * Per-peer counters kept in a Float64Array so the data path only does an
 * indexed increment; `snapshot` builds the readable objects on demand.
 */
import { CRYPTO_DROP_NAMES, type CryptoCounters } from './types.js'

/** Counter slots besides drops. */
export const enum Count {
  TxPackets,
  RxPackets,
  HandshakesInitiated,
  HandshakeResponsesSent,
  SessionsUp,
  HandshakeTimeouts,
  SimultaneousInitiations,
  QueueDrops,
  CookieRepliesSent,
}
const COUNT_SLOTS = 9
/** Drop codes are -1..-MAX_DROP. */
const MAX_DROP = 14

export class Counters {
  readonly counts = new Float64Array(COUNT_SLOTS)
  /** Indexed by -code. */
  readonly drops = new Float64Array(MAX_DROP + 1)

  drop(code: number): void {
    const i = -code
    if (i >= 1 && i <= MAX_DROP) this.drops[i]++
  }

  snapshot(): CryptoCounters {
    const c = this.counts
    const drops: Record<string, number> = {}
    for (let i = 1; i <= MAX_DROP; i++) drops[CRYPTO_DROP_NAMES[-i]] = this.drops[i]
    return {
      txPackets: c[Count.TxPackets],
      rxPackets: c[Count.RxPackets],
      handshakesInitiated: c[Count.HandshakesInitiated],
      handshakeResponsesSent: c[Count.HandshakeResponsesSent],
      sessionsUp: c[Count.SessionsUp],
      handshakeTimeouts: c[Count.HandshakeTimeouts],
      simultaneousInitiations: c[Count.SimultaneousInitiations],
      queueDrops: c[Count.QueueDrops],
      cookieRepliesSent: c[Count.CookieRepliesSent],
      drops,
    }
  }

  /** Adds `other` into this (for totals). */
  add(other: Counters): void {
    for (let i = 0; i < COUNT_SLOTS; i++) this.counts[i] += other.counts[i]
    for (let i = 0; i <= MAX_DROP; i++) this.drops[i] += other.drops[i]
  }
}
