/**
 * DNS for peer endpoints given as names (node/endpoint-names.ts): the one
 * place Overpass asks a resolver. A and AAAA records with their TTLs; the
 * fake beside it (fake-dns.ts) serves tests.
 */
import { promises as dns } from 'node:dns'

export interface ResolvedAddress {
  address: string
  /** Seconds the answer may be kept (the record's TTL). */
  ttlS: number
}

export interface DnsResolver {
  /** IPv4 then IPv6 addresses of `name`; empty when it has none. Rejects when the lookup itself fails. */
  resolve(name: string): Promise<ResolvedAddress[]>
}

/** Errors that mean "no records of this type", not a failed lookup. */
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND'])

async function records(lookup: () => Promise<{ address: string; ttl: number }[]>): Promise<ResolvedAddress[]> {
  try {
    return (await lookup()).map((r) => ({ address: r.address, ttlS: r.ttl }))
  } catch (err) {
    if (NO_RECORDS.has((err as NodeJS.ErrnoException).code ?? '')) return []
    throw err
  }
}

/** The system's DNS servers (node:dns resolve4/resolve6, which report TTLs; getaddrinfo does not). */
export const nodeDnsResolver: DnsResolver = {
  async resolve(name) {
    const [v4, v6] = await Promise.all([records(() => dns.resolve4(name, { ttl: true })), records(() => dns.resolve6(name, { ttl: true }))])
    return [...v4, ...v6]
  },
}
