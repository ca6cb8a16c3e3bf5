/**
 * Sans-IO core of the WAN emulator: the state of every directed PoP pair
 * and the decision for one packet (drop, or the time to release it), made
 * by the shared link model (src/io/link-model.ts: exponential jitter, FIFO
 * per direction, loss, cuts).
 */
import { DROP, decideRelease } from '../../src/io/link-model.js'
import type { DirectedLink, LinkEvent, LinkState } from '../scenario/index.js'

export { DROP }

export class LinkTable {
  private readonly base: LinkState[]
  private readonly state: LinkState[]
  /** Release time of the last packet per direction, for FIFO under jitter. */
  private readonly lastDueMs: Float64Array
  readonly dropped: Float64Array
  readonly passed: Float64Array

  constructor(readonly pops: readonly string[], links: readonly DirectedLink[], private readonly random: () => number = Math.random) {
    const n = pops.length
    const idx = new Map(pops.map((p, i) => [p, i]))
    this.base = Array.from({ length: n * n }, () => ({ delayMs: 0, jitterMs: 0, lossPct: 0, down: false }))
    for (const l of links) this.base[idx.get(l.from)! * n + idx.get(l.to)!] = { delayMs: l.delayMs, jitterMs: l.jitterMs, lossPct: l.lossPct, down: false }
    this.state = this.base.map((s) => ({ ...s }))
    this.lastDueMs = new Float64Array(n * n)
    this.dropped = new Float64Array(n * n)
    this.passed = new Float64Array(n * n)
  }

  /** Release time for a packet from PoP `src` to PoP `dst` read at `nowMs`, or DROP. */
  decide(src: number, dst: number, nowMs: number): number {
    const k = src * this.pops.length + dst
    const due = decideRelease(this.state[k], nowMs, this.lastDueMs[k], this.random)
    if (due === DROP) {
      this.dropped[k]++
      return DROP
    }
    this.lastDueMs[k] = due
    this.passed[k]++
    return due
  }

  apply(e: LinkEvent): void {
    const n = this.pops.length
    const k = this.pops.indexOf(e.from) * n + this.pops.indexOf(e.to)
    if (k < 0 || !this.state[k]) return
    if (e.action === 'cut') this.state[k].down = true
    else if (e.action === 'restore') this.state[k] = { ...this.base[k] }
    else this.state[k] = { ...this.state[k], ...e.set }
  }

  get(from: string, to: string): LinkState {
    return { ...this.state[this.pops.indexOf(from) * this.pops.length + this.pops.indexOf(to)] }
  }
}
