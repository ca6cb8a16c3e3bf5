/**
 * Per flow, what each moment of a scenario's events did to it: the
 * scenario's events grouped by time (a cut of both directions of a pair is
 * one moment), and for each moment, over the window until the next moment
 * (or the flow's end), the longest run without delivery, the packets lost
 * each way, and the one-way delay percentiles: "p50 after the event".
 */
import type { Scenario } from '../scenario/index.js'
import { delayInWindow, deliveries, lostInWindow, maxGapAround, type FlowSeries, type WindowDelay } from './series.js'

export interface EventMoment {
  at_ms: number
  /** What happened, e.g. "cut lax>dal, cut dal>lax" or "kill dal". */
  what: string
}

export interface EventFigures extends EventMoment {
  /** [from, to): the packets sent in it count for loss and delay. */
  window_ms: [number, number]
  /** Longest time the client got no reply, over a gap that overlaps the window. */
  gap_ms: number
  /** Longest time the origin got nothing, likewise. */
  forward_gap_ms: number
  lost_forward: number
  lost_reverse: number
  forward: WindowDelay
  reverse: WindowDelay
}

/** The scenario's link and relay events, grouped by time. */
export function eventMoments(s: Scenario): EventMoment[] {
  const byTime = new Map<number, string[]>()
  const add = (at: number, what: string): void => {
    const list = byTime.get(at) ?? []
    list.push(what)
    byTime.set(at, list)
  }
  for (const e of s.events) add(e.atMs, `${e.action}${e.delayFactor !== undefined ? ` x${e.delayFactor}` : ''} ${e.from}>${e.to}`)
  for (const e of s.relayEvents) add(e.atMs, `${e.action} ${e.pop}`)
  for (const e of s.originEvents) add(e.atMs, `${e.action}-origin ${e.exit}>${e.origin}`)
  return [...byTime.entries()].sort((a, b) => a[0] - b[0]).map(([at, what]) => ({ at_ms: at, what: what.join(', ') }))
}

/** Figures for each moment that falls inside the flow (before `endMs`, when its last packet is sent). */
export function eventFigures(series: FlowSeries, moments: readonly EventMoment[], endMs: number): EventFigures[] {
  const atClient = deliveries(series, 'client')
  const atOrigin = deliveries(series, 'origin')
  const out: EventFigures[] = []
  moments.forEach((m, i) => {
    if (m.at_ms >= endMs) return
    const to = Math.min(endMs, moments[i + 1]?.at_ms ?? endMs)
    const lost = lostInWindow(series, m.at_ms, to)
    out.push({
      ...m,
      window_ms: [m.at_ms, to],
      gap_ms: maxGapAround(atClient, m.at_ms, to).gap_ms,
      forward_gap_ms: maxGapAround(atOrigin, m.at_ms, to).gap_ms,
      lost_forward: lost.forward,
      lost_reverse: lost.reverse,
      forward: delayInWindow(series, 'forward', m.at_ms, to),
      reverse: delayInWindow(series, 'reverse', m.at_ms, to),
    })
  })
  return out
}
