/**
 * Source-address ownership in L3 mode, the counterpart of WireGuard's
 * AllowedIPs: a relay may only put packets into the overlay from the
 * prefixes of its own sites, i.e. the `mode: l3` services it is an exit of
 * (a branch is the service `site-lax` with exit `lax`). The ingress checks
 * its own relay; the exit checks the packet's ingress, `path[0]`.
 *
 * The owner of a source is found by longest-prefix match over every l3
 * prefix, as replies to that source would be routed: a /24 of one site inside
 * another site's /16 belongs to the /24's relay only. Allocation-free.
 */
import type { ServiceConfig } from '../config/types.js'
import { NO_MATCH, PrefixTable, type IpPacket } from '../l3/index.js'
import { nameId } from '../wire/ids.js'

export class SourceOwners {
  private readonly table = new PrefixTable()
  /** Exit relay node ids per service index (the LPM value). */
  private readonly owners: Uint32Array[] = []

  constructor(services: readonly ServiceConfig[]) {
    for (const s of services) {
      if (s.mode !== 'l3') continue
      const index = this.owners.length
      this.owners.push(Uint32Array.from(s.exits.map(nameId)))
      for (const p of s.prefixes) this.table.insert(p, index)
    }
  }

  /** True when the parsed packet's source lies in a site prefix of relay `node`. */
  ownedBy(node: number, buf: Uint8Array, pkt: IpPacket): boolean {
    const index = this.table.lookupSrc(buf, pkt)
    if (index === NO_MATCH) return false
    const exits = this.owners[index]
    for (let i = 0; i < exits.length; i++) if (exits[i] === node) return true
    return false
  }
}
