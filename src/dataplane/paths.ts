/**
 * Where the data plane gets relay paths. The ingress asks once per packet
 * (a map lookup into an immutable snapshot, no computation); the exit asks
 * for reply paths. `StaticPaths` serves the paths written in the config;
 * the latency-driven router supplies its own implementation.
 */
import type { ServiceRoles } from '../config/data-plane.js'
import type { ServiceConfig } from '../config/types.js'
import { nameId } from '../wire/ids.js'

/** A relay path as node ids; `nodes` is shared and must not be modified. */
export interface PathRef {
  nodes: Uint32Array
  /** Second, edge-disjoint path for redundant services. */
  backup?: PathRef
}

export interface PathProvider {
  /** Path from this relay (an ingress of `service`) to an exit, or undefined when none is known. */
  forward(service: ServiceConfig): PathRef | undefined
  /**
   * Path from this relay to one exit of `service` (a flow's sticky exit,
   * flow-exits.ts), or undefined when that exit is unreachable or its origin
   * leg is down. Without it, a flow keeps its exit only while it is the best one.
   */
  forwardVia?(service: ServiceConfig, exitNode: number): PathRef | undefined
  /**
   * Path from this relay (an exit) back to `ingressNode`. `arrived` is the
   * path the forward packet took (ingress first), for providers that reverse it.
   */
  reply(service: ServiceConfig, ingressNode: number, arrived: Uint32Array, arrivedLen: number): PathRef | undefined
}

export function pathRef(names: string[]): PathRef {
  return { nodes: Uint32Array.from(names.map(nameId)) }
}

/** Paths straight from the config: the first matching static path, else direct to the first exit. */
export class StaticPaths implements PathProvider {
  private readonly forwardBy = new Map<string, PathRef>()
  private readonly replyBy = new Map<string, Map<number, PathRef>>()
  // Scratch for reversed paths: one view per length, so replies allocate nothing.
  private readonly reversed = new Uint32Array(8)
  private readonly reversedViews: PathRef[] = Array.from({ length: 9 }, (_, n) => ({ nodes: this.reversed.subarray(0, n) }))

  /** `services`: every service with its roles at relay `self` (config/data-plane.ts). */
  constructor(self: string, services: ServiceRoles[]) {
    for (const { cfg: s, isIngress } of services) {
      if (isIngress) {
        const p = s.paths.find((p) => p[0] === self) ?? (s.exits.includes(self) ? [self, self] : [self, s.exits[0]])
        this.forwardBy.set(s.name, pathRef(p))
      }
      const replies = new Map<number, PathRef>()
      for (const p of s.replyPaths) if (p[0] === self) replies.set(nameId(p[p.length - 1]), pathRef(p))
      this.replyBy.set(s.name, replies)
    }
  }

  forward(service: ServiceConfig): PathRef | undefined {
    return this.forwardBy.get(service.name)
  }

  /** A static path has one exit: the path is there for that exit only. */
  forwardVia(service: ServiceConfig, exitNode: number): PathRef | undefined {
    const p = this.forwardBy.get(service.name)
    return p !== undefined && p.nodes[p.nodes.length - 1] === exitNode ? p : undefined
  }

  reply(service: ServiceConfig, ingressNode: number, arrived: Uint32Array, arrivedLen: number): PathRef | undefined {
    const configured = this.replyBy.get(service.name)?.get(ingressNode)
    if (configured) return configured
    // Default: back the way the packet came, written into the scratch array.
    const out = this.reversed
    for (let i = 0; i < arrivedLen; i++) out[i] = arrived[arrivedLen - 1 - i]
    return this.reversedViews[arrivedLen]
  }
}

/** Forward paths by service name, and reply paths by service then ingress node. */
export interface PathSnapshot {
  forward: Map<string, PathRef>
  reply: Map<string, Map<number, PathRef>>
  /**
   * Services with several exits: a path to each usable exit by exit node
   * (the best one's is `forward`), for flows that keep their exit
   * (flow-exits.ts). An exit that is unreachable or whose origin leg is
   * down is absent.
   */
  forwardByExit?: Map<string, Map<number, PathRef>>
}

/**
 * Paths from a snapshot someone else computes (the router bridge on worker 0,
 * copied to the other workers), with pinned services served statically. A
 * lookup is one map get; `set` swaps the whole snapshot.
 */
export class SnapshotPaths implements PathProvider {
  private snap: PathSnapshot = { forward: new Map(), reply: new Map() }
  private statics: StaticPaths
  private pinned: Set<string>

  constructor(private readonly self: string, services: ServiceRoles[]) {
    this.statics = new StaticPaths(self, services)
    this.pinned = new Set(services.filter((s) => s.pinned).map((s) => s.cfg.name))
  }

  /** The services changed live (node/live-apply.ts): pinned ones are served from their new static paths. */
  setServices(services: ServiceRoles[]): void {
    this.statics = new StaticPaths(this.self, services)
    this.pinned = new Set(services.filter((s) => s.pinned).map((s) => s.cfg.name))
  }

  /** Services with `paths` in the config: served as written, never routed. */
  isPinned(service: string): boolean {
    return this.pinned.has(service)
  }

  get current(): PathSnapshot {
    return this.snap
  }

  set(snap: PathSnapshot): void {
    this.snap = snap
  }

  forward(service: ServiceConfig): PathRef | undefined {
    if (this.isPinned(service.name)) return this.statics.forward(service)
    return this.snap.forward.get(service.name)
  }

  forwardVia(service: ServiceConfig, exitNode: number): PathRef | undefined {
    if (this.isPinned(service.name)) return this.statics.forwardVia(service, exitNode)
    const best = this.snap.forward.get(service.name)
    if (best !== undefined && best.nodes[best.nodes.length - 1] === exitNode) return best
    return this.snap.forwardByExit?.get(service.name)?.get(exitNode)
  }

  reply(service: ServiceConfig, ingressNode: number, arrived: Uint32Array, arrivedLen: number): PathRef | undefined {
    if (this.isPinned(service.name)) return this.statics.reply(service, ingressNode, arrived, arrivedLen)
    return this.snap.reply.get(service.name)?.get(ingressNode)
  }
}
