/**
 * Sans-IO core of the WAN emulator: the state of every directed PoP pair
 * and the decision for one packet (drop, or the time to release it), made
 * by the shared link model (src/io/link-model.ts: exponential jitter, FIFO
 * per direction, independent or Gilbert-Elliott loss, cuts).
 */
import { DROP, decideRelease, gilbertForLoss, newLossChain, type LinkParams, type LossChain } from '../../src/io/link-model.js'
import type { DirectedLink, LinkEvent, LinkState } from '../scenario/index.js'

export { DROP }

/** The link model's parameters for a direction's state: a bursty link gets its Gilbert-Elliott chain. */
export function linkParams(s: LinkState): LinkParams {
  const params: LinkParams = { delayMs: s.delayMs, jitterMs: s.jitterMs, lossPct: s.lossPct, down: s.down }
  const burst = s.burstPackets ?? 0
  if (burst > 0 && s.lossPct > 0) {
    // A loss at or above the loss inside a burst would need a chain that is always bad: hold it just below.
    const inBurst = s.burstLossPct ?? 100
    params.gilbertElliott = gilbertForLoss(Math.min(s.lossPct, inBurst * 0.999), Math.max(1, burst), inBurst)
  }
  return params
}

/** A direction's state after event `e` (`base` is the scenario's value, for restore). */
export function applyEvent(state: LinkState, base: LinkState, e: LinkEvent): LinkState {
  if (e.action === 'cut') return { ...state, down: true }
  if (e.action === 'restore') return { ...base }
  const next = { ...state, ...e.set }
  if (e.delayFactor !== undefined) next.delayMs = state.delayMs * e.delayFactor
  return next
}

export class LinkTable {
  private readonly base: LinkState[]
  private readonly state: LinkState[]
  private readonly params: LinkParams[]
  /** Gilbert-Elliott state per direction (used while the direction is bursty). */
  private readonly chains: LossChain[]
  /** Release time of the last packet per direction, for FIFO under jitter. */
  private readonly lastDueMs: Float64Array
  readonly dropped: Float64Array
  readonly passed: Float64Array

  constructor(readonly pops: readonly string[], links: readonly DirectedLink[], private readonly random: () => number = Math.random) {
    const n = pops.length
    const idx = new Map(pops.map((p, i) => [p, i]))
    this.base = Array.from({ length: n * n }, () => ({ delayMs: 0, jitterMs: 0, lossPct: 0, down: false }))
    for (const l of links) {
      const { from: _from, to: _to, ...state } = l
      this.base[idx.get(l.from)! * n + idx.get(l.to)!] = { ...state, down: false }
    }
    this.state = this.base.map((s) => ({ ...s }))
    this.params = this.state.map(linkParams)
    this.chains = this.state.map(newLossChain)
    this.lastDueMs = new Float64Array(n * n)
    this.dropped = new Float64Array(n * n)
    this.passed = new Float64Array(n * n)
  }

  /** Release time for a packet from PoP `src` to PoP `dst` read at `nowMs`, or DROP. */
  decide(src: number, dst: number, nowMs: number): number {
    const k = src * this.pops.length + dst
    const due = decideRelease(this.params[k], nowMs, this.lastDueMs[k], this.random, this.random, this.chains[k])
    if (due === DROP) {
      this.dropped[k]++
      return DROP
    }
    this.lastDueMs[k] = due
    this.passed[k]++
    return due
  }

  apply(e: LinkEvent): void {
    const from = this.pops.indexOf(e.from)
    const to = this.pops.indexOf(e.to)
    if (from < 0 || to < 0) return
    const k = from * this.pops.length + to
    this.state[k] = applyEvent(this.state[k], this.base[k], e)
    this.params[k] = linkParams(this.state[k])
  }

  get(from: string, to: string): LinkState {
    return { ...this.state[this.pops.indexOf(from) * this.pops.length + this.pops.indexOf(to)] }
  }
}
