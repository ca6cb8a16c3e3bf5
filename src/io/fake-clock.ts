import type { Clock, TimerHandle, Timers } from './index.js'

interface Pending {
  atMs: number
  seq: number
  fn: () => void
  cancelled: boolean
}

/**
 * A deterministic clock and timer queue for tests and the simulator. Time only
 * moves when `advance` or `runUntil` is called; timers fire in (time, insertion)
 * order, so runs are reproducible.
 */
export class FakeClock implements Clock, Timers {
  private now: number
  private seq = 0
  private heap: Pending[] = []

  constructor(startMs = 0) {
    this.now = startMs
  }

  nowMs(): number {
    return this.now
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const entry: Pending = { atMs: this.now + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false }
    this.push(entry)
    return entry
  }

  clearTimeout(handle: TimerHandle): void {
    ;(handle as Pending).cancelled = true
  }

  /** Runs every timer due up to now + ms, then sets the clock to now + ms. */
  advance(ms: number): void {
    this.runUntil(this.now + ms)
  }

  runUntil(targetMs: number): void {
    while (this.heap.length > 0 && this.heap[0].atMs <= targetMs) {
      const next = this.pop()
      if (next.cancelled) continue
      this.now = Math.max(this.now, next.atMs)
      next.fn()
    }
    this.now = Math.max(this.now, targetMs)
  }

  pendingTimers(): number {
    return this.heap.filter((p) => !p.cancelled).length
  }

  private less(a: Pending, b: Pending): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq)
  }

  private push(entry: Pending): void {
    const h = this.heap
    h.push(entry)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(h[i], h[parent])) break
      ;[h[i], h[parent]] = [h[parent], h[i]]
      i = parent
    }
  }

  private pop(): Pending {
    const h = this.heap
    const top = h[0]
    const last = h.pop()!
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && this.less(h[l], h[m])) m = l
        if (r < h.length && this.less(h[r], h[m])) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m], h[i]]
        i = m
      }
    }
    return top
  }
}
