import { describe, expect, it } from 'vitest'
import { ReplayWindow, RING_WORDS, WINDOW_SIZE } from '../../src/crypto/replay.js'
import { seededRandom } from './harness.js'

const W = WINDOW_SIZE
const T32 = 2 ** 32

// [counter, accepted?] applied in order to one window; numbered like wireguard-go's table.
const TABLE: [number, boolean][] = [
  /*  1 */ [0, true],
  /*  2 */ [1, true],
  /*  3 */ [1, false], // duplicate
  /*  4 */ [9, true], // gap
  /*  5 */ [8, true], // reordered within window
  /*  6 */ [7, true],
  /*  7 */ [7, false],
  /*  8 */ [W, true],
  /*  9 */ [0, false], // exactly W behind: still inside the window, but already seen
  /* 10 */ [2, true], // W - 2 behind: inside, unseen
  /* 11 */ [W + 1, true],
  /* 12 */ [0, false], // W + 1 behind: too old
  /* 13 */ [3, true], // W - 2 behind: inside, unseen
  /* 14 */ [W + 3, true],
  /* 15 */ [2, false], // too old now
  /* 16 */ [3, false], // exactly W behind, seen at step 13
  /* 17 */ [4, true], // W - 1 behind, unseen
  /* 18 */ [4, false],
  /* 19 */ [3 * W, true], // jump several windows: everything before it forgotten
  /* 20 */ [2 * W, true], // exactly W behind
  /* 21 */ [2 * W - 1, false], // W + 1 behind
  /* 22 */ [3 * W - 1, true],
  /* 23 */ [3 * W, false],
  /* 24 */ [T32 - 2, true], // 2^32 boundary
  /* 25 */ [T32, true],
  /* 26 */ [T32 - 1, true],
  /* 27 */ [T32 + 1, true],
  /* 28 */ [T32 - 1, false],
  /* 29 */ [T32, false],
  /* 30 */ [T32 - W + 1, true],
  /* 31 */ [T32 - W, false], // W + 1 behind 2^32 + 1
  /* 32 */ [Number.MAX_SAFE_INTEGER, true], // largest exact counter
  /* 33 */ [Number.MAX_SAFE_INTEGER, false],
  /* 34 */ [Number.MAX_SAFE_INTEGER + 1, false], // beyond 2^53 - 1
  /* 35 */ [-1, false],
  /* 36 */ [1.5, false],
]

describe('ReplayWindow', () => {
  it('has a window of at least 2048 packets', () => {
    expect(W).toBeGreaterThanOrEqual(2048)
  })

  it('follows the numbered table', () => {
    const w = new ReplayWindow()
    TABLE.forEach(([counter, want], i) => {
      const checked = w.check(counter)
      const got = w.update(counter)
      expect({ step: i + 1, counter, got }).toEqual({ step: i + 1, counter, got: want })
      expect({ step: i + 1, checked }).toEqual({ step: i + 1, checked: want })
    })
  })

  it('check does not change state', () => {
    const w = new ReplayWindow()
    expect(w.check(5)).toBe(true)
    expect(w.check(5)).toBe(true)
    expect(w.update(5)).toBe(true)
    expect(w.check(5)).toBe(false)
    expect(w.highest()).toBe(5)
  })

  it('accepts every counter once in order across many ring wraps', () => {
    const w = new ReplayWindow()
    const n = RING_WORDS * 32 * 5 + 77
    for (let c = 0; c < n; c++) expect(w.update(c)).toBe(true)
    for (let c = n - W; c < n; c++) expect(w.update(c)).toBe(false)
    expect(w.update(n - W - 1)).toBe(false)
  })

  it('forgets cleared ring words when jumping forward by less than a ring', () => {
    const w = new ReplayWindow()
    for (let c = 0; c < 1000; c++) w.update(c)
    // Jump so the ring index wraps onto words that held counters 0..999.
    const jump = RING_WORDS * 32 + 500
    expect(w.update(jump)).toBe(true)
    // 1000..jump-1 were never seen, including those whose ring words once held 0..999.
    for (let c = 1000; c < jump; c += 37) expect(w.update(c)).toBe(true)
  })

  it('resets to an empty window', () => {
    const w = new ReplayWindow()
    w.update(100)
    w.reset()
    expect(w.update(100)).toBe(true)
    expect(w.update(0)).toBe(true)
  })

  it('matches a brute-force reference on a seeded random walk', () => {
    for (const seed of [1, 2, 3]) {
      const rnd = seededRandom(seed)
      const w = new ReplayWindow()
      const seen = new Set<number>()
      let last = 0
      let base = seed === 3 ? T32 - 5000 : 0
      for (let i = 0; i < 30_000; i++) {
        const r = rnd()
        // Mostly forward steps, some reorders and duplicates, rare big jumps.
        if (r < 0.6) base += 1 + Math.floor(rnd() * 3)
        else if (r < 0.62) base += Math.floor(rnd() * 3 * W)
        const counter = Math.max(0, base - Math.floor(rnd() * (W + 200)) * (rnd() < 0.3 ? 1 : 0))
        const want = !seen.has(counter) && !(last - counter > W)
        const got = w.update(counter)
        if (got !== want) expect({ seed, i, counter, last, got }).toEqual({ seed, i, counter, last, got: want })
        if (got) {
          seen.add(counter)
          last = Math.max(last, counter)
        }
      }
    }
  })
})
