import { describe, expect, it } from 'vitest'
import { DROP, decideRelease, dropsPacket, gilbertForLoss, gilbertLossPct, newLossChain, releaseAtMs, type GilbertElliott, type LinkParams } from '../../src/io/link-model.js'
import { seededRandom } from '../../src/route/seeded-random.js'

/** A random source that counts its draws and returns the given values in turn. */
function scripted(...values: number[]): { random: () => number; draws: () => number } {
  let i = 0
  return { random: () => values[i++ % values.length], draws: () => i }
}

describe('link model', () => {
  it('releases a packet after the one-way delay and draws nothing on a clean link', () => {
    const r = scripted(0.5)
    expect(decideRelease({ delayMs: 12.5 }, 100, 0, r.random)).toBe(112.5)
    expect(r.draws()).toBe(0)
  })

  it('drops everything on a cut without drawing', () => {
    const r = scripted(0.99)
    expect(decideRelease({ delayMs: 1, lossPct: 50, jitterMs: 3, down: true }, 0, 0, r.random)).toBe(DROP)
    expect(r.draws()).toBe(0)
  })

  it('drops when the loss draw is under the loss share, then draws no jitter', () => {
    const link: LinkParams = { delayMs: 1, lossPct: 10, jitterMs: 2 }
    const lost = scripted(0.0999)
    expect(decideRelease(link, 0, 0, lost.random)).toBe(DROP)
    expect(lost.draws()).toBe(1)
    const kept = scripted(0.1, 0)
    expect(decideRelease(link, 0, 0, kept.random)).toBe(1)
    expect(kept.draws()).toBe(2)
  })

  it('adds exponential jitter: -mean * ln(1 - u)', () => {
    const u = 0.75
    expect(releaseAtMs({ delayMs: 10, jitterMs: 4 }, 0, 0, () => u)).toBe(10 + -4 * Math.log(1 - u))
  })

  it('draws loss and jitter from separate streams when given two', () => {
    const loss = scripted(0.5)
    const jitter = scripted(0.5)
    decideRelease({ delayMs: 1, lossPct: 1, jitterMs: 1 }, 0, 0, loss.random, jitter.random)
    expect([loss.draws(), jitter.draws()]).toEqual([1, 1])
  })

  it('never lets a jittered packet overtake an earlier one (FIFO), nor leave before its delay (seeded)', () => {
    const random = seededRandom(11)
    const link = { delayMs: 10, jitterMs: 5 }
    let last = 0
    let held = 0
    for (let i = 0; i < 5000; i++) {
      const now = i * 0.5
      const due = decideRelease(link, now, last, random)
      expect(due).toBeGreaterThanOrEqual(last)
      expect(due).toBeGreaterThanOrEqual(now + 10)
      if (due === last) held++
      last = due
    }
    // Jitter of 5 ms mean on packets 0.5 ms apart: FIFO must have held many back.
    expect(held).toBeGreaterThan(100)
  })

  it('lets packets overtake without a previous release time (lastDueMs = -Infinity)', () => {
    expect(releaseAtMs({ delayMs: 5 }, 0, -Infinity, Math.random)).toBe(5)
    expect(releaseAtMs({ delayMs: 5 }, 0, 50, Math.random)).toBe(50)
  })

  it('loses about the configured share, with a jitter mean near jitterMs (seeded)', () => {
    const random = seededRandom(3)
    const link = { delayMs: 0, lossPct: 20, jitterMs: 2 }
    let lost = 0
    let extra = 0
    const n = 20_000
    for (let i = 0; i < n; i++) {
      const due = decideRelease(link, 0, -Infinity, random)
      if (due === DROP) lost++
      else extra += due
    }
    expect(lost / n).toBeGreaterThan(0.18)
    expect(lost / n).toBeLessThan(0.22)
    expect(extra / (n - lost)).toBeGreaterThan(1.9)
    expect(extra / (n - lost)).toBeLessThan(2.1)
  })

  it('decides a drop only from down and lossPct', () => {
    expect(dropsPacket({ delayMs: 1 }, () => 0)).toBe(false)
    expect(dropsPacket({ delayMs: 1, lossPct: 0 }, () => 0)).toBe(false)
    expect(dropsPacket({ delayMs: 1, lossPct: 100 }, () => 0.999)).toBe(true)
  })
})

/** Drops a long seeded packet stream through a chain: the loss rate and the mean run of consecutive losses. */
function lossRuns(ge: GilbertElliott, seed: number, n: number): { lossShare: number; meanRun: number; runs: number } {
  const random = seededRandom(seed)
  const chain = newLossChain()
  const link: LinkParams = { delayMs: 1, gilbertElliott: ge }
  let lost = 0
  let runs = 0
  let inRun = false
  for (let i = 0; i < n; i++) {
    const drop = decideRelease(link, i, -Infinity, random, random, chain) === DROP
    if (drop) lost++
    if (drop && !inRun) runs++
    inRun = drop
  }
  return { lossShare: lost / n, meanRun: lost / Math.max(1, runs), runs }
}

