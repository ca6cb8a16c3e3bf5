/**
 * mulberry32: a tiny deterministic PRNG, the default `random` when the daemon
 * injects none. It only jitters timers and draws the default boot id, so it
 * need not be unpredictable - but it repeats across restarts, which is why
 * the daemon should inject a real source (see RouterInit.bootId).
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
