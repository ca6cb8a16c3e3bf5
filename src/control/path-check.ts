/**
 * A relay's check of the map against its own traffic (the ingress's
 * forward paths, the exit's reply paths) (docs/routing.md,
 * "Path reports"). Probes can look fine on a path that drops or delays data:
 * a broken relay, or a hostile one that answers probes and drops the rest.
 * So for every path this relay sends data on, it compares what the exit
 * reported receiving (wire/path-report.ts) with what it sent and with what
 * the map predicts, and demotes the path when the data fared clearly worse.
 * Sans-IO: fed (nowMs, report, send counters, map prediction); returns verdicts.
 */
import type { SentSlot } from '../dataplane/path-meter.js'
import type { PathPrediction } from '../route/types.js'
import { STAMP_MODULUS, STAMP_UNIT_US, stampDiff } from '../wire/data.js'
import type { PathReport, ReportEntry } from '../wire/path-report.js'

/**
 * Loss is judged per bucket of at least 10 packets: one report interval
 * (500 ms) of a game or call flow, several of a thin one. At 10 packets one
 * loss is 10%, so a single loss never crosses the margin below.
 */
export const MIN_SENT_FOR_LOSS = 10
/**
 * Consecutive bad buckets before a loss verdict. A relay that drops data
 * does so in every bucket while the sender keeps using the path; an outage
 * the probes catch (a cut, a crashed relay) spoils one bucket, and then the
 * sender has left the path (a bucket with no packet sent starts over) or
 * the map shows it broken (not judged).
 */
export const LOSS_BAD_BUCKETS = 2
/**
 * Data loss must exceed the map's predicted loss (summed edge loss) by this
 * many percentage points. Packets in flight when a report is built blur a
 * window by a few packets (a few % at 20-50 packets), and real link loss is
 * the probes' job (their loss detector disqualifies an edge at a few %).
 * 20 points is far above both, and far below what a relay dropping data
 * does (typically all of it).
 */
export const LOSS_EXCESS_PCT = 20
/** Delay samples an interval needs before its minimum means anything. */
export const MIN_DELAY_SAMPLES = 10
/**
 * The interval's minimum data delay (min-filtered, so queueing spikes do
 * not count) is compared with the map's smoothed delay of the same path
 * (summed pseudo delays: exact, no clock offset involved). A healthy path's
 * minimum lies at or below the smoothed value; "clearly worse" is more than
 * 15 ms + 50% of the path's delay + twice its summed jitter above it.
 */
export const DELAY_EXCESS_ABS_MS = 15
export const DELAY_EXCESS_REL = 0.5
/** Consecutive bad intervals (~1 s) before a delay verdict: one slow interval is not a pattern (an outage is not judged either, see judge). */
export const DELAY_BAD_REPORTS = 2
/** A demoted path's edges stay penalised this long; a path demoted again soon after doubles it. */
export const DEMOTION_HOLD_MS = 20_000
export const MAX_DEMOTION_HOLD_MS = 320_000

export type DemotionReason = 'loss' | 'delay'

export interface Verdict {
  /** Relay ids of the path, ingress first. */
  nodes: Uint32Array
  reason: DemotionReason
  /** Measured data loss (%) or minimum delay excess over the map (ms). */
  measured: number
  /** The threshold it crossed (same unit). */
  limit: number
  holdMs: number
}

interface PathState {
  sentAt: number
  recvAt: number
  slotId: number
  /** The open loss bucket: packets sent and received since it began. */
  sent: number
  recv: number
  badLoss: number
  badDelay: number
  holdMs: number
  /** When the last demotion ends (-Infinity: none). */
  demotedUntilMs: number
}

export class PathCheck {
  private readonly states = new Map<number, PathState>()
  readonly demotions = { loss: 0, delay: 0 }

  /**
   * A report from `exitNode`, the far end of the paths it covers. `slots`: this relay's send counters
   * (dataplane/path-meter.ts); `predict`: the map's view of a path, or
   * undefined when it has none (then no delay verdict).
   */
  onReport(nowMs: number, exitNode: number, report: PathReport, slots: Iterable<SentSlot>, predict: (nodes: Uint32Array) => PathPrediction | undefined): Verdict[] {
    const byKey = new Map<number, ReportEntry>()
    for (const e of report.entries) byKey.set(e.pathKey, e)
    const out: Verdict[] = []
    for (const slot of slots) {
      const n = slot.nodes.length
      if (n < 2 || slot.nodes[n - 1] !== exitNode || slot.nodes[0] === exitNode) continue
      const v = this.judge(nowMs, slot, byKey.get(slot.key), predict)
      if (v !== undefined) out.push(v)
    }
    return out
  }

