/** Traffic profiles: packet rate and payload size range (bytes, UDP payload). */
export interface TrafficProfile {
  name: string
  ratePerSec: number
  minBytes: number
  maxBytes: number
}

export const TRAFFIC_PROFILES: Record<'game' | 'voip', TrafficProfile> = {
  /** A fast-paced game: 64 Hz ticks, 100-200 bytes each way. */
  game: { name: 'game', ratePerSec: 64, minBytes: 100, maxBytes: 200 },
  /** VoIP: 20 ms frames, 160-200 bytes (G.711-sized). */
  voip: { name: 'voip', ratePerSec: 50, minBytes: 160, maxBytes: 200 },
}

/** Shared monotonic clock in ms: CLOCK_MONOTONIC is the same in every process of a machine. */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6
}
