import { describe, expect, it } from 'vitest'
import { SLOT_SPAN } from '../../src/sim/event-heap.js'
import { EventWheel } from '../../src/sim/event-wheel.js'
import { Rng } from '../../src/sim/prng.js'

describe('EventWheel', () => {
  it('pops in (time, order) against a sorted reference: ties, same-bucket pushes, events beyond the wheel', () => {
    for (const [seed, spanMs, grain] of [
      [1, 3, 0.05], // many ties and pushes into the loaded bucket
      [2, 300, 0.001], // the simulator's range
      [3, 2000, 0.5], // beyond the wheel's 512 ms: the far heap
    ]) {
      const rng = new Rng(seed)
      const q = new EventWheel()
      const ref: { t: number; order: number; slot: number }[] = []
      let now = 0
      let order = 0
      for (let step = 0; step < 20_000; step++) {
        if (ref.length === 0 || rng.next() < 0.55) {
          const t = now + grain * Math.floor(rng.uniform(0, spanMs) / grain)
          const slot = rng.int(1000)
          const o = (order++ * 7919) % 1_000_003
          q.push(t, slot, o)
          ref.push({ t, order: o, slot })
        } else {
          ref.sort((a, b) => a.t - b.t || a.order - b.order)
          const want = ref.shift()!
          expect(q.peekTimeMs()).toBe(want.t)
          expect(q.pop()).toBe(want.slot)
          now = want.t
        }
        expect(q.size).toBe(ref.length)
      }
    }
  })

  it('takes an event earlier than the loaded bucket (a message delivered from the other loop)', () => {
    const q = new EventWheel()
    q.push(10, 1, 0)
    expect(q.peekTimeMs()).toBe(10) // loads the bucket of 10 ms
    q.push(5, 2, 1)
    expect(q.pop()).toBe(2)
    expect(q.pop()).toBe(1)
    expect(q.pop()).toBe(-1)
    expect(q.peekTimeMs()).toBe(Infinity)
  })

  it('rejects a slot outside the packed key range', () => {
    expect(() => new EventWheel().push(1, SLOT_SPAN, 0)).toThrow(RangeError)
  })
})
