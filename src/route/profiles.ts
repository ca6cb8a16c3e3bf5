import type { RoutingProfileName } from './types.js'

/**
 * Per-service metric profiles: cost = delay + jitterWeight * jitter + lossMsPerPct * loss%,
 * summed over the edges of a path (and the exit's origin edge).
 *
 * - latency: delay only.
 * - gaming: game clients interpolate between snapshots instead of buffering,
 *   so jitter costs roughly its own size in felt latency (weight 1); a lost
 *   input or snapshot is visible, so each 1% loss costs as much as 2 ms.
 * - rtc: a voice/video jitter buffer grows to about 2-4x the jitter, so each
 *   ms of jitter adds ~3 ms of mouth-to-ear delay (weight 3: rtc tolerates
 *   jitter less than gaming); codecs conceal loss (PLC/FEC), so 1 ms per 1%.
 *
 * Whatever the profile, an edge losing more than maxLossPct is disqualified.
 */
export interface RoutingProfile {
  jitterWeight: number
  lossMsPerPct: number
}

export const PROFILES: Readonly<Record<RoutingProfileName, RoutingProfile>> = {
  latency: { jitterWeight: 0, lossMsPerPct: 0 },
  gaming: { jitterWeight: 1, lossMsPerPct: 2 },
  rtc: { jitterWeight: 3, lossMsPerPct: 1 },
}

export const PROFILE_NAMES = ['latency', 'gaming', 'rtc'] as const satisfies readonly RoutingProfileName[]

export function penaltyMs(p: RoutingProfile, jitterMs: number, lossPct: number): number {
  return p.jitterWeight * jitterMs + p.lossMsPerPct * lossPct
}
