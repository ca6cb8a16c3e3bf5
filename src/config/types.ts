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

/** An IP prefix (l3/prefix.ts): 4 or 16 address bytes with host bits zero, and a length in bits. */
export interface PrefixConfig {
  family: 4 | 6
  bytes: Uint8Array
  length: number
}

/** An address on the relay's TUN device, e.g. 10.255.0.1/32 (host bits allowed, unlike a prefix). */
export interface InterfaceAddress {
  family: 4 | 6
  bytes: Uint8Array
  length: number
  /** As written, for `ip addr add`. */
  text: string
}

/** The relay's `l3:` section: the TUN device that carries L3 services (docs/l3-mode.md). */
export interface L3Config {
  /** TUN device name (at most 15 characters); the daemon creates it. */
  tun: string
  /** TUN MTU in bytes: the configured value, or the derived maximum for `mtu: auto`. */
  mtu: number
  /** The largest MTU this underlay allows (l3TunMtu of relay.mtu). */
  maxMtu: number
  /** IPv4 packets without DF that exceed the MTU: fragment them (RFC 791) or drop them. */
  oversizeWithoutDf: 'fragment' | 'drop'
  /** Lower the MSS option of TCP SYNs crossing the overlay so segments fit the TUN MTU (l3/mss.ts). */
  clampMss: boolean
  /** Addresses the daemon puts on the TUN; the one of a packet's family is the source of ICMP errors. */
  addresses: InterfaceAddress[]
}

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
  /**
   * File that keeps what must survive a restart (the highest handshake
   * timestamp per peer, daemon/handshake-state.ts); `relay.state_file`, by
   * default `<id>.state.json` next to the config file. Undefined for a config
   * that was not read from a file and names none: then nothing is kept.
   */
  stateFile?: string
  /** Underlay path MTU in bytes (IP packet size), default 1500. */
  mtu: number
  /** Data-plane workers (threads sharing the overlay port by lane), default 1; see docs/operating.md, Workers. */
  workers: number
}

export interface PeerConfig {
  id: string
  publicKey: Uint8Array
  /** 32-byte Ed25519 public key the peer signs its map columns with (`sign_key`, derived from its private key). */
  signKey: Uint8Array
  /**
   * During a key rotation (`next_public_key`, `next_sign_key`): the peer's
   * new key pair, accepted as well as the current one; we try it when the
   * current one gets no answer (docs/operating.md, Rotating a relay's key).
   */
  next?: { publicKey: Uint8Array; signKey: Uint8Array }
  /** Where the peer is reached: the first of `endpoints` when it has several. */
  endpoint: HostPort
  /** Set when the peer lists several addresses (`endpoints:`): tried in order, with failover (dataplane/peer-endpoints.ts). */
  endpoints?: HostPort[]
}

export interface IngressConfig {
  /** Relay id that listens for this service. */
  relay: string
  /** Public UDP address clients send to at that relay. */
  listen: HostPort
}

export interface ServiceConfig {
  name: string
  /**
   * l4: UDP datagrams from clients at `ingress` to `origin`.
   * l3: whole IP packets to `prefixes`, read from the TUN of every relay with
   * an `l3:` section (each is an ingress) and delivered into the exits' TUNs.
   */
  mode: 'l4' | 'l3'
  /** L4 only (empty for l3: every relay with `l3:` is an ingress, see servesAsIngress). */
  ingress: IngressConfig[]
  /** The customer's origin, reached from an exit across its CNI link. L3: unused ({ host: '', port: 0 }). */
  origin: HostPort
  /** Relays with a CNI link to the origin (l3: relays that deliver `prefixes` into their own TUN). */
  exits: string[]
  /** L3 only: destination prefixes this service carries (empty for l4). */
  prefixes: PrefixConfig[]
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
  /** L4: flows one client /24 (IPv6 /56) may hold; undefined: derived from maxFlows (dataplane/flow-admission.ts). */
  maxFlowsPerPrefix?: number
  /** Routing profile: how much jitter and loss cost on top of delay. */
  profile: 'latency' | 'gaming' | 'rtc'
  /** Send every packet over the two best edge-disjoint paths; the far end deduplicates. */
  redundant: boolean
  /** How exits of this service measure their CNI link to the origin. */
  originProbe: OriginProbeConfig
  /**
   * L4 only. 'direct': while the ingress has no overlay path to any exit,
   * it sends the flow straight to the origin from its own socket (the origin
   * then sees the ingress relay's address; docs/operating.md, Direct
   * fallback). Absent: such packets are dropped (`no_route`).
   */
  fallback?: 'direct'
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

/** The relay's `metrics:` section: an HTTP listener for Prometheus (and the status page). */
export interface MetricsConfig {
  /** TCP address of the HTTP listener, e.g. 127.0.0.1:9469. */
  listen: HostPort
  /** Also serve the read-only status page at / and its JSON at /status.json. */
  statusPage: boolean
}

export interface RelayConfig {
  relay: RelayIdentity
  peers: PeerConfig[]
  services: ServiceConfig[]
  tuning: TuningConfig
  routing: RoutingConfig
  /** Present when this relay owns a TUN device for L3 services. */
  l3?: L3Config
  /** Present when the relay serves metrics over HTTP (docs/operating.md, Metrics). */
  metrics?: MetricsConfig
  /** Path of the file this came from, for messages. */
  sourcePath?: string
  /** Set when loaded from a local file: the signed network file it named, and its version (config/local-file.ts). */
  network?: { file: string; version: number; /** The operator's public key, the trust anchor for later versions (rollout/). */ operatorKey: Uint8Array }
}
