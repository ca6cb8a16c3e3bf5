import { DelayFilter } from './delay-filter.js'
import { LOSS_WINDOW, LossRecord, LossWindow } from './loss-window.js'
import { OffsetFilter } from './offset-filter.js'
import type { ProbeFields } from './probe-codec.js'

/** Consecutive in-order probes a down (or new) edge needs before it is up. */
export const UP_AFTER_PROBES = 3

export const enum ProbeVerdict {
  Accepted = 0,
  Duplicate = 1,
  TooOld = 2,
}

/**
 * Everything this relay knows about one directed edge peer -> self, measured
 * at this (receiving) end. Pseudo delays are (our receive time - peer's send
 * time): true delay plus (our clock offset - peer's), exact in path sums.
 *
 * Contract: zero value = "never heard"; `up` starts false (new edges start
 * pessimistic) and turns true after UP_AFTER_PROBES consecutive probes.
 * Loss counts only while up: the window restarts on every down->up
 * transition, so an outage (already punished by `up = false`) is not also
 * held against the edge for the next LOSS_WINDOW probes.
 */
export class InboundEdge {
  readonly delay = new DelayFilter()
  readonly loss = new LossWindow()
  readonly offset = new OffsetFilter()
  peerBootId = -1
  up = false
  /** Our clock when the last fresh probe arrived; NaN when never heard. */
  lastRxMs = NaN
  private consecutive = 0
  // Echo state for our next probe to this peer (the newest probe we got from it).
  echoSeq = 0
  echoTxMs = NaN
  echoRxMs = NaN

  get heard(): boolean {
    return !Number.isNaN(this.lastRxMs)
  }

  /** Forget everything (the peer restarted: its sequence numbers and clock are new). */
  reset(): void {
    this.delay.reset()
    this.loss.reset()
    this.offset.reset()
    this.up = false
    this.lastRxMs = NaN
    this.consecutive = 0
    this.echoTxMs = NaN
    this.echoRxMs = NaN
  }

  /**
   * Takes one decoded probe received at `nowMs`. `myBootId` checks that the
   * echo refers to a probe of ours from this boot.
   */
  onProbe(nowMs: number, p: ProbeFields, myBootId: number): ProbeVerdict {
    if (p.bootId !== this.peerBootId) {
      this.reset()
      this.peerBootId = p.bootId
    }
    // Same boot id but sequence numbers far behind while we hear nothing: the
    // peer restarted without a fresh boot id. Start over rather than drop forever.
    if (!this.up && this.loss.highest - p.seq >= LOSS_WINDOW) this.reset()
    const prevHi = this.loss.highest
    const rec = this.loss.record(p.seq)
    if (rec === LossRecord.Duplicate) return ProbeVerdict.Duplicate
    if (rec === LossRecord.TooOld) return ProbeVerdict.TooOld
    this.delay.add(nowMs - p.txMs)
    if (p.seq > prevHi) {
      this.consecutive = p.seq === prevHi + 1 ? this.consecutive + 1 : 1
      this.echoSeq = p.seq
      this.echoTxMs = p.txMs
      this.echoRxMs = nowMs
      if (p.hasEcho && p.echoBootId === myBootId) this.offset.add(p.echoTxMs, p.echoRxMs, p.txMs, nowMs)
    }
    this.lastRxMs = nowMs
    if (!this.up && this.consecutive >= UP_AFTER_PROBES) {
      this.up = true
      restartLossAt(this.loss, p.seq)
    }
    return ProbeVerdict.Accepted
  }

  /** Marks the edge down when nothing arrived for `downAfterMs`. Returns true when that changed it. */
  checkSilence(nowMs: number, downAfterMs: number): boolean {
    if (!this.up || nowMs - this.lastRxMs <= downAfterMs) return false
    this.up = false
    this.consecutive = 0
    return true
  }
}

/**
 * Restarts `loss` as if it had only seen the UP_AFTER_PROBES consecutive
 * sequence numbers ending at `seq`, which is what brought the edge up.
 */
export function restartLossAt(loss: LossWindow, seq: number): void {
  loss.reset()
  for (let s = Math.max(0, seq - UP_AFTER_PROBES + 1); s <= seq; s++) loss.record(s)
}
