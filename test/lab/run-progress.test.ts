import { describe, expect, it } from 'vitest'
import { phaseProgress } from '../../lab/run/progress.js'

describe('lab run progress', () => {
  it('prints plain lines through the warm-up and the traffic when not a terminal', () => {
    const out: string[] = []
    let now = 0
    const p = phaseProgress(8000, 8000, { write: (t) => out.push(t), isTTY: false }, () => now)
    for (let ms = 0; ms <= 16_000; ms += 500) {
      now = ms
      p.update(ms)
    }
    p.finish()
    expect(out.join('')).not.toContain('\x1b')
    expect(out[0]).toBe('lab run: 13% warm-up 2/8 s\n')
    expect(out).toContain('lab run: 50% traffic 0/8 s\n')
    expect(out.at(-1)).toBe('lab run: 100% traffic 8/8 s\n')
  })

  it('draws one bar in place on a terminal and clears it at the end', () => {
    const out: string[] = []
    let now = 0
    const p = phaseProgress(8000, 8000, { write: (t) => out.push(t), isTTY: true }, () => now)
    now = 12_000
    p.update(12_000)
    p.finish()
    expect(out).toEqual([`\r\x1b[Klab run [${'#'.repeat(23)}${'.'.repeat(7)}]  75% traffic 4/8 s`, '\r\x1b[K'])
  })
})
