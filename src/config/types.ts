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
  /** Path of the file this came from, for messages. */
  sourcePath?: string
}
