/**
 * A small seeded PRNG (xorshift128+ folded to 32 bits) for the fuzz runner:
 * fast, reproducible from one seed, and enough for choosing mutations. It is
 * not for cryptography.
 */
export class Rng {
  private s0: number
  private s1: number
  private s2: number
  private s3: number

  constructor(seed: number) {
    // splitmix32 to spread a small seed over the whole state.
    let x = seed >>> 0
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0
      let z = x
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      return (z ^ (z >>> 16)) >>> 0
    }
    this.s0 = next() | 1
    this.s1 = next()
    this.s2 = next()
    this.s3 = next()
  }

  /** Uniform u32 (xoshiro128**). */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0
    const t = this.s1 << 9
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    return result
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return n <= 0x1_0000_0000 ? Math.floor((this.u32() / 0x1_0000_0000) * n) : Math.floor(this.float() * n)
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1)
  }

  /** Uniform in [0, 1). */
  float(): number {
    return (this.u32() * 0x200000 + (this.u32() >>> 11)) / 2 ** 53
  }

  chance(p: number): boolean {
    return this.float() < p
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n)
    this.fill(out, 0, n)
    return out
  }

  fill(out: Uint8Array, from: number, to: number): void {
    for (let i = from; i < to; i++) out[i] = this.u32() & 0xff
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}
