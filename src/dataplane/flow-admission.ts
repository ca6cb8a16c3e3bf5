/**
 * Which new flows a flow table takes in, and which flows it gives up for
 * them. Client source addresses on a public service port can be spoofed, so
 * a flow is only trusted once it has seen a reply (the origin answered it):
 *
 *   - A flow that has not seen a reply expires after UNREPLIED_FLOW_IDLE_MS
 *     idle instead of the service's flow_idle_timeout.
 *   - When the table (max_flows) or the new flow's source prefix is full,
 *     the oldest flow without a reply (of that prefix, if the prefix is the
 *     limit) is given up to make room. A flow that has seen a reply is never
 *     given up for a new one.
 *   - A source prefix (/24 for IPv4, /56 for IPv6) holds at most
 *     max_flows_per_prefix flows (default prefixFlowLimit(max_flows)).
 *
 * Used by the ingress (flows keyed by client address) and the exit (flows
 * keyed by ingress relay and flow id; no prefix there). Control path: runs
 * once per new flow, never per packet, except `replied` (an O(1) check).
 */
import { ipv6ToBytes as ipv6Bytes } from '../wire/ip-address.js'

/** Idle timeout of a flow that has not seen a reply yet. */
export const UNREPLIED_FLOW_IDLE_MS = 5_000
/** Source prefix lengths flows are counted by: a typical customer network (IPv4 /24, IPv6 /56). */
export const V4_PREFIX_BITS = 24
export const V6_PREFIX_BITS = 56
/** By default one source prefix may hold 1/PREFIX_SHARE of a table (4,096 of the default 65,536)... */
export const PREFIX_SHARE = 16
/** ...but never fewer than this many flows (or the whole table, if smaller): many players can share one carrier-grade NAT. */
export const MIN_PREFIX_FLOWS = 256

/**
 * Origin sockets one exit (one worker) keeps open at most, whatever the
 * services' max_flows add up to, so a flood cannot run the process out of
 * file descriptors (EMFILE would also break new service and control
 * sockets). The daemon lowers it to fit the process's open-file limit
 * (exitSocketBudget).
 */
export const DEFAULT_EXIT_SOCKET_BUDGET = 65_536
/** File descriptors left for everything but origin sockets (overlay, service, control sockets, TUN, logs). */
export const RESERVED_FDS = 1_024

/** The exit socket budget of each of `workers` workers when the process may open `openFileLimit` files. */
export function exitSocketBudget(openFileLimit: number | undefined, workers: number): number {
  if (openFileLimit === undefined || !Number.isFinite(openFileLimit)) return DEFAULT_EXIT_SOCKET_BUDGET
  return Math.max(1, Math.min(DEFAULT_EXIT_SOCKET_BUDGET, Math.floor((openFileLimit - RESERVED_FDS) / Math.max(1, workers))))
}

/** Default flows one source prefix may hold in a table of `limit` flows (services[].max_flows_per_prefix). */
export function prefixFlowLimit(limit: number): number {
  return Math.min(limit, Math.max(MIN_PREFIX_FLOWS, Math.ceil(limit / PREFIX_SHARE)))
}

/** What the admission keeps on each flow. */
export interface AdmittedFlow {
  /** Set once the flow has seen a reply; never cleared. */
  replied: boolean
  /** Source prefix (sourcePrefix), or undefined where flows are not counted by prefix. */
  prefix: string | undefined
}

/** Why a new flow was refused; a data-plane drop reason (counters.ts). */
export type AdmissionRefusal = 'flow_limit' | 'prefix_flow_limit'

export class FlowAdmission<F extends AdmittedFlow> {
  private count = 0
  /** Flows without a reply in creation order (a Set iterates in insertion order): the oldest is first. */
  private readonly unreplied = new Set<F>()
  private readonly unrepliedByPrefix = new Map<string, Set<F>>()
  private readonly perPrefix = new Map<string, number>()

