import { describe, expect, it } from 'vitest'
import { ORIGIN_LOSS_SAMPLES, OriginLoss } from '../../src/probe/origin-loss.js'
import { LOSS_WINDOW } from '../../src/probe/loss-window.js'
import { seededRandom } from '../../src/route/seeded-random.js'

/** Feeds `count` outcomes, each lost with probability p; returns the highest loss read after any of them. */
function run(loss: OriginLoss, count: number, p: number, rnd: () => number): number {
  let worst = 0
  for (let i = 0; i < count; i++) {
    if (rnd() < p) loss.lost()
    else loss.received()
    worst = Math.max(worst, loss.lossPct())
  }
  return worst
}

describe('origin leg loss', () => {
  it('is over the last ORIGIN_LOSS_SAMPLES probes', () => {
    const l = new OriginLoss(10)
    for (let i = 0; i < ORIGIN_LOSS_SAMPLES; i++) (i % 50 === 0 ? l.lost() : l.received())
    expect(l.lossPct()).toBeCloseTo(2, 6)
    for (let i = 0; i < ORIGIN_LOSS_SAMPLES; i++) l.received()
    expect(l.lossPct()).toBe(0)
  })

  it('never reads over 5% in ten hours of 250 ms probes at 1% loss (a window of 100 did in 28% of hours)', () => {
    const rnd = seededRandom(3)
    expect(run(new OriginLoss(10), 10 * 14_400, 0.01, rnd)).toBeLessThanOrEqual(5)
  })

  it('reads heavy loss over the last LOSS_WINDOW probes, as soon as before', () => {
    const l = new OriginLoss(10)
    for (let i = 0; i < ORIGIN_LOSS_SAMPLES; i++) l.received()
    // 11 losses in the last 100: 11% over 100, only 3.7% over 300.
    for (let i = 0; i < LOSS_WINDOW; i++) (i < 11 ? l.lost() : l.received())
    expect(l.lossPct()).toBeCloseTo(11, 6)
  })

  it('does not call two losses among the first probes after a restart a rate over the limit', () => {
    const l = new OriginLoss(10)
    l.restart()
    for (let i = 0; i < 30; i++) (i === 5 || i === 6 ? l.lost() : l.received())
    expect(l.lossPct()).toBe(2)
  })
})
