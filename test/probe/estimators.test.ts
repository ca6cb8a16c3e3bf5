import { describe, expect, it } from 'vitest'
import {
  DelayFilter, INITIAL_JITTER_MS, JITTER_WARMUP, MEDIAN_WINDOW, MIN_WINDOW, SHIFT_JITTER_FACTOR, SHIFT_MIN_MS, SHIFT_RUN, SMOOTH_GAIN,
} from '../../src/probe/delay-filter.js'
import { LOSS_WINDOW, LossRecord, LossWindow } from '../../src/probe/loss-window.js'
import { OFFSET_WINDOW, OffsetFilter } from '../../src/probe/offset-filter.js'
import { seededRandom } from '../../src/route/seeded-random.js'

describe('LossWindow', () => {
  it('counts skipped sequence numbers as lost', () => {
    const w = new LossWindow()
    for (const s of [0, 1, 2, 4, 5, 9]) w.record(s)
    expect(w.lossPct()).toBeCloseTo((100 * 4) / 10)
  })

  it('counts a late arrival inside the window once and flags duplicates', () => {
    const w = new LossWindow()
    w.record(0)
    w.record(2)
    expect(w.record(1)).toBe(LossRecord.Fresh)
    expect(w.record(1)).toBe(LossRecord.Duplicate)
    expect(w.lossPct()).toBe(0)
  })

  it('forgets losses older than the window', () => {
    const w = new LossWindow()
    w.record(0)
    w.record(10) // 9 lost
    for (let s = 11; s < 9 + LOSS_WINDOW; s++) w.record(s)
    expect(w.lossPct()).toBeCloseTo(1) // only seq 9 is still inside [9, 108]
    w.record(9 + LOSS_WINDOW)
    expect(w.lossPct()).toBe(0)
    expect(w.record(5)).toBe(LossRecord.TooOld)
  })

  it('handles a gap longer than the window', () => {
    const w = new LossWindow()
    w.record(0)
    w.record(1000)
    expect(w.lossPct()).toBeCloseTo(99)
  })
})

