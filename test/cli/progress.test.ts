import { describe, expect, it, vi } from 'vitest'
import { createProgress, trackElapsed } from '../../src/cli/progress.js'

const describeSecs = (done: number, total: number) => `${done}/${total} s`

describe('progress display', () => {
  it('redraws one bar in place on a terminal, at most every 100 ms, and clears it when done', () => {
    const out: string[] = []
    let now = 0
    const p = createProgress('sim', 60, describeSecs, { write: (t) => out.push(t), isTTY: true }, () => now, 0)
    p.update(6)
    p.update(12) // within 100 ms: not drawn
    now = 150
    p.update(30)
    p.finish()
    expect(out).toEqual([
      `\r\x1b[Ksim [###...........................]  10% 6/60 s`,
      `\r\x1b[Ksim [###############...............]  50% 30/60 s`,
      '\r\x1b[K',
    ])
  })

  it('prints a plain line per 10% step when not a terminal, and the end only when the run completed', () => {
    const out: string[] = []
    const p = createProgress('sim', 100, describeSecs, { write: (t) => out.push(t), isTTY: false }, () => 0, 0)
    for (let done = 1; done <= 100; done++) p.update(done)
    p.finish()
    expect(out.join('')).not.toContain('\x1b')
    expect(out).toHaveLength(11)
    expect(out[0]).toBe('sim: 1% 1/100 s\n')
    expect(out.at(-1)).toBe('sim: 100% 100/100 s\n')
    const failed: string[] = []
    const q = createProgress('sim', 100, describeSecs, { write: (t) => failed.push(t), isTTY: false }, () => 0, 0)
    q.update(50)
    q.finish(false)
    expect(failed).toEqual(['sim: 50% 50/100 s\n'])
  })

  it('shows nothing for a run that ends within the quiet time, then starts once it is exceeded', () => {
    for (const isTTY of [true, false]) {
      const out: string[] = []
      let now = 0
      const p = createProgress('sim', 100, describeSecs, { write: (t) => out.push(t), isTTY }, () => now, 2000)
      p.update(50)
      now = 1999
      p.update(90)
      p.finish()
      expect(out).toEqual([])
      const q = createProgress('sim', 100, describeSecs, { write: (t) => out.push(t), isTTY }, () => now, 2000)
      now = 4000
      q.update(60)
      expect(out.join('')).toContain('60%')
    }
  })

  it('lifts the bar off a logged line on a terminal and redraws it below; prints the line alone otherwise', () => {
    const out: string[] = []
    let now = 0
    const p = createProgress('sim', 60, describeSecs, { write: (t) => out.push(t), isTTY: true }, () => now, 0)
    p.log('before the bar')
    p.update(30)
    p.log('a step ended', (l) => out.push(`<stdout>${l}\n`))
    p.finish()
    p.log('after')
    expect(out).toEqual([
      'before the bar\n',
      `\r\x1b[Ksim [###############...............]  50% 30/60 s`,
      '\r\x1b[K',
      '<stdout>a step ended\n',
      `\r\x1b[Ksim [###############...............]  50% 30/60 s`,
      '\r\x1b[K',
      'after\n',
    ])
    const plain: string[] = []
    const q = createProgress('sim', 60, describeSecs, { write: (t) => plain.push(t), isTTY: false }, () => now, 0)
    q.update(30)
    q.log('a step ended')
    expect(plain).toEqual(['sim: 50% 30/60 s\n', 'a step ended\n'])
  })

  it('feeds a known-length phase its elapsed time until stopped', () => {
    vi.useFakeTimers()
    try {
      const seen: number[] = []
      let now = 1000
      const stop = trackElapsed({ update: (d) => seen.push(d), finish: () => {}, log: () => {} }, 1000, () => now, 100)
      now = 1100
      vi.advanceTimersByTime(100)
      now = 1250
      vi.advanceTimersByTime(100)
      stop()
      now = 5000
      vi.advanceTimersByTime(1000)
      expect(seen).toEqual([100, 250])
    } finally {
      vi.useRealTimers()
    }
  })
})
