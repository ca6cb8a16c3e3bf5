/**
 * Peer endpoints given as DNS names (`endpoint: sea.example.net:7001`).
 * `resolveEndpointNames` resolves them once before the relay is built: a
 * name stands for every address it has (A then AAAA), each an endpoint the
 * relay can fail over between (dataplane/peer-endpoints.ts), so the data
 * plane only ever sees IP literals. `EndpointNameRefresher`
 * (endpoint-name-refresher.ts) then looks each peer's names up again when
 * their TTL runs out (clamped to MIN/MAX_REFRESH_S) and hands the peer its
 * new addresses when they changed, and resolves the names of peers a live
 * change adds. A lookup that fails or comes back empty keeps the addresses
 * the relay has and is retried after MIN_REFRESH_S: a DNS outage never
 * takes a working peer away.
 */
import type { HostPort, PeerConfig, RelayConfig } from '../config/types.js'
import { isHostName } from '../config/values.js'
import type { DnsResolver } from '../io/dns.js'

/** Re-resolve at most this often, whatever the TTL says (a TTL of 0 would otherwise spin). */
export const MIN_REFRESH_S = 30
/** And at least this often. */
export const MAX_REFRESH_S = 3600

export class EndpointResolveError extends Error {
  override readonly name = 'EndpointResolveError'
  constructor(readonly peer: string, readonly host: string, detail: string) {
    super(`peer "${peer}": endpoint ${host} does not resolve: ${detail} (fix: check the name in the network file, or give the address)`)
  }
}

/** What a peer's endpoints were written as, kept for refreshing. */
export interface NamedPeer {
  id: string
  written: HostPort[]
  current: HostPort[]
  /** Seconds until its names are looked up again (their smallest TTL, clamped). */
  ttlS: number
}

export interface ResolvedNames {
  /** The config with every name replaced by its addresses. */
  config: RelayConfig
  /** Peers that named hosts, for the refresher; empty when none did. */
  named: NamedPeer[]
  /** Seconds until the first refresh (the smallest TTL, clamped); undefined without names. */
  refreshS: number | undefined
}

/** True when any of a peer's written endpoints is a name. */
export function hasNames(written: readonly HostPort[]): boolean {
  return written.some((e) => isHostName(e.host))
}

/** Resolves every peer endpoint that is a name; throws EndpointResolveError when one has no address. */
export async function resolveEndpointNames(config: RelayConfig, resolver: DnsResolver): Promise<ResolvedNames> {
  const named: NamedPeer[] = []
  let ttl = Infinity
  const peers: PeerConfig[] = []
  for (const p of config.peers) {
    const written = p.endpoints ?? [p.endpoint]
    if (!hasNames(written)) {
      peers.push(p)
      continue
    }
    const r = await addressesOf(written, resolver)
    if (typeof r === 'string') throw new EndpointResolveError(p.id, r.split('\n')[0], r.split('\n')[1])
    ttl = Math.min(ttl, r.ttlS)
    named.push({ id: p.id, written, current: r.addresses, ttlS: clampTtl(r.ttlS) })
    peers.push(withEndpoints(p, r.addresses))
  }
  return { config: { ...config, peers }, named, refreshS: named.length === 0 ? undefined : clampTtl(ttl) }
}

/** Every address of the written endpoints, names expanded in place; or "host\nwhy" when a name has none. */
export async function addressesOf(written: HostPort[], resolver: DnsResolver): Promise<{ addresses: HostPort[]; ttlS: number } | string> {
  const addresses: HostPort[] = []
  let ttlS = Infinity
  for (const e of written) {
    if (!isHostName(e.host)) {
      addresses.push(e)
      continue
    }
    let found
    try {
      found = await resolver.resolve(e.host)
    } catch (err) {
      return `${e.host}\n${(err as NodeJS.ErrnoException).code ?? String(err)}`
    }
    if (found.length === 0) return `${e.host}\nno A or AAAA records`
    for (const f of found) {
      ttlS = Math.min(ttlS, f.ttlS)
      if (!addresses.some((a) => a.host === f.address && a.port === e.port)) addresses.push({ host: f.address, port: e.port })
    }
  }
  return { addresses, ttlS }
}

export function withEndpoints(p: PeerConfig, addresses: HostPort[]): PeerConfig {
  const { endpoints: _old, ...rest } = p
  return { ...rest, endpoint: addresses[0], ...(addresses.length > 1 ? { endpoints: addresses } : {}) }
}

export function clampTtl(ttlS: number): number {
  return Math.min(MAX_REFRESH_S, Math.max(MIN_REFRESH_S, Number.isFinite(ttlS) ? ttlS : MAX_REFRESH_S))
}

export function sameAddresses(a: HostPort[], b: HostPort[]): boolean {
  return a.length === b.length && a.every((x, i) => x.host === b[i].host && x.port === b[i].port)
}

export const text = (e: HostPort): string => (e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`)
