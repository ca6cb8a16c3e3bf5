/**
 * A small seeded PRNG (mulberry32) and named sub-streams. Every random choice
 * in the simulator draws from its own stream, so turning one feature on (say
 * clock offsets) does not shift the numbers another feature sees, and the
 * same seed always gives the same run.
 */

export class Rng {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next()
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** Exponentially distributed with the given mean (0 when mean is 0). */
  exponential(meanMs: number): number {
    if (meanMs <= 0) return 0
    return -meanMs * Math.log(1 - this.next())
  }
}

/** A 32-bit seed for the sub-stream `stream` of the run seeded with `seed`. */
export function deriveSeed(seed: number, stream: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0
  h = Math.imul(h, 0x01000193) >>> 0
  for (let i = 0; i < stream.length; i++) {
    h ^= stream.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  // A final avalanche so that neighbouring stream names give unrelated seeds.
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b) >>> 0
  h ^= h >>> 13
  return h >>> 0
}

export function streamRng(seed: number, stream: string): Rng {
  return new Rng(deriveSeed(seed, stream))
}
