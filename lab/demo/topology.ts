/**
 * The demo's built-in network: five US points of presence with one-way
 * delays (ms) shaped like the Argo for Packets example. The direct
 * Los Angeles -> Boston path is slow (a poor BGP route) while Dallas and
 * Atlanta offer a detour; the reverse direction is asymmetric, so the best
 * reply path is not the forward path reversed.
 */
export const DEMO_SITES = ['lax', 'sea', 'dal', 'atl', 'bos'] as const
export type DemoSite = (typeof DEMO_SITES)[number]

/** One-way delay from row to column, ms. */
export const DEMO_ONE_WAY_MS: Record<DemoSite, Record<DemoSite, number>> = {
  lax: { lax: 0, sea: 12, dal: 17, atl: 27, bos: 48 },
  sea: { lax: 12, sea: 0, dal: 22, atl: 32, bos: 36 },
  dal: { lax: 17, sea: 22, dal: 0, atl: 11, bos: 24 },
  atl: { lax: 27, sea: 32, dal: 11, atl: 0, bos: 12 },
  bos: { lax: 34, sea: 35, dal: 23, atl: 12, bos: 0 },
}

/** Clients connect at the ingress; the origin sits behind the exit's CNI link. */
export const DEMO_INGRESS: DemoSite = 'lax'
export const DEMO_EXIT: DemoSite = 'bos'
