/** A loaded, validated scenario: every name resolved, every duration in ms. */

export type FlowProfile = 'game' | 'voip'

/** One direction of a WAN path between two PoPs. */
export interface LinkState {
  delayMs: number
  jitterMs: number
  lossPct: number
  /** true while the direction drops everything (a cut). */
  down: boolean
  /**
   * Bursty loss: the mean length of a loss burst in packets. Loss then
   * follows a Gilbert-Elliott chain with long-run loss `lossPct` (see
   * src/io/link-model.ts); 0 or absent: independent loss.
   */
  burstPackets?: number
  /** Loss inside a burst, percent (default 100). */
  burstLossPct?: number
}

export interface DirectedLink extends LinkState {
  from: string
  to: string
}

export interface ClientSpec {
  name: string
  pop: string
  /** L3 branch site: the LAN prefix behind the PoP (host .2, PoP gateway .1). */
  prefix?: string
  /** And its IPv6 prefix (host ::2, gateway ::1); only with `prefix`. */
  prefix6?: string
}

export interface OriginSpec {
  name: string
  /** The PoP whose WAN position the origin shares: the direct path's far end. */
  wanPop: string
  /** PoPs with a CNI link (direct veth) to this origin: the service's exits. */
  exits: string[]
  /** UDP port of the origin's timestamping echo. */
  port: number
  /** L3 data centre: its prefix (host .1), reached in L3 mode over the exits' TUNs. */
  prefix?: string
  /** And its IPv6 prefix (host ::1); only with `prefix`. */
  prefix6?: string
}

/**
 * A change of one direction at `atMs` after the traffic starts. `restore`
 * returns to the scenario's base values; flaps are expanded into cut/restore
 * pairs when the scenario loads, so the emulator only sees these three.
 */
export interface LinkEvent {
  atMs: number
  from: string
  to: string
  action: 'degrade' | 'cut' | 'restore'
  /** For degrade: the values that replace the ones in force. */
  set?: Partial<Omit<LinkState, 'down'>>
  /** For degrade: multiplies the delay in force (after any earlier degrade). */
  delayFactor?: number
}

/**
 * A relay process event at `atMs` after the traffic starts, carried out by
 * the runner: `kill` ends the PoP's relay with SIGKILL (a crash: nothing is
 * flushed), `start` starts it again with the same config, keys and state
 * file.
 */
export interface RelayEvent {
  atMs: number
  pop: string
  action: 'kill' | 'start' | 'drop-data' | 'forward-data' | NetworkAction
}

/** Changes made through signed network versions (schema.ts NETWORK_ACTIONS, run/network-changes.ts). */
export type NetworkAction = 'join' | 'rotate-key' | 'move-endpoint' | 'remove' | 'canary-cut' | 'add-service' | 'bad-canary'

/**
 * An exit's origin leg failing (`cut`) or coming back (`restore`) at `atMs`,
 * carried out by the runner: a blackhole route to the origin's service
 * address in the exit's namespace drops data and origin probes alike.
 */
export interface OriginEvent {
  atMs: number
  origin: string
  exit: string
  action: 'cut' | 'restore'
}

export interface FlowSpec {
  name: string
  client: string
  origin: string
  profile: FlowProfile
  startMs: number
  durationMs: number
}

export interface Scenario {
  name: string
  description: string
  pops: string[]
  clients: ClientSpec[]
  origins: OriginSpec[]
  /** Every directed PoP pair, exactly once. */
  links: DirectedLink[]
  events: LinkEvent[]
  /** Relay kills and restarts, sorted by time. */
  relayEvents: RelayEvent[]
  /** Origin-leg failures and repairs, sorted by time. */
  originEvents: OriginEvent[]
  warmupMs: number
  flows: FlowSpec[]
  /** Passed through to every relay's `routing:` section (probe_interval, ...). */
  routing: Record<string, unknown>
  /** Relay service profile (route metric) per flow profile. */
  originProbe: 'none' | 'twamp'
  /** Every (L4) service is redundant: each datagram over two relay-disjoint paths. */
  redundant: boolean
  /** The exits' origin probe interval, ms (absent: the relay's default). */
  originProbeIntervalMs?: number
  /** How the relays are configured: a file each, or a signed network file and local files. */
  network: 'per-relay' | 'signed'
  /** signed: the network file's `tuning:` section. */
  tuning: Record<string, unknown>
}
