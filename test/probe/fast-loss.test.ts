import { describe, expect, it } from 'vitest'
import { FAST_LOSS_CLEAR_PROBES, FAST_LOSS_WINDOW, FastLoss } from '../../src/probe/fast-loss.js'

/** Feeds received sequence numbers in order; returns the detector's state after each. */
function run(received: number[]): boolean[] {
  const f = new FastLoss()
  let hi = received[0]
  return received.slice(1).map((seq) => {
    f.advance(hi, seq)
    hi = seq
    return f.tripped
  })
}

function receivedExcept(n: number, lost: number[]): number[] {
  return Array.from({ length: n }, (_, i) => i).filter((s) => !lost.includes(s))
}

describe('fast loss detector', () => {
  it('never trips on isolated single losses', () => {
    const lost = [10, 10 + FAST_LOSS_WINDOW + 1, 10 + 2 * (FAST_LOSS_WINDOW + 1)]
    expect(run(receivedExcept(200, lost)).some((t) => t)).toBe(false)
  })

  it('trips at the second loss within the window', () => {
    const states = run(receivedExcept(100, [10, 10 + FAST_LOSS_WINDOW - 1]))
    // states[k] is after receiving the (k+1)-th number of the list
    const list = receivedExcept(100, [10, 10 + FAST_LOSS_WINDOW - 1]).slice(1)
    const tripAt = list[states.indexOf(true)]
    expect(tripAt).toBe(10 + FAST_LOSS_WINDOW)
  })

  it('trips at once on two consecutive losses', () => {
    const list = receivedExcept(50, [20, 21])
    const states = run(list)
    expect(list.slice(1)[states.indexOf(true)]).toBe(22)
  })

  it('clears only after FAST_LOSS_CLEAR_PROBES clean numbers', () => {
    const list = receivedExcept(200, [20, 21])
    const states = run(list).map((t, k) => [list[k + 1], t] as const)
    const cleared = states.find(([seq, t]) => seq > 22 && !t)![0]
    expect(cleared).toBe(21 + FAST_LOSS_CLEAR_PROBES + 1)
  })

  it('asks for a third loss within the window on an edge that has been losing ~1% all along', () => {
    // 1% background: one loss every 100 numbers for 2000 numbers, then two 20 apart.
    const bgLost = Array.from({ length: 20 }, (_, i) => 50 + i * 100)
    const list = receivedExcept(2200, [...bgLost, 2100, 2120, 2125])
    const f = new FastLoss()
    let hi = list[0]
    let tripAt = -1
    for (const seq of list.slice(1)) {
      f.advance(hi, seq)
      hi = seq
      if (f.tripped && tripAt < 0) tripAt = seq
    }
    expect(f.background).toBeGreaterThan(0.005)
    expect(tripAt).toBe(2126)
  })

  // The first losses of a new sustained loss are not background: when they
  // counted (a 30 s EWMA), two losses more than a window apart lifted it
  // over 0.5% and 5% loss then needed three within a window to trip.
  it('trips at two losses within the window on a clean edge whose earlier losses were the same new loss', () => {
    const list = receivedExcept(200, [10, 10 + FAST_LOSS_WINDOW + 10, 100, 110])
    const states = run(list)
    expect(list.slice(1)[states.indexOf(true)]).toBe(111)
  })

  it('stays tripped under sustained 10% loss', () => {
    const lost = Array.from({ length: 30 }, (_, i) => 5 + i * 10)
    const states = run(receivedExcept(300, lost))
    expect(states.slice(40, 280).every((t) => t)).toBe(true)
  })
})
