/**
 * The validated, normalised shape of one relay's config file. `loadConfig`
 * (config/load.ts) turns YAML into this or throws a ConfigError listing every
 * problem. Everything downstream consumes only this type, never raw YAML.
 *
 * Units are in the field names. Addresses are already split into host and port.
 */

export interface HostPort {
  host: string
  port: number
}

export type DeliveryMode = 'proxy' | 'proxy-protocol'

export interface RelayIdentity {
  /** Relay name, unique in the network, e.g. "lax". */
  id: string
  /** 32-byte X25519 private key (from `private_key` or `private_key_file`). */
  privateKey: Uint8Array
  /** 32-byte public key derived from privateKey. */
  publicKey: Uint8Array
  /** Overlay UDP listen address. */
  listen: HostPort
  /** Unix control socket path for `overpass status`. */
  controlSocket: string
  /** Underlay path MTU in bytes (IP packet size), default 1500. */
  mtu: number
}

export interface PeerConfig {
  id: string
  publicKey: Uint8Array
  endpoint: HostPort
}

export interface IngressConfig {
  /** Relay id that listens for this service. */
  relay: string
  /** Public UDP address clients send to at that relay. */
  listen: HostPort
}

export interface ServiceConfig {
  name: string
  mode: 'l4'
  ingress: IngressConfig[]
  /** The customer's origin, reached from an exit across its CNI link. */
  origin: HostPort
  /** Relays with a CNI link to the origin. */
  exits: string[]
  delivery: DeliveryMode
  /**
   * Static relay paths, each starting at an ingress and ending at an exit
   * (e.g. [lax, sea, dal]). An ingress uses the first path that starts at itself;
   * with none it goes direct to the first exit. Latency-driven routing replaces these.
   */
  paths: string[][]
  /** Static reply paths (exit ... ingress); default: the forward path reversed. */
  replyPaths: string[][]
  flowIdleTimeoutMs: number
  maxFlows: number
  /** Routing profile: how much jitter and loss cost on top of delay. */
  profile: 'latency' | 'gaming' | 'rtc'
  /** Send every packet over the two best edge-disjoint paths; the far end deduplicates. */
  redundant: boolean
  /** How exits of this service measure their CNI link to the origin. */
  originProbe: OriginProbeConfig
}

export interface OriginProbeConfig {
  /**
   * twamp: TWAMP-Light to a reflector at origin host:port (one-way both ways);
   * icmp: echo via a raw socket (round trip only; needs root or CAP_NET_RAW);
   * none: no probe; the exit is assumed up with round trip `assumedRttMs`.
   */
  method: 'twamp' | 'icmp' | 'none'
  /** TWAMP reflector port on the origin host (default 862). */
  port: number
  intervalMs: number
  assumedRttMs: number
}

export interface RoutingConfig {
  /** Mean probe interval to every peer (jittered +-10%), default 100 ms; at most 250 ms. */
  probeIntervalMs: number
  /** Consecutive missing probes that mark an edge down, default 3. */
  lossDownAfter: number
  /** Cost added per intermediate relay, ms, default 0. */
  hopCostMs: number
  /** Edges (and origin links) losing more than this percentage are not used, default 5. */
  maxLossPct: number
  /** Periodic map flood interval, default 1000 ms (changes flood at once). */
  floodIntervalMs: number
}

export interface TuningConfig {
  /** Rekey a session after this long. */
  rekeyAfterMs: number
  /** Rekey a session after this many packets sent on it. */
  rekeyAfterPackets: number
  /** Initial hop limit written by the ingress. */
  hopLimit: number
}

export interface RelayConfig {
  relay: RelayIdentity
  peers: PeerConfig[]
  services: ServiceConfig[]
  tuning: TuningConfig
  routing: RoutingConfig
  /** Path of the file this came from, for messages. */
  sourcePath?: string
}
