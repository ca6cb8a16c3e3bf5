import { DELAY_FILTER_DOUBLES, DelayFilter } from './delay-filter.js'
import { FAST_LOSS_CLEAR_PROBES, FAST_LOSS_DOUBLES, FAST_LOSS_REORDER, FastLoss } from './fast-loss.js'
import { LOSS_WINDOW, LOSS_WINDOW_DOUBLES, LossRecord, LossWindow } from './loss-window.js'
import { OFFSET_FILTER_DOUBLES, OffsetFilter } from './offset-filter.js'
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
// The edge's own state, in doubles from its base in the store.
const PEER_BOOT = 0
const UP = 1
const LAST_RX = 2
const CONSECUTIVE = 3
const ECHO_SEQ = 4
const ECHO_TX = 5
const ECHO_RX = 6
/** 1 when the newest probe had the FAST flag (the sender probes us at its fast interval). */
const SENDER_FAST = 7
/** Our clock at the last probe that fed the delay and offset filters. */
const LAST_DELAY_RX = 8
/** The highest received sequence number fed to the fast loss detector (see FAST_LOSS_REORDER). */
const FAST_FED = 9
/** Where the owner's doubles start (see `ownerAt`). */
const OWNER_AT = 10
/** Doubles kept for the edge's owner (the router's per-edge flood bookkeeping) next to the hot state. */
export const INBOUND_OWNER_DOUBLES = 4
// Then its estimators: the small, every-probe parts first (see DelayFilter).
const LOSS_AT = OWNER_AT + INBOUND_OWNER_DOUBLES
const FAST_AT = LOSS_AT + LOSS_WINDOW_DOUBLES
const DELAY_AT = FAST_AT + FAST_LOSS_DOUBLES
const OFFSET_AT = DELAY_AT + DELAY_FILTER_DOUBLES
/** Doubles one InboundEdge takes in a shared store, rounded up to whole 64-byte lines. */
export const INBOUND_EDGE_DOUBLES = (OFFSET_AT + OFFSET_FILTER_DOUBLES + 7) & ~7

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
 *
 * All state, the estimators' included, lives in one block of `store` at
 * [base, base + INBOUND_EDGE_DOUBLES): the prober gives each peer's edge a
 * block of one array, so a probe touches a few adjacent cache lines of one
 * allocation (it touched about twenty scattered ones as separate objects,
 * boxed number fields and rings: docs/simulator.md, Run time).
 */
export class InboundEdge {
  readonly delay: DelayFilter
  readonly loss: LossWindow
  /** Runs of lost probes while up (see fast-loss.ts); reset with the loss window. */
  readonly fastLoss: FastLoss
  readonly offset: OffsetFilter
  private readonly s: Float64Array
  private readonly b: number
  /**
   * The owner's INBOUND_OWNER_DOUBLES doubles are `store[ownerAt ..]`: state
   * it reads on every probe of this edge sits in the cache lines the probe
   * just brought in. The edge never reads or resets them (zero at first).
   */
  readonly store: Float64Array
  readonly ownerAt: number

  constructor(store?: Float64Array, base = 0) {
    const s = (this.s = this.store = store ?? new Float64Array(INBOUND_EDGE_DOUBLES))
    this.b = base
    this.ownerAt = base + OWNER_AT
    this.loss = new LossWindow(s, base + LOSS_AT)
    this.fastLoss = new FastLoss(s, base + FAST_AT)
    this.delay = new DelayFilter(s, base + DELAY_AT)
    this.offset = new OffsetFilter(s, base + OFFSET_AT)
    s[base + PEER_BOOT] = -1
    s[base + ECHO_SEQ] = 0
    this.clear()
  }

  get peerBootId(): number {
    return this.s[this.b + PEER_BOOT]
  }

  get up(): boolean {
    return this.s[this.b + UP] === 1
  }

  /** Our clock when the last fresh probe arrived; NaN when never heard. */
  get lastRxMs(): number {
    return this.s[this.b + LAST_RX]
  }

  // Echo state for our next probe to this peer (the newest probe we got from it).
  get echoSeq(): number {
    return this.s[this.b + ECHO_SEQ]
  }

  get echoTxMs(): number {
    return this.s[this.b + ECHO_TX]
  }

  get echoRxMs(): number {
    return this.s[this.b + ECHO_RX]
  }

  /** The sender probes us at its fast interval (it sends us data; probe-rate.ts): silence counts after FAST_DOWN_AFTER_MS. */
  get senderFast(): boolean {
    return this.s[this.b + SENDER_FAST] === 1
  }

  get heard(): boolean {
    const t = this.s[this.b + LAST_RX]
    return t === t
  }

