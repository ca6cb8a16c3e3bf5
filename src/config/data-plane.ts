/**
 * The part of a relay's config its data plane reads, resolved once when a
 * relay is built: each service's roles at this relay (ingress, exit,
 * pinned to static paths), the tuning values, the peers' addresses and
 * public keys. It holds no private key, so it is what crosses to the
 * data-plane worker threads (daemon/lane-worker.ts). Nothing on the packet
 * path derives a role or reads `tuning` again.
 */
import { servesAsIngress } from './l3.js'
import type { HostPort, L3Config, PeerConfig, RelayConfig, ServiceConfig } from './types.js'

/** A service as this relay plays it. */
export interface ServiceRoles {
  cfg: ServiceConfig
  /** Clients (l4) or the TUN (l3) hand this relay packets of the service. */
  isIngress: boolean
  /** This relay delivers the service's packets to its origin (or its TUN). */
  isExit: boolean
  /** The service has `paths` in the config: served as written, never routed. */
  pinned: boolean
}

export interface DataPlaneConfig {
  /** This relay's id. */
  self: string
  listen: HostPort
  /** Underlay path MTU, bytes. */
  mtu: number
  /** Data-plane workers of the relay (lanes). */
  workers: number
  peers: PeerConfig[]
  services: ServiceRoles[]
  /** Initial hop limit written by an ingress. */
  hopLimit: number
  rekeyAfterMs: number
  rekeyAfterPackets: number
  l3?: L3Config
}

/** The roles of every service at relay `self` (`hasL3`: it has an `l3:` section). */
export function resolveServiceRoles(self: string, hasL3: boolean, services: ServiceConfig[]): ServiceRoles[] {
  return services.map((cfg) => ({ cfg, isIngress: servesAsIngress(self, hasL3, cfg), isExit: cfg.exits.includes(self), pinned: cfg.paths.length > 0 }))
}

export function dataPlaneConfig(config: RelayConfig): DataPlaneConfig {
  const { relay, tuning } = config
  return {
    self: relay.id,
    listen: relay.listen,
    mtu: relay.mtu,
    workers: relay.workers,
    peers: config.peers,
    services: resolveServiceRoles(relay.id, config.l3 !== undefined, config.services),
    hopLimit: tuning.hopLimit,
    rekeyAfterMs: tuning.rekeyAfterMs,
    rekeyAfterPackets: tuning.rekeyAfterPackets,
    ...(config.l3 !== undefined ? { l3: config.l3 } : {}),
  }
}
