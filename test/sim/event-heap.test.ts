import { describe, expect, it } from 'vitest'
import { EventHeap, SLOT_SPAN } from '../../src/sim/event-heap.js'
import { Rng } from '../../src/sim/prng.js'

describe('EventHeap', () => {
  it('pops in (time, insertion order) against a sorted reference, interleaving pushes and pops', () => {
    const rng = new Rng(7)
    const heap = new EventHeap(4) // small, so it grows several times
    const ref: { t: number; seq: number; slot: number }[] = []
    let seq = 0
    let now = 0
    for (let step = 0; step < 20_000; step++) {
      if (ref.length === 0 || rng.next() < 0.55) {
        // Coarse times make many ties, which must come out in push order.
        const t = now + Math.floor(rng.uniform(0, 20))
        const slot = rng.int(1000)
        heap.push(t, slot)
        ref.push({ t, seq: seq++, slot })
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
    heap.push(5, 3)
    expect(heap.pop()).toBe(3)
    expect(heap.pop()).toBe(-1)
  })

  it('rejects a slot outside the packed key range', () => {
    const heap = new EventHeap()
    expect(() => heap.push(1, SLOT_SPAN)).toThrow(RangeError)
    expect(() => heap.push(1, -1)).toThrow(RangeError)
  })
})
