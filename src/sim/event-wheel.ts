/**
 * The simulator's event queue: events in (time, order) order, like
 * EventHeap, but a heap of the ~50k events a 246-relay run has in flight
 * costs ~8 levels of cache misses per pop. Nearly every event is due within
 * a few hundred ms (link delays, tick cadence), so they are first dropped
 * unsorted into time buckets of BUCKET_MS on a wheel of WHEEL_BUCKETS, and
 * only the current bucket's ~100 events sit in a small heap that stays in
 * cache. Events beyond the wheel's span wait in a second heap.
 *
 * Invariant: with `cur` the index (floor(time / BUCKET_MS)) of the loaded
 * bucket, every event of index <= cur is in `now`, one of index in
 * (cur, cur + WHEEL_BUCKETS) is in its bucket or in `far`, a later one in
 * `far`. Loading the next bucket moves it (and far's events of that index)
 * into `now`. Pops come out in exactly the order of one heap.
 */
import { EventHeap, ORDER_SPAN, SLOT_SPAN } from './event-heap.js'

const BUCKET_MS = 0.25
const WHEEL_BUCKETS = 2048
const MASK = WHEEL_BUCKETS - 1
const BUCKET_CAPACITY = 32

export class EventWheel {
  size = 0
  private readonly now = new EventHeap(1024)
  private readonly far = new EventHeap(1024)
  /** Per bucket: (time, key) pairs, unsorted. */
  private readonly items: Float64Array[] = Array.from({ length: WHEEL_BUCKETS }, () => new Float64Array(2 * BUCKET_CAPACITY))
  private readonly count = new Int32Array(WHEEL_BUCKETS)
  /** Events in the wheel's buckets (not in `now` or `far`). */
  private inWheel = 0
  private cur = 0

  push(timeMs: number, slot: number, order: number): void {
    // Control path errors: a run this wide would silently lose the tie order.
    if (!(slot >= 0 && slot < SLOT_SPAN)) throw new RangeError(`event slot ${slot} outside [0, ${SLOT_SPAN})`)
    if (!(order >= 0 && order < ORDER_SPAN)) throw new RangeError(`event order ${order} outside [0, ${ORDER_SPAN})`)
    this.size++
    const key = order * SLOT_SPAN + slot
    const idx = Math.floor(timeMs / BUCKET_MS)
    if (idx <= this.cur) this.now.pushKey(timeMs, key)
    else if (idx - this.cur < WHEEL_BUCKETS) {
      const b = idx & MASK
      let a = this.items[b]
      const c = this.count[b]
      if (2 * c === a.length) {
        const g = new Float64Array(2 * a.length)
        g.set(a)
        a = this.items[b] = g
      }
      a[2 * c] = timeMs
      a[2 * c + 1] = key
      this.count[b] = c + 1
      this.inWheel++
    } else this.far.pushKey(timeMs, key)
  }

  /** Time of the earliest event; Infinity when empty. */
  peekTimeMs(): number {
    if (this.now.size === 0 && !this.load()) return Infinity
    return this.now.peekTimeMs()
  }

  /** Removes the earliest event and returns its slot (-1 when empty). */
  pop(): number {
    if (this.now.size === 0 && !this.load()) return -1
    this.size--
    return this.now.pop()
  }

  /** Loads the next bucket holding events into `now`; false when there are none. */
  private load(): boolean {
    if (this.size === 0) return false
    let next = Infinity
    if (this.inWheel > 0) {
      for (let i = this.cur + 1; ; i++) {
        if (this.count[i & MASK] > 0) {
          next = i
          break
        }
      }
    }
    if (this.far.size > 0) next = Math.min(next, Math.floor(this.far.peekTimeMs() / BUCKET_MS))
    this.cur = next
    const b = next & MASK
    const c = this.count[b]
    // A bucket only holds events of one lap: index in (cur, cur + WHEEL_BUCKETS) when pushed, and cur never passes it.
    if (c > 0) {
      const a = this.items[b]
      for (let i = 0; i < c; i++) this.now.pushKey(a[2 * i], a[2 * i + 1])
      this.count[b] = 0
      this.inWheel -= c
    }
    while (this.far.size > 0 && Math.floor(this.far.peekTimeMs() / BUCKET_MS) <= next) {
      const t = this.far.peekTimeMs()
      const k = this.far.peekKey()
      this.far.pop()
      this.now.pushKey(t, k)
    }
    return this.now.size > 0
  }
}
