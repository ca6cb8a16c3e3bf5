import { LOSS_WINDOW } from './loss-window.js'

/**
 * Origin probes the loss of an origin leg is measured over: 300, 75 s at
 * the default 250 ms interval. The relay edges' 100 (LOSS_WINDOW) is too
 * few for a leg whose verdict moves flows between exits: at 1% probe loss,
 * some window of 100 among an hour's probes holds 6 losses (more than the
 * 5% limit) in 28% of hours, and each time every flow on that exit would
 * move (sticky exits move only when an exit's leg fails). Over 300 it
 * takes 16, which 1% loss does not reach in years. A leg losing heavily is
 * still seen as fast as before: see OriginLoss.lossPct.
 */
export const ORIGIN_LOSS_SAMPLES = 300

/**
 * Loss of an origin leg, from its probes in order (an exit's own samples:
 * never reordered, so a ring of outcomes is enough). Until ORIGIN_LOSS_SAMPLES
 * outcomes are in, losses are divided by at least LOSS_WINDOW: the first
 * probes after the leg came up are not a rate yet (two losses in the first
 * 30 would read 6.7% and move flows).
 */
export class OriginLoss {
  private readonly lostAt = new Uint8Array(ORIGIN_LOSS_SAMPLES)
  /** Outcomes recorded since the last restart. */
  private n = 0
  private lostLong = 0
  private lostShort = 0

  /**
   * @param heavyLossPct over the last LOSS_WINDOW probes, a loss above this
   *   is reported (rather than the loss over ORIGIN_LOSS_SAMPLES), so a leg
   *   losing heavily is seen within ~LOSS_WINDOW probes; the router passes
   *   twice its limit, which 1% loss never reaches (11 of 100).
   */
  constructor(private readonly heavyLossPct = Infinity) {}

  received(): void {
    this.push(0)
  }

  lost(): void {
    this.push(1)
  }

  /** Forget everything (the leg came up: its outage is not loss). */
  restart(): void {
    this.lostAt.fill(0)
    this.n = 0
    this.lostLong = 0
    this.lostShort = 0
  }

  lossPct(): number {
    const short = (100 * this.lostShort) / Math.max(LOSS_WINDOW, Math.min(this.n, LOSS_WINDOW))
    if (short > this.heavyLossPct) return short
    return (100 * this.lostLong) / Math.max(LOSS_WINDOW, Math.min(this.n, ORIGIN_LOSS_SAMPLES))
  }

  private push(lost: 0 | 1): void {
    const i = this.n % ORIGIN_LOSS_SAMPLES
    if (this.n >= ORIGIN_LOSS_SAMPLES) this.lostLong -= this.lostAt[i]
    if (this.n >= LOSS_WINDOW) this.lostShort -= this.lostAt[(this.n - LOSS_WINDOW) % ORIGIN_LOSS_SAMPLES]
    this.lostAt[i] = lost
    this.lostLong += lost
    this.lostShort += lost
    this.n++
  }
}