  /** Forget everything (the peer restarted: its sequence numbers and clock are new). */
  reset(): void {
    this.delay.reset()
    this.loss.reset()
    this.fastLoss.reset()
    this.offset.reset()
    this.clear()
  }

  private clear(): void {
    const s = this.s
    const b = this.b
    s[b + UP] = 0
    s[b + LAST_RX] = NaN
    s[b + CONSECUTIVE] = 0
    s[b + ECHO_TX] = NaN
    s[b + ECHO_RX] = NaN
    s[b + SENDER_FAST] = 0
    s[b + LAST_DELAY_RX] = -Infinity
  }

  /**
   * Takes one decoded probe received at `nowMs`. `myBootId` checks that the
   * echo refers to a probe of ours from this boot. A probe sent at the fast
   * interval (p.fast) feeds the delay and offset filters only when
   * `delaySpacingMs` passed since the last one that did, and its losses
   * clear the fast loss detector after `fastClearProbes` clean numbers
   * (the same time as FAST_LOSS_CLEAR_PROBES at the normal interval).
   */
  onProbe(nowMs: number, p: ProbeFields, myBootId: number, delaySpacingMs = 0, fastClearProbes = FAST_LOSS_CLEAR_PROBES): ProbeVerdict {
    const s = this.s
    const b = this.b
    if (p.bootId !== s[b + PEER_BOOT]) {
      this.reset()
      s[b + PEER_BOOT] = p.bootId
    }
    // Same boot id but sequence numbers far behind while we hear nothing: the
    // peer restarted without a fresh boot id. Start over rather than drop forever.
    if (s[b + UP] !== 1 && this.loss.highest - p.seq >= LOSS_WINDOW) this.reset()
    const prevHi = this.loss.highest
    const rec = this.loss.record(p.seq)
    if (rec === LossRecord.Duplicate) return ProbeVerdict.Duplicate
    if (rec === LossRecord.TooOld) return ProbeVerdict.TooOld
    const sample = !p.fast || !(nowMs - s[b + LAST_DELAY_RX] < delaySpacingMs)
    if (sample) {
      this.delay.add(nowMs - p.txMs)
      s[b + LAST_DELAY_RX] = nowMs
    }
    if (p.seq > prevHi) {
      if (s[b + UP] === 1) this.feedFastLoss(p.seq, p.fast ? fastClearProbes : FAST_LOSS_CLEAR_PROBES)
      s[b + SENDER_FAST] = p.fast ? 1 : 0
      s[b + CONSECUTIVE] = p.seq === prevHi + 1 ? s[b + CONSECUTIVE] + 1 : 1
      s[b + ECHO_SEQ] = p.seq
      s[b + ECHO_TX] = p.txMs
      s[b + ECHO_RX] = nowMs
      if (sample && p.hasEcho && p.echoBootId === myBootId) this.offset.add(p.echoTxMs, p.echoRxMs, p.txMs, nowMs)
    }
    s[b + LAST_RX] = nowMs
    if (s[b + UP] !== 1 && s[b + CONSECUTIVE] >= UP_AFTER_PROBES) {
      s[b + UP] = 1
      restartLossAt(this.loss, p.seq)
      this.fastLoss.reset(false)
      s[b + FAST_FED] = p.seq
    }
    return ProbeVerdict.Accepted
  }

  /**
   * The fast loss detector judges a number only once FAST_LOSS_REORDER
   * newer ones arrived: it is fed, in order, each received number up to
   * `hi` - FAST_LOSS_REORDER, and the numbers in between that never
   * arrived are its losses. A probe that a pair's partner overtook is then
   * no loss.
   */
  private feedFastLoss(hi: number, clearProbes: number): void {
    const s = this.s
    const b = this.b
    const settled = hi - FAST_LOSS_REORDER
    let fed = s[b + FAST_FED]
    // Numbers the loss window has moved past are unknown: lost, as the gap they were.
    for (let q = Math.max(fed + 1, hi - LOSS_WINDOW + 1); q <= settled; q++) {
      if (!this.loss.holds(q)) continue
      this.fastLoss.advance(fed, q, clearProbes)
      fed = q
    }
    s[b + FAST_FED] = fed
  }

  /** Marks the edge down when nothing arrived for `downAfterMs`. Returns true when that changed it. */
  checkSilence(nowMs: number, downAfterMs: number): boolean {
    const s = this.s
    const b = this.b
    if (s[b + UP] !== 1 || nowMs - s[b + LAST_RX] <= downAfterMs) return false
    s[b + UP] = 0
    s[b + CONSECUTIVE] = 0
    this.fastLoss.reset(false)
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