describe('DelayFilter', () => {
  it('ignores a single spike in the smoothed median and keeps the window minimum', () => {
    const f = new DelayFilter()
    const offset = 3_600_000 // pseudo delays carry the clock offset
    for (let i = 0; i < 20; i++) f.add(offset + 10 + (i === 12 ? 200 : 0))
    expect(f.smoothedMs - offset).toBeCloseTo(10, 6)
    expect(f.minMs - offset).toBeCloseTo(10, 6)
  })

  it('computes RFC 3550 jitter from transit differences, independent of the offset', () => {
    const a = new DelayFilter()
    const b = new DelayFilter()
    const transits = [10, 12, 9, 15, 10, 11]
    for (const t of transits) {
      a.add(t)
      b.add(t - 7_200_000)
    }
    // RFC 3550's gain of 1/16, except that the first differences are averaged
    // with the pessimistic prior (gain 1/(i+1)) so the prior fades quickly.
    let j = INITIAL_JITTER_MS
    for (let i = 1; i < transits.length; i++) j += (Math.abs(transits[i] - transits[i - 1]) - j) * Math.max(1 / 16, 1 / (i + 1))
    expect(a.jitterMs).toBeCloseTo(j, 9)
    expect(b.jitterMs).toBeCloseTo(j, 6)
  })

  it('keeps the window minimum and smoothed median of a brute-force scan (seeded, with resets)', () => {
    const rnd = seededRandom(11)
    const f = new DelayFilter()
    let all: number[] = []
    let smoothed = NaN
    let run = 0
    let base = NaN
    let margin = NaN
    let shifts = 0
    const median = (xs: number[]): number => {
      const w = [...xs].sort((a, b) => a - b)
      const k = w.length
      return k % 2 === 1 ? w[(k - 1) / 2] : (w[k / 2 - 1] + w[k / 2]) / 2
    }
    for (let i = 0; i < 3000; i++) {
      if (i % 997 === 500) {
        f.reset()
        all = []
        smoothed = NaN
        run = 0
      }
      // Offsets of hours, repeated values (ties) and spikes.
      const x = 7_200_000 + (i % 13 === 0 ? 10 : Math.floor(rnd() * 40) / 4) + (i % 89 === 0 ? 300 : 0)
      all.push(x)
      const jitterBeforeMs = f.jitterMs
      f.add(x)
      const minWin = all.slice(-MIN_WINDOW)
      const med = median(all.slice(-MEDIAN_WINDOW))
      if (Number.isNaN(smoothed)) smoothed = med
      else {
        // Level shift: SHIFT_RUN samples in a row beyond the margin, on one
        // side of the estimate held when the run began.
        if (run > 0 && x > base + margin) run++
        else if (run < 0 && x < base - margin) run--
        else {
          margin = Math.max(SHIFT_MIN_MS, SHIFT_JITTER_FACTOR * jitterBeforeMs)
          base = smoothed
          run = x > base + margin ? 1 : x < base - margin ? -1 : 0
        }
        if (Math.abs(run) >= SHIFT_RUN) {
          smoothed = median(all.slice(-SHIFT_RUN))
          run = 0
          shifts++
        } else smoothed += (med - smoothed) * SMOOTH_GAIN
      }
      expect(f.minMs).toBe(Math.min(...minWin))
      expect(f.smoothedMs).toBe(smoothed)
    }
    expect(shifts).toBeGreaterThan(0) // the resets start on a spike: the shift rule is exercised
  })

  it('takes a 30% step in SHIFT_RUN samples, up and down, where the EWMA alone needs ~3 s for 95%', () => {
    const f = new DelayFilter()
    const offset = -3_600_000
    for (let i = 0; i < 40; i++) f.add(offset + 10)
    for (let i = 1; i < SHIFT_RUN; i++) {
      f.add(offset + 13)
      expect(f.smoothedMs - offset).toBeLessThan(10.5) // a burst shorter than the run is left to the median
    }
    f.add(offset + 13)
    expect(f.smoothedMs - offset).toBeCloseTo(13, 9)
    for (let i = 0; i < 20; i++) f.add(offset + 13)
    for (let i = 0; i < SHIFT_RUN; i++) f.add(offset + 10)
    expect(f.smoothedMs - offset).toBeCloseTo(10, 9)
  })

  it('never shifts on stationary exponential jitter: the estimate stays the plain smoothed median', () => {
    const rnd = seededRandom(5)
    const jitterMs = 2
    const f = new DelayFilter()
    const win: number[] = []
    let plain = NaN
    for (let i = 0; i < 20_000; i++) {
      // 20_000 probes is ~33 minutes of one edge.
      const x = 7_200_000 + 20 - jitterMs * Math.log(1 - rnd())
      f.add(x)
      win.push(x)
      if (win.length > MEDIAN_WINDOW) win.shift()
      const w = [...win].sort((a, b) => a - b)
      const med = w.length % 2 === 1 ? w[(w.length - 1) / 2] : (w[w.length / 2 - 1] + w[w.length / 2]) / 2
      plain = Number.isNaN(plain) ? med : plain + (med - plain) * SMOOTH_GAIN
      expect(f.smoothedMs).toBe(plain)
    }
    // A real step of 4 jitters is taken within a second (10 probes), not the
    // EWMA's ~2 s; smaller steps may be left to the EWMA (the margin is twice
    // the jitter estimate, which itself wanders by tens of %).
    let steps = 0
    while (f.smoothedMs - 7_200_000 < 20 + 8 && steps < 100) {
      f.add(7_200_000 + 28 - jitterMs * Math.log(1 - rnd()))
      steps++
    }
    expect(steps).toBeLessThanOrEqual(10)
  })

  it('starts pessimistic on jitter', () => {
    const f = new DelayFilter()
    f.add(5)
    expect(f.jitterMs).toBe(INITIAL_JITTER_MS)
  })

  it('drops the pessimistic prior once 16 differences are in: the estimate is then the measured mean', () => {
    const f = new DelayFilter()
    for (let i = 0; i < 16; i++) f.add(5 + (i % 2))
    expect(f.jitterMs).toBeGreaterThan(1) // 15 differences of 1 ms, prior still in
    f.add(5 + (16 % 2))
    expect(f.jitterMs).toBe(1) // 16 differences of 1 ms, prior gone
    f.add(5 + (16 % 2)) // D = 0: plain RFC 3550 from here
    expect(f.jitterMs).toBeCloseTo(1 - 1 / 16, 12)
    const steady = new DelayFilter()
    for (let i = 0; i < 17; i++) steady.add(7_200_000 + 5)
    expect(steady.jitterMs).toBe(0)
  })

  it('lets the pessimistic prior fade within 16 probes on a steady edge', () => {
    const f = new DelayFilter()
    for (let i = 0; i < 17; i++) f.add(5)
    expect(f.jitterMs).toBeLessThanOrEqual(INITIAL_JITTER_MS / 16 + 1e-9)
    for (let i = 0; i < 100; i++) f.add(5 + (i % 2))
    expect(f.jitterMs).toBeGreaterThan(0.5) // then it follows RFC 3550
  })
})