  /**
   * `giveUp(flow)` must forget the flow in the caller's own maps and call
   * `removed(flow)`; it is how the admission makes room.
   */
  constructor(
    readonly limit: number,
    private readonly giveUp: (flow: F) => void,
    readonly prefixLimit = prefixFlowLimit(limit),
  ) {}

  /**
   * Makes room for a new flow from `prefix`, giving up unreplied flows if
   * needed. Returns the number of flows given up (>= 0), or a refusal when
   * the table is full of flows that have seen replies.
   */
  admit(prefix: string | undefined): number | AdmissionRefusal {
    let gaveUp = 0
    // A prefix limit as large as the table is no limit: the table's own check reports it.
    if (prefix !== undefined && this.prefixLimit < this.limit && (this.perPrefix.get(prefix) ?? 0) >= this.prefixLimit) {
      const oldest = first(this.unrepliedByPrefix.get(prefix))
      if (oldest === undefined) return 'prefix_flow_limit'
      this.giveUp(oldest)
      gaveUp++
    }
    if (this.count >= this.limit) {
      if (!this.giveUpOldest()) return 'flow_limit'
      gaveUp++
    }
    return gaveUp
  }

  /** Gives up the oldest unreplied flow; false if every flow has seen a reply. */
  giveUpOldest(): boolean {
    const oldest = first(this.unreplied)
    if (oldest === undefined) return false
    this.giveUp(oldest)
    return true
  }

  added(flow: F): void {
    this.count++
    this.unreplied.add(flow)
    const p = flow.prefix
    if (p === undefined) return
    this.perPrefix.set(p, (this.perPrefix.get(p) ?? 0) + 1)
    let set = this.unrepliedByPrefix.get(p)
    if (set === undefined) this.unrepliedByPrefix.set(p, (set = new Set()))
    set.add(flow)
  }

  /** The flow saw a reply: from now on it has the service's idle timeout and is never given up. */
  replied(flow: F): void {
    if (flow.replied) return
    flow.replied = true
    this.unreplied.delete(flow)
    if (flow.prefix !== undefined) this.forgetUnreplied(flow.prefix, flow)
  }

  removed(flow: F): void {
    this.count--
    const p = flow.prefix
    if (!flow.replied) {
      this.unreplied.delete(flow)
      if (p !== undefined) this.forgetUnreplied(p, flow)
    }
    if (p === undefined) return
    const n = (this.perPrefix.get(p) ?? 1) - 1
    if (n === 0) this.perPrefix.delete(p)
    else this.perPrefix.set(p, n)
  }

  /** How long `flow` may stay idle. */
  idleTimeoutMs(flow: F, serviceIdleMs: number): number {
    return flow.replied ? serviceIdleMs : Math.min(serviceIdleMs, UNREPLIED_FLOW_IDLE_MS)
  }

  private forgetUnreplied(prefix: string, flow: F): void {
    const set = this.unrepliedByPrefix.get(prefix)
    if (set === undefined) return
    set.delete(flow)
    if (set.size === 0) this.unrepliedByPrefix.delete(prefix)
  }
}

function first<T>(set: Set<T> | undefined): T | undefined {
  if (set === undefined) return undefined
  for (const v of set) return v
  return undefined
}

/**
 * The prefix a client address is counted under: its /24 (IPv4, including
 * IPv4-mapped IPv6) or /56 (IPv6). Anything unparsable counts as itself.
 */
export function sourcePrefix(address: string): string {
  const mapped = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
  if (mapped.includes('.') && !mapped.includes(':')) {
    const parts = mapped.split('.')
    return parts.length === 4 ? `${parts[0]}.${parts[1]}.${parts[2]}.0/${V4_PREFIX_BITS}` : mapped
  }
  const bytes = ipv6Bytes(mapped)
  if (bytes === undefined) return address
  return `${bytes.subarray(0, V6_PREFIX_BITS / 8).toString('hex')}/${V6_PREFIX_BITS}`
}
