import { describe, expect, it } from 'vitest'
import { createProgress } from '../../src/cli/progress.js'

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
})