describe('DelayFilter jitter under process stalls (clipped |D|, robust warm-up)', () => {
  /** 0.1 ms of uniform noise around 20 ms, in a pseudo delay carrying an hour of clock offset. */
  const clean = (rnd: () => number) => 3_600_000 + 20 + rnd() * 0.1

  it('keeps a clean edge under 1 ms of jitter when the receiver stalls 400 ms and reads four queued probes at once', () => {
    const rnd = seededRandom(3)
    const f = new DelayFilter()
    for (let i = 0; i < 100; i++) f.add(clean(rnd))
    const before = f.jitterMs
    // Probes sent 100 ms apart, all read when the stall ends: 400, 300, 200, 100 ms late.
    for (const late of [400, 300, 200, 100]) f.add(clean(rnd) + late)
    for (let i = 0; i < 3; i++) f.add(clean(rnd))
    expect(before).toBeLessThan(0.1)
    expect(f.jitterMs).toBeLessThan(1)
    // The RFC 3550 mean would have taken (400 + 100 + 100 + 100 + 100) / 16 = 50 ms from it.
  })

  it('ends the warm-up near the real jitter when the first probes met a start-up stall', () => {
    const rnd = seededRandom(4)
    const f = new DelayFilter()
    f.add(clean(rnd))
    for (const late of [500, 400, 300, 200, 100]) f.add(clean(rnd) + late)
    for (let i = 0; i < JITTER_WARMUP - 5; i++) f.add(clean(rnd))
    expect(f.samples).toBe(JITTER_WARMUP + 1)
    expect(f.jitterMs).toBeLessThan(0.2)
  })

  it('forgets a start-up storm within 2 s of its end: the first 3 s were all stalls', () => {
    for (const seed of [1, 2, 3]) {
      const rnd = seededRandom(seed)
      const f = new DelayFilter()
      for (let i = 0; i < 30; i++) f.add(clean(rnd) + (rnd() < 0.6 ? rnd() * 300 : 0))
      const stormy = f.jitterMs
      let n = 0
      while (f.jitterMs >= 1 && n < 100) {
        f.add(clean(rnd))
        n++
      }
      expect(stormy, `seed ${seed}`).toBeGreaterThan(20)
      // The RFC 3550 mean decays 1/16 a sample: from 20+ ms to 1 ms takes 47+ samples.
      expect(n, `seed ${seed}`).toBeLessThanOrEqual(20)
    }
  })

  it('still shows sustained jitter: 10 ms of new noise on a clean edge is over 5 ms within 40 samples (4 s at the normal interval)', () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const rnd = seededRandom(seed)
      const f = new DelayFilter()
      for (let i = 0; i < 100; i++) f.add(clean(rnd))
      let n = 0
      while (f.jitterMs < 5 && n < 100) {
        f.add(clean(rnd) + rnd() * 30)
        n++
      }
      expect(n, `seed ${seed}`).toBeLessThanOrEqual(40)
      let sum = 0
      for (let i = 0; i < 400; i++) {
        f.add(clean(rnd) + rnd() * 30)
        if (i >= 200) sum += f.jitterMs
      }
      // Uniform [0, 30) noise: E|D| = 10 ms; the clip leaves the steady estimate (averaged: the EWMA itself swings ~1 ms) within a few %.
      expect(sum / 200, `seed ${seed}`).toBeGreaterThan(9)
      expect(sum / 200, `seed ${seed}`).toBeLessThan(11)
    }
  })
})

describe('OffsetFilter', () => {
  it('keeps the minimum-rtt sample of the last window, like a brute-force scan (seeded)', () => {
    const rnd = seededRandom(7)
    const f = new OffsetFilter()
    const all: [number, number][] = []
    for (let i = 0; i < 1000; i++) {
      const sample: [number, number] = [rnd() * 100 - 50, 5 + rnd() * 20 + (i % 97 === 0 ? -4 : 0)]
      all.push(sample)
      f.addSample(sample[0], sample[1])
      const win = all.slice(-OFFSET_WINDOW)
      const best = win.reduce((a, b) => (b[1] < a[1] ? b : a))
      expect(f.rttMs).toBe(best[1])
      expect(f.thetaMs).toBe(best[0])
    }
  })

  // R's clock = true + offR, S's clock = true + offS.
  const offR = 3_600_000
  const offS = -1_800_000
  function exchange(f: OffsetFilter, t: number, dRS: number, dSR: number, residenceMs = 50): void {
    const t1 = t + offR
    const t2 = t + dRS + offS
    const t3 = t2 + residenceMs
    const t4 = t + dRS + residenceMs + dSR + offR
    f.add(t1, t2, t3, t4)
  }

  it('recovers the exact offset on a symmetric exchange', () => {
    const f = new OffsetFilter()
    exchange(f, 0, 20, 20)
    expect(f.thetaMs).toBeCloseTo(offR - offS, 6)
    expect(f.rttMs).toBeCloseTo(40, 6)
  })

  it('keeps the minimum-RTT sample, which queueing disturbed least', () => {
    const f = new OffsetFilter()
    exchange(f, 0, 20, 60) // queued on the way back: theta off by 20
    exchange(f, 100, 21, 21)
    exchange(f, 200, 50, 20)
    expect(f.rttMs).toBeCloseTo(42, 6)
    expect(f.thetaMs).toBeCloseTo(offR - offS, 6)
  })

  it('is off by half the path asymmetry', () => {
    const f = new OffsetFilter()
    exchange(f, 0, 10, 30)
    expect(f.thetaMs - (offR - offS)).toBeCloseTo((30 - 10) / 2, 6)
  })

  it('rejects inconsistent timestamps', () => {
    const f = new OffsetFilter()
    expect(f.add(100, 0, 0, 50)).toBe(false) // t4 before t1
    expect(f.add(0, 10, 5, 20)).toBe(false) // t3 before t2
    expect(Number.isNaN(f.thetaMs)).toBe(true)
  })
})
