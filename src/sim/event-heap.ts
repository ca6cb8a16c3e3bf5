/**
 * The simulator's event queue: a 4-ary min-heap on one typed array, keyed by
 * (time, order) where `order` is chosen by the caller. The simulator makes
 * it (sender's own sequence, sender), which does not depend on which thread
 * or in what global order events were scheduled, so a run split over two
 * event loops pops each relay's events in the same order as one loop does.
 * It stores only an integer slot id per event; the caller keeps the event's
 * fields in its own typed arrays, so tens of millions of events cost no
 * per-event objects or closures.
 *
 * Layout: entry i is two doubles at [2i, 2i+1] = (timeMs, order * SLOT_SPAN
 * + slot). Orders of events at the same time are unique, so comparing the
 * packed second key compares orders, and one entry is read with one cache
 * line instead of three arrays. Four children per node halve the depth of a
 * binary heap (~8 levels instead of ~16 at 50k events in flight), and a
 * node's four children are 64 contiguous bytes.
 */

/** Slots are below this (2^20); order * SLOT_SPAN + slot stays an exact double while order < ORDER_SPAN. */
export const SLOT_SPAN = 0x10_0000
/** Orders are below this (2^33). */
export const ORDER_SPAN = 0x2_0000_0000
const ARITY = 4

export class EventHeap {
  private e: Float64Array
  size = 0

  constructor(capacity = 1 << 16) {
    this.e = new Float64Array(2 * capacity)
  }

  push(timeMs: number, slot: number, order: number): void {
    // Control path errors: a run this wide would silently lose the tie order.
    if (!(slot >= 0 && slot < SLOT_SPAN)) throw new RangeError(`event slot ${slot} outside [0, ${SLOT_SPAN})`)
    if (!(order >= 0 && order < ORDER_SPAN)) throw new RangeError(`event order ${order} outside [0, ${ORDER_SPAN})`)
    this.pushKey(timeMs, order * SLOT_SPAN + slot)
  }

  /** Pushes an entry whose packed key (order * SLOT_SPAN + slot) is already made. */
  pushKey(timeMs: number, key: number): void {
    if (2 * this.size === this.e.length) this.grow()
    const e = this.e
    let i = this.size++
    while (i > 0) {
      const p = ((i - 1) / ARITY) | 0
      const pt = e[2 * p]
      if (pt < timeMs || (pt === timeMs && e[2 * p + 1] < key)) break
      e[2 * i] = pt
      e[2 * i + 1] = e[2 * p + 1]
      i = p
    }
    e[2 * i] = timeMs
    e[2 * i + 1] = key
  }

  /** Time of the earliest event; Infinity when empty. */
  peekTimeMs(): number {
    return this.size === 0 ? Infinity : this.e[0]
  }

  /** Packed key of the earliest event (undefined when empty). */
  peekKey(): number {
    return this.e[1]
  }

  /** Removes the earliest event and returns its slot (-1 when empty). */
  pop(): number {
    if (this.size === 0) return -1
    const e = this.e
    const top = e[1] % SLOT_SPAN
    const n = --this.size
    if (n === 0) return top
    const lt = e[2 * n]
    const lk = e[2 * n + 1]
    let i = 0
    for (;;) {
      const first = ARITY * i + 1
      if (first >= n) break
      // The smallest of up to four children.
      let m = first
      let mt = e[2 * first]
      let mk = e[2 * first + 1]
      const last = first + ARITY < n ? first + ARITY : n
      for (let c = first + 1; c < last; c++) {
        const ct = e[2 * c]
        if (ct < mt || (ct === mt && e[2 * c + 1] < mk)) {
          m = c
          mt = ct
          mk = e[2 * c + 1]
        }
      }
      if (lt < mt || (lt === mt && lk < mk)) break
      e[2 * i] = mt
      e[2 * i + 1] = mk
      i = m
    }
    e[2 * i] = lt
    e[2 * i + 1] = lk
    return top
  }

  private grow(): void {
    const next = new Float64Array(this.e.length * 2)
    next.set(this.e)
    this.e = next
  }
}
