/** Summary statistics of a measured flow. */

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]
}

/** RFC 3550 interarrival jitter over a sequence of one-way delays (in send order). */
export function rfc3550Jitter(delaysInOrder: number[]): number {
  let j = 0
  for (let i = 1; i < delaysInOrder.length; i++) j += (Math.abs(delaysInOrder[i] - delaysInOrder[i - 1]) - j) / 16
  return j
}

export interface DirectionSummary {
  p50_ms: number
  p99_ms: number
  mean_ms: number
  jitter_ms: number
}

export function summarise(delays: number[]): DirectionSummary {
  const sorted = [...delays].sort((a, b) => a - b)
  const mean = delays.reduce((a, b) => a + b, 0) / Math.max(1, delays.length)
  return { p50_ms: percentile(sorted, 50), p99_ms: percentile(sorted, 99), mean_ms: mean, jitter_ms: rfc3550Jitter(delays) }
}
