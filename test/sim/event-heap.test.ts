import { describe, expect, it } from 'vitest'
import { EventHeap, ORDER_SPAN, SLOT_SPAN } from '../../src/sim/event-heap.js'
import { Rng } from '../../src/sim/prng.js'

describe('EventHeap', () => {
  it('pops in (time, order) against a sorted reference, interleaving pushes and pops', () => {
    const rng = new Rng(7)
    const heap = new EventHeap(4) // small, so it grows several times
    const ref: { t: number; seq: number; slot: number }[] = []
    let seq = 0
    let now = 0
    for (let step = 0; step < 20_000; step++) {
      if (ref.length === 0 || rng.next() < 0.55) {
        // Coarse times make many ties, which must come out by order, not by push order.
        const t = now + Math.floor(rng.uniform(0, 20))
        const slot = rng.int(1000)
        const order = (seq++ * 7919) % 1_000_003
        heap.push(t, slot, order)
        ref.push({ t, seq: order, slot })
      } else {
        ref.sort((a, b) => a.t - b.t || a.seq - b.seq)
        const want = ref.shift()!
        expect(heap.peekTimeMs()).toBe(want.t)
        expect(heap.pop()).toBe(want.slot)
        now = want.t
      }
      expect(heap.size).toBe(ref.length)
    }
  })

  it('reports empty as Infinity and -1', () => {
    const heap = new EventHeap()
    expect(heap.peekTimeMs()).toBe(Infinity)
    expect(heap.pop()).toBe(-1)
    heap.push(5, 3, 0)
    expect(heap.pop()).toBe(3)
    expect(heap.pop()).toBe(-1)
  })

  it('rejects a slot outside the packed key range', () => {
    const heap = new EventHeap()
    expect(() => heap.push(1, SLOT_SPAN, 0)).toThrow(RangeError)
    expect(() => heap.push(1, -1, 0)).toThrow(RangeError)
    expect(() => heap.push(1, 0, ORDER_SPAN)).toThrow(RangeError)
  })
})
