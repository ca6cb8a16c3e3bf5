/**
 * Who may start a packet of an L4 service: a forward packet's first relay,
 * `path[0]`, must be one of the service's ingress relays, and a reply's one
 * of its exits. Without this any member relay could open flows to an origin
 * as if it were an ingress, or inject replies to a flow's client as if it
 * were the exit. L3 services are checked by source address instead
 * (source-check.ts): every relay with a TUN is an ingress of them.
 *
 * `path[0]` is vouched for hop by hop only (each relay checks the previous
 * entry is the sender), so a relay in the middle of a path can still lie
 * about it; docs/security.md says what that leaves open.
 */
import { nameId } from '../wire/ids.js'
import type { ServiceState } from './context.js'

export class PathEnds {
  /** Node ids of the ingress relays and of the exits, per L4 service. */
  private readonly ingress = new Map<ServiceState, Uint32Array>()
  private readonly exits = new Map<ServiceState, Uint32Array>()

  constructor(services: readonly ServiceState[]) {
    for (const s of services) {
      if (s.cfg.mode !== 'l4') continue
      this.ingress.set(s, Uint32Array.from(new Set(s.cfg.ingress.map((i) => i.relay)), nameId))
      this.exits.set(s, Uint32Array.from(s.cfg.exits, nameId))
    }
  }

  /** True when `node` may start a forward packet of `service`. */
  isIngress(service: ServiceState, node: number): boolean {
    return includes(this.ingress.get(service), node)
  }

  /** True when `node` may start a reply of `service`. */
  isExit(service: ServiceState, node: number): boolean {
    return includes(this.exits.get(service), node)
  }
}

function includes(nodes: Uint32Array | undefined, node: number): boolean {
  if (nodes === undefined) return false
  for (let i = 0; i < nodes.length; i++) if (nodes[i] === node) return true
  return false
}