  private judge(nowMs: number, slot: SentSlot, e: ReportEntry | undefined, predict: (nodes: Uint32Array) => PathPrediction | undefined): Verdict | undefined {
    let st = this.states.get(slot.key)
    if (st === undefined) {
      // First report while we send on this path: a baseline only. A path the exit
      // has no slot for has received nothing (from 0), whatever it was sent.
      st = {
        sentAt: slot.sent, recvAt: e?.received ?? 0, slotId: e?.slotId ?? 0,
        sent: 0, recv: 0, badLoss: 0, badDelay: 0, holdMs: DEMOTION_HOLD_MS, demotedUntilMs: -Infinity,
      }
      this.states.set(slot.key, st)
      return undefined
    }
    const dSent = (slot.sent - st.sentAt) >>> 0
    // A new slot id at the exit counts from 0 (the exit forgot an idle path, or restarted).
    const dRecv = e === undefined ? 0 : e.slotId === st.slotId ? (e.received - st.recvAt) >>> 0 : e.received
    st.sentAt = slot.sent
    st.recvAt = e?.received ?? 0
    st.slotId = e?.slotId ?? 0
    const pred = predict(slot.nodes)
    if (dSent === 0 || pred?.up === false || nowMs < st.demotedUntilMs) {
      // Not in use, already broken on the map (the probes handle it), or held: start over.
      reset(st)
      return undefined
    }
    st.sent += dSent
    st.recv += dRecv
    return this.lossVerdict(nowMs, slot, st, pred) ?? this.delayVerdict(nowMs, slot, st, e, pred)
  }

  private lossVerdict(nowMs: number, slot: SentSlot, st: PathState, pred: PathPrediction | undefined): Verdict | undefined {
    if (st.sent < MIN_SENT_FOR_LOSS) return undefined
    const lossPct = Math.max(0, 100 * (1 - st.recv / st.sent))
    st.sent = 0
    st.recv = 0
    const limit = (pred?.lossPct ?? 0) + LOSS_EXCESS_PCT
    if (!(lossPct > limit)) {
      st.badLoss = 0
      return undefined
    }
    if (++st.badLoss < LOSS_BAD_BUCKETS) return undefined
    return this.demote(nowMs, slot, st, 'loss', lossPct, limit)
  }

  private delayVerdict(nowMs: number, slot: SentSlot, st: PathState, e: ReportEntry | undefined, pred: PathPrediction | undefined): Verdict | undefined {
    if (e === undefined || pred === undefined || e.samples < MIN_DELAY_SAMPLES) return undefined
    const predicted = Math.round((pred.pseudoMs * 1000) / STAMP_UNIT_US) & (STAMP_MODULUS - 1)
    const excessMs = (stampDiff(e.minDiff, predicted) * STAMP_UNIT_US) / 1000
    const limit = DELAY_EXCESS_ABS_MS + DELAY_EXCESS_REL * Math.max(0, pred.delayMs) + 2 * pred.jitterMs
    if (!(excessMs > limit)) {
      st.badDelay = 0
      return undefined
    }
    if (++st.badDelay < DELAY_BAD_REPORTS) return undefined
    return this.demote(nowMs, slot, st, 'delay', excessMs, limit)
  }

  private demote(nowMs: number, slot: SentSlot, st: PathState, reason: DemotionReason, measured: number, limit: number): Verdict {
    // Demoted again within a hold of the last one ending: the fault persists, wait longer.
    if (nowMs - st.demotedUntilMs < st.holdMs) st.holdMs = Math.min(2 * st.holdMs, MAX_DEMOTION_HOLD_MS)
    else st.holdMs = DEMOTION_HOLD_MS
    st.demotedUntilMs = nowMs + st.holdMs
    reset(st)
    this.demotions[reason]++
    return { nodes: slot.nodes, reason, measured, limit, holdMs: st.holdMs }
  }

  /** Forgets paths this relay no longer sends on (`live`: keys of the current send slots). */
  retain(live: Set<number>): void {
    for (const k of this.states.keys()) if (!live.has(k)) this.states.delete(k)
  }
}

function reset(st: PathState): void {
  st.sent = 0
  st.recv = 0
  st.badLoss = 0
  st.badDelay = 0
}
