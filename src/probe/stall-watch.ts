/**
 * Tells this relay's own stalls from its peers' silence (docs/routing.md,
 * "Own stalls are not silence").
 *
 * A relay that is not running (its event loop blocked, or the process not
 * scheduled on a loaded host) reads no probes, and when it wakes its timers
 * can run the silence check before the socket's waiting probes are read:
 * measured on the live key-rotation test while a lab run held the CPU at
 * real-time priority, relays went 570-920 ms between ticks and declared
 * fast edges down after "silences" of 600-910 ms that were their own.
 *
 * So the prober reports every call it gets (a tick or a received probe)
 * here, with the time by which it expects the next one. The part of a call's
 * gap past that time is *unobserved*: the relay was not watching, and the
 * silence deadlines do not count it (Prober.checkSilence). Only the excess
 * counts, not the whole gap, so a relay that is merely slow (every tick
 * 80 ms late) still sees a dead peer's silence, at 1 - STALL_GAP_MS/gap
 * of the speed at worst, never not at all.
 *
 * Pure: time comes in as `nowMs`.
 */

/**
 * A call this long after the previous one (or after the prober's own next
 * due time, below) was a stall. The driver's 20 ms tick, a timer firing
 * 20-30 ms late on a busy host and the driver's grid rounding (a deadline
 * tick lands on the next 20 ms step) fit in it; the relay process being
 * starved for a scheduling round or more does not.
 */
export const STALL_GAP_MS = 70

/**
 * While an up edge's sender probes us fast (its silence deadline is short),
 * the prober wants a call at least this often (Prober.watchDueMs): a stall
 * is then seen after STALL_GAP_MS at most, and the most of a stall that can
 * count as silence is that, well inside the fast deadline. Probes of a live
 * fast peer arrive every 20 ms and are calls too, so this costs ticks only
 * while such a peer is silent (or with a driver that ticks at deadlines).
 */
export const STALL_WATCH_MS = 40

export class StallWatch {
  /** Time this relay was not watching, summed over its run (ms, this relay's clock). */
  unobservedMs = 0
  /** The next call is expected by this time; later, and the excess was a stall. */
  private expectByMs = Infinity
  private lastCallMs = NaN

  /** A call at `nowMs`: the part of its gap past the expected time is unobserved. */
  arrive(nowMs: number): void {
    if (nowMs > this.expectByMs) this.unobservedMs += nowMs - this.expectByMs
    this.lastCallMs = nowMs
  }

  /**
   * After a call: the next one is due by `dueMs` (the prober's next probe
   * round or silence deadline, which a driver ticking at deadlines may
   * sleep until), or, when `watching`, within STALL_WATCH_MS (the prober
   * asks for that: watchDueMs); either way with the rest of STALL_GAP_MS
   * as grace.
   */
  expectNext(nowMs: number, dueMs: number, watching: boolean): void {
    this.expectByMs = (watching ? nowMs : Math.max(nowMs, dueMs)) + STALL_GAP_MS
  }

  /** While watching, the driver should call again by this time (NaN before the first call). */
  watchDueMs(): number {
    return this.lastCallMs + STALL_WATCH_MS
  }
}
