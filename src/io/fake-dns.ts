/** A DnsResolver from a table the test edits; a name mapped to an Error fails its lookup. */
import type { DnsResolver, ResolvedAddress } from './dns.js'

export class FakeDnsResolver implements DnsResolver {
  readonly records = new Map<string, ResolvedAddress[] | Error>()
  /** Names looked up, in order. */
  readonly lookups: string[] = []

  async resolve(name: string): Promise<ResolvedAddress[]> {
    this.lookups.push(name)
    const r = this.records.get(name)
    if (r instanceof Error) throw r
    return r ?? []
  }
}
