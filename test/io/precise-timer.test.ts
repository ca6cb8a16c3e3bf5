import { expect, it } from 'vitest'
import { openPreciseTimer, preciseTimerAvailable } from '../../src/io/precise-timer.js'
import { describeIf, needsAvailable } from '../support/requirements.js'

const avail = preciseTimerAvailable()

describeIf(needsAvailable('the precise timer addon', avail), 'precise timer (timerfd on the Node loop)', () => {
  it('fires once, not before the requested delay', async () => {
    let fired = 0
    const t0 = performance.now()
    let at = 0
    const timer = openPreciseTimer(() => {
      fired++
      at = performance.now() - t0
    })
    timer.arm(2.5)
    await new Promise((r) => setTimeout(r, 40))
    timer.close()
    expect(fired).toBe(1)
    expect(at).toBeGreaterThanOrEqual(2.5)
  })

  it('re-arming replaces the pending expiry', async () => {
    const fires: number[] = []
    const t0 = performance.now()
    const timer = openPreciseTimer(() => fires.push(performance.now() - t0))
    timer.arm(1)
    timer.arm(15)
    await new Promise((r) => setTimeout(r, 60))
    timer.close()
    expect(fires).toHaveLength(1)
    expect(fires[0]).toBeGreaterThanOrEqual(15)
  })

  it('does not fire after disarm, and a zero or negative delay fires on the next turn', async () => {
    let fired = 0
    const timer = openPreciseTimer(() => fired++)
    timer.arm(5)
    timer.disarm()
    await new Promise((r) => setTimeout(r, 30))
    expect(fired).toBe(0)
    timer.arm(-3)
    await new Promise((r) => setTimeout(r, 10))
    expect(fired).toBe(1)
    timer.close()
  })

  it('can be closed from inside its own callback, and arming after close is a no-op', async () => {
    let fired = 0
    const timer = openPreciseTimer(() => {
      fired++
      timer.close()
    })
    timer.arm(0)
    await new Promise((r) => setTimeout(r, 10))
    timer.arm(0)
    await new Promise((r) => setTimeout(r, 10))
    expect(fired).toBe(1)
  })

  it('does not keep the process alive while disarmed', async () => {
    const { spawnSync } = await import('node:child_process')
    const url = new URL('../../src/io/precise-timer.ts', import.meta.url).href
    // The child arms and disarms, then has nothing else to do: it must exit on its own.
    const code = `import('${url.replace('/src/', '/dist/src/').replace(/\.ts$/, '.js')}').then(({ openPreciseTimer }) => { const t = openPreciseTimer(() => {}); t.arm(50); t.disarm() })`
    const r = spawnSync(process.execPath, ['-e', code], { timeout: 10_000 })
    expect(r.status).toBe(0)
  })
})