describe('Gilbert-Elliott bursty loss', () => {
  it('loses the stationary share toBad / (toBad + toGood) in runs of 1 / toGood packets on average (seeded)', () => {
    // 5% loss in bursts of 4 packets: toGood = 0.25, toBad = 0.25 * 0.05 / 0.95.
    const ge = gilbertForLoss(5, 4)
    expect(ge.toGood).toBe(0.25)
    expect(ge.toBad / (ge.toBad + ge.toGood)).toBeCloseTo(0.05, 12)
    const r = lossRuns(ge, 21, 400_000)
    expect(r.runs).toBeGreaterThan(4000)
    expect(r.lossShare).toBeGreaterThan(0.047)
    expect(r.lossShare).toBeLessThan(0.053)
    expect(r.meanRun).toBeGreaterThan(3.8)
    expect(r.meanRun).toBeLessThan(4.2)
  })

  it('matches theory across burst lengths and loss rates (seeded)', () => {
    for (const [lossPct, burst, seed] of [[2, 1.5, 1], [10, 8, 2], [1, 20, 3]]) {
      const r = lossRuns(gilbertForLoss(lossPct, burst), seed, 600_000)
      expect(r.lossShare * 100, `${lossPct}% in bursts of ${burst}`).toBeGreaterThan(lossPct * 0.9)
      expect(r.lossShare * 100, `${lossPct}% in bursts of ${burst}`).toBeLessThan(lossPct * 1.1)
      expect(r.meanRun, `${lossPct}% in bursts of ${burst}`).toBeGreaterThan(burst * 0.92)
      expect(r.meanRun, `${lossPct}% in bursts of ${burst}`).toBeLessThan(burst * 1.08)
    }
  })

  it('loses the weighted share with partial loss in both states (Elliott) (seeded)', () => {
    const ge: GilbertElliott = { toBad: 0.02, toGood: 0.1, lossGoodPct: 1, lossBadPct: 50 }
    // Bad 1/6 of the time: 50% / 6 + 1% * 5 / 6 = 9.17%.
    expect(gilbertLossPct(ge)).toBeCloseTo(50 / 6 + 5 / 6, 10)
    const r = lossRuns(ge, 5, 400_000)
    expect(r.lossShare * 100).toBeGreaterThan(gilbertLossPct(ge) * 0.93)
    expect(r.lossShare * 100).toBeLessThan(gilbertLossPct(ge) * 1.07)
    // The same share lost independently would give runs of 1 / (1 - 0.0917) = 1.1 packets; bursts are longer.
    expect(r.meanRun).toBeGreaterThan(1.3)
  })

  it('reaches the target loss for a partial bad state too', () => {
    expect(gilbertLossPct(gilbertForLoss(3, 5, 40))).toBeCloseTo(3, 10)
  })

  it('draws one number per packet for the transition, and a second only for partial loss', () => {
    const whole = scripted(0.5)
    dropsPacket({ delayMs: 1, gilbertElliott: { toBad: 0.1, toGood: 0.2 } }, whole.random, newLossChain())
    expect(whole.draws()).toBe(1)
    const partial = scripted(0.05, 0.5)
    const chain = newLossChain()
    expect(dropsPacket({ delayMs: 1, gilbertElliott: { toBad: 0.1, toGood: 0.2, lossBadPct: 40 } }, partial.random, chain)).toBe(false)
    expect(chain.bad).toBe(true)
    expect(partial.draws()).toBe(2)
  })

  it('leaves independent loss, and its random draws, unchanged when no chain is configured (seeded)', () => {
    const plain: LinkParams = { delayMs: 3, lossPct: 7, jitterMs: 2 }
    const a = seededRandom(9)
    const b = seededRandom(9)
    const chain = newLossChain()
    let lastA = 0
    let lastB = 0
    for (let i = 0; i < 2000; i++) {
      const x = decideRelease(plain, i, lastA, a)
      const y = decideRelease(plain, i, lastB, b, b, chain)
      expect(y).toBe(x)
      if (x !== DROP) lastA = x
      if (y !== DROP) lastB = y
    }
    // A chain configured but not passed (a caller without per-direction state) falls back to lossPct.
    expect(dropsPacket({ delayMs: 1, lossPct: 100, gilbertElliott: { toBad: 0, toGood: 1 } }, () => 0.5)).toBe(true)
  })
})
