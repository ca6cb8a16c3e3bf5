/**
 * The emulator's own delay error: actual write time minus scheduled release
 * time, per packet, in a preallocated ring (the most recent samples), with
 * percentiles on demand (control path).
 */
export interface DelayErrorSummary {
  samples: number
  p50_ms: number
  p99_ms: number
  max_ms: number
  /** Samples later than each threshold (ms): lets runs be pooled (e.g. a p99 over several runs). */
  over_ms: Record<string, number>
}

export const LATE_THRESHOLDS_MS = [0.5, 1, 2, 5] as const

export class DelayStats {
  private readonly ring: Float64Array
  private count = 0
  private maxMs = 0

  constructor(capacity = 262_144) {
    this.ring = new Float64Array(capacity)
  }

  add(errorMs: number): void {
    this.ring[this.count % this.ring.length] = errorMs
    this.count++
    if (errorMs > this.maxMs) this.maxMs = errorMs
  }

  reset(): void {
    this.count = 0
    this.maxMs = 0
  }

  summary(): DelayErrorSummary {
    const n = Math.min(this.count, this.ring.length)
    const sorted = Float64Array.from(this.ring.subarray(0, n)).sort()
    const at = (p: number): number => (n === 0 ? 0 : sorted[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)])
    const over: Record<string, number> = {}
    for (const t of LATE_THRESHOLDS_MS) over[String(t)] = n - upperBound(sorted, t)
    return { samples: n, p50_ms: at(50), p99_ms: at(99), max_ms: this.maxMs, over_ms: over }
  }
}

/** Index of the first element > x in ascending `a`. */
function upperBound(a: Float64Array, x: number): number {
  let lo = 0
  let hi = a.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (a[mid] <= x) lo = mid + 1
    else hi = mid
  }
  return lo
}
