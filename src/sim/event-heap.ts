/**
 * The simulator's event queue: a binary min-heap on typed arrays, keyed by
 * (time, insertion sequence) so equal-time events run in the order they were
 * scheduled and every run is reproducible. It stores only an integer slot id
 * per event; the caller keeps the event's fields in its own typed arrays, so
 * tens of millions of events cost no per-event objects or closures.
 */

export class EventHeap {
  private timeMs: Float64Array
  private seq: Float64Array
  private slot: Int32Array
  private nextSeq = 0
  size = 0

  constructor(capacity = 1 << 16) {
    this.timeMs = new Float64Array(capacity)
    this.seq = new Float64Array(capacity)
    this.slot = new Int32Array(capacity)
  }

  push(timeMs: number, slot: number): void {
    if (this.size === this.timeMs.length) this.grow()
    const t = this.timeMs
    const q = this.seq
    const s = this.slot
    const sq = this.nextSeq++
    let i = this.size++
    while (i > 0) {
      const p = (i - 1) >> 1
      if (t[p] < timeMs || (t[p] === timeMs && q[p] < sq)) break
      t[i] = t[p]
      q[i] = q[p]
      s[i] = s[p]
      i = p
    }
    t[i] = timeMs
    q[i] = sq
    s[i] = slot
  }

  /** Time of the earliest event; Infinity when empty. */
  peekTimeMs(): number {
    return this.size === 0 ? Infinity : this.timeMs[0]
  }

  /** Removes the earliest event and returns its slot (-1 when empty). */
  pop(): number {
    if (this.size === 0) return -1
    const t = this.timeMs
    const q = this.seq
    const s = this.slot
    const top = s[0]
    const n = --this.size
    if (n === 0) return top
    const lt = t[n]
    const lq = q[n]
    const ls = s[n]
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      let m = l
      const r = l + 1
      if (r < n && (t[r] < t[l] || (t[r] === t[l] && q[r] < q[l]))) m = r
      if (lt < t[m] || (lt === t[m] && lq < q[m])) break
      t[i] = t[m]
      q[i] = q[m]
      s[i] = s[m]
      i = m
    }
    t[i] = lt
    q[i] = lq
    s[i] = ls
    return top
  }

  private grow(): void {
    const cap = this.timeMs.length * 2
    const t = new Float64Array(cap)
    const q = new Float64Array(cap)
    const s = new Int32Array(cap)
    t.set(this.timeMs)
    q.set(this.seq)
    s.set(this.slot)
    this.timeMs = t
    this.seq = q
    this.slot = s
  }
}
