import { describe, expect, it } from 'vitest'
import { DROP, decideRelease, dropsPacket, releaseAtMs, type LinkParams } from '../../src/io/link-model.js'
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
