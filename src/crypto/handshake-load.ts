/**
 * How much unauthenticated handshake work the responder accepts. An
 * initiation with a valid mac1 costs one X25519 operation (`es`) before we
 * know who sent it, and anyone who knows our public key can make mac1, so:
 *
 *   - Load: more than UNDER_LOAD_INITIATIONS_PER_SECOND mac1-valid
 *     initiations per second (all peers together) puts the endpoint under
 *     load for UNDER_LOAD_HOLD_MS. Under load an initiation must carry a
 *     valid mac2 (cookie.ts) or it only gets a cookie reply.
 *   - Budget: at most PREAUTH_DH_PER_SECOND initiations per second (burst
 *     PREAUTH_DH_BURST) get the DH work at all, cookie or not. It caps the
 *     CPU a flood can take, whatever gets through the cookie check (e.g. an
 *     on-path attacker replaying a real peer's initiation).
 *
 * The per-peer limit (rate-limit.ts) applies later, once the initiation's
 * timestamp has authenticated the peer, so a forger cannot spend it.
 * Sans-IO: every call gets `nowMs`.
 */
import { TokenBucket } from './rate-limit.js'

/** Above this many mac1-valid initiations per second (sustained; also the burst) the responder asks for cookies. */
export const UNDER_LOAD_INITIATIONS_PER_SECOND = 64
/** The endpoint stays under load this long after the rate was last exceeded. */
export const UNDER_LOAD_HOLD_MS = 1_000
/** Initiations per second that get pre-authentication DH work, all peers together. */
export const PREAUTH_DH_PER_SECOND = 128
export const PREAUTH_DH_BURST = 128

export class HandshakeLoad {
  private readonly meter = new TokenBucket(UNDER_LOAD_INITIATIONS_PER_SECOND, UNDER_LOAD_INITIATIONS_PER_SECOND)
  private readonly budget = new TokenBucket(PREAUTH_DH_PER_SECOND, PREAUTH_DH_BURST)
  private underLoadUntilMs = Number.NEGATIVE_INFINITY

  /** Records one mac1-valid initiation; true if the endpoint is now under load. */
  arrive(nowMs: number): boolean {
    if (!this.meter.take(nowMs)) this.underLoadUntilMs = nowMs + UNDER_LOAD_HOLD_MS
    return nowMs < this.underLoadUntilMs
  }

  /** Takes one unit of pre-authentication DH work; false when the budget is spent. */
  takeBudget(nowMs: number): boolean {
    return this.budget.take(nowMs)
  }
}
