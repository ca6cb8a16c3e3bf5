import { describe, expect, it } from 'vitest'
import { SeqWindow } from '../../src/dataplane/seq-window.js'

describe('redundant-copy dedup window', () => {
  it.each([
    ['first packet', [5], [true]],
    ['in order', [1, 2, 3], [true, true, true]],
    ['second copy of each', [1, 1, 2, 2], [true, false, true, false]],
    ['late copy inside the window', [10, 11, 12, 10], [true, true, true, false]],
    ['reordered original inside the window', [10, 12, 11, 11], [true, true, true, false]],
    ['older than the window', [5000, 5000 - 1024], [true, false]],
    ['a jump past the window forgets old slots', [1, 3000, 1 + 2048, 1 + 2048], [true, true, true, false]],
    ['u32 wraparound', [0xfffffffe, 0xffffffff, 0, 1, 0xffffffff, 0], [true, true, true, true, false, false]],
  ])('%s', (_name, seqs, expected) => {
    const w = new SeqWindow()
    expect(seqs.map((s) => w.accept(s))).toEqual(expected)
  })
})
