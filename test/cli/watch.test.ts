import { describe, expect, it } from 'vitest'
import { parseWatchInterval, renderOrWatch } from '../../src/cli/watch.js'

/** Resolves after `n` renders have happened. */
function stopAfter(n: number): { render: () => Promise<string>; stop: Promise<void> } {
  let count = 0
  let release: () => void = () => {}
  const stop = new Promise<void>((r) => (release = r))
  return {
    render: async () => {
      if (++count >= n) release()
      return `frame ${count}\n`
    },
    stop,
  }
}

describe('--watch', () => {
  it('renders once without --watch', async () => {
    const out: string[] = []
    await renderOrWatch('status', undefined, async () => 'once\n', { write: (t) => out.push(t), isTTY: true }, new Promise(() => {}))
    expect(out).toEqual(['once\n'])
  })

  it('redraws in place on a terminal: clear screen, a header with the interval, the output', async () => {
    const out: string[] = []
    const { render, stop } = stopAfter(3)
    await renderOrWatch('map', 0.1, render, { write: (t) => out.push(t), isTTY: true }, stop)
    expect(out).toHaveLength(3)
    for (const [i, frame] of out.entries()) {
      expect(frame.startsWith('\x1b[H\x1b[2J')).toBe(true)
      expect(frame).toMatch(/^\x1b\[H\x1b\[2JEvery 0\.1s: overpass map {4}\d{4}-\d\d-\d\dT/)
      expect(frame.endsWith(`frame ${i + 1}\n`)).toBe(true)
    }
  })

  it('appends every refresh with its header when not a terminal (no escape codes in a log)', async () => {
    const out: string[] = []
    const { render, stop } = stopAfter(2)
    await renderOrWatch('status', true, render, { write: (t) => out.push(t), isTTY: false }, stop)
    expect(out.join('')).not.toContain('\x1b')
    expect(out.join('').match(/^Every 2s: overpass status/gm)).toHaveLength(2)
  })

  it('takes a number of seconds and rejects anything else', () => {
    expect(parseWatchInterval('0.5')).toBe(0.5)
    for (const bad of ['0', '-1', 'fast', '0.01']) expect(() => parseWatchInterval(bad)).toThrow(/number of seconds/)
  })
})
