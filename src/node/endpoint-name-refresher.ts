/**
 * Keeps the addresses of peers given by DNS name current, for the peers the
 * relay has now: those at start (endpoint-names.ts resolved them) and those
 * a live change adds or moves to a name (node/live-apply.ts).
 *
 *   const names = new EndpointNameRefresher(await resolveEndpointNames(written, resolver), deps)
 *   const live = names.liveControl(node.live, written)   // what live changes act on
 *   names.start(); ...; names.stop()
 *
 * Each peer is looked up again when its own names' TTL runs out (clamped to
 * MIN/MAX_REFRESH_S, a failed lookup retried after MIN_REFRESH_S), and the
 * relay is handed its new addresses when they changed (`deps.apply`).
 *
 * Live changes compare and keep configs as written (names, not addresses):
 * a name that resolves elsewhere is not a change of the network file.
 * Before a change is applied, `prepare` resolves every name it brings (a
 * new peer's, or a peer moved to another name); one that does not resolve
 * makes the change invalid, so nothing of it is applied. The data plane is
 * then given addresses only (`liveControl` translates). Once a change is
 * committed, peers it removed are no longer looked up.
 */
import type { ConfigIssue } from '../config/errors.js'
import type { PeerConfig, RelayConfig } from '../config/types.js'
import type { DnsResolver } from '../io/dns.js'
import type { Clock, Logger, TimerHandle, Timers } from '../io/index.js'
import type { LiveNodeControl } from './live-apply.js'
import { addressesOf, clampTtl, hasNames, MIN_REFRESH_S, sameAddresses, text, withEndpoints, type NamedPeer, type ResolvedNames } from './endpoint-names.js'

export interface EndpointNameRefresherDeps {
  resolver: DnsResolver
  clock: Clock
  timers: Timers
  log: Logger
  /** Gives a peer its new addresses (the relay's setPeerEndpoints). */
  apply: (peer: string, addresses: NamedPeer['current']) => void
}

/** A named peer with when it is due for a lookup. */
interface Tracked extends NamedPeer {
  dueMs: number
}

export class EndpointNameRefresher {
  private peers = new Map<string, Tracked>()
  /** Names a change being applied brings, resolved by `prepare`, until `commit`. */
  private readonly pending = new Map<string, Tracked>()
  private timer: TimerHandle | undefined
  private refreshing = false
  private stopped = true

  constructor(resolved: Pick<ResolvedNames, 'named'>, private readonly deps: EndpointNameRefresherDeps) {
    const now = deps.clock.nowMs()
    for (const p of resolved.named) this.peers.set(p.id, { ...p, dueMs: now + p.ttlS * 1000 })
  }

  /** The peers whose names are looked up (tests, logs). */
  get tracked(): string[] {
    return [...this.peers.keys()]
  }

  start(): void {
    this.stopped = false
    this.schedule()
  }

  /** No lookup is scheduled after this, even from one in flight. */
  stop(): void {
    this.stopped = true
    if (this.timer !== undefined) this.deps.timers.clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Looks up every peer whose TTL ran out; returns when done (tests await it). */
  async refreshDue(): Promise<void> {
    const { clock, log, resolver } = this.deps
    for (const [id, p] of [...this.peers]) {
      if (p.dueMs > clock.nowMs()) continue
      const r = await addressesOf(p.written, resolver)
      // Removed (or moved to another name) by a live change meanwhile: its lookup is void.
      if (this.peers.get(id) !== p) continue
      if (typeof r === 'string') {
        log.warn('endpoint name does not resolve; keeping the addresses in use', { peer: id, error: r.replace('\n', ': ') })
        p.dueMs = clock.nowMs() + MIN_REFRESH_S * 1000
        continue
      }
      p.dueMs = clock.nowMs() + clampTtl(r.ttlS) * 1000
      if (sameAddresses(p.current, r.addresses)) continue
      log.info('peer endpoints changed by DNS', { peer: id, from: p.current.map(text), to: r.addresses.map(text) })
      p.current = r.addresses
      this.deps.apply(id, r.addresses)
    }
  }

  /**
   * Resolves the names `next` brings that are not looked up already; the
   * issues of those that do not resolve (then `next` must not be applied).
   */
  async prepare(next: RelayConfig): Promise<ConfigIssue[]> {
    this.pending.clear()
    const issues: ConfigIssue[] = []
    for (const [i, p] of next.peers.entries()) {
      const written = p.endpoints ?? [p.endpoint]
      if (!hasNames(written) || this.known(p.id, written) !== undefined) continue
      const r = await addressesOf(written, this.deps.resolver)
      if (typeof r === 'string') {
        const [host, why] = r.split('\n')
        issues.push({ path: `peers[${i}].${p.endpoints ? 'endpoints' : 'endpoint'}`, message: `peer "${p.id}": endpoint ${host} does not resolve: ${why}`, fix: 'check the name in the network file, or give the address' })
        continue
      }
      const ttlS = clampTtl(r.ttlS)
      this.pending.set(p.id, { id: p.id, written, current: r.addresses, ttlS, dueMs: this.deps.clock.nowMs() + ttlS * 1000 })
    }
    return issues
  }

  /** `p` with its names replaced by their addresses (as the data plane takes it). */
  resolvedPeer(p: PeerConfig): PeerConfig {
    const written = p.endpoints ?? [p.endpoint]
    if (!hasNames(written)) return p
    const t = this.known(p.id, written)
    // prepare() resolves every name before anything is applied: a miss is a bug, never a name on the wire.
    if (t === undefined) throw new Error(`peer "${p.id}": endpoint names were not resolved before the change was applied`)
    return withEndpoints(p, t.current)
  }

  resolvedConfig(c: RelayConfig): RelayConfig {
    return { ...c, peers: c.peers.map((p) => this.resolvedPeer(p)) }
  }

  /** `next` is applied: its named peers are looked up from now on, and only they. */
  commit(next: RelayConfig): void {
    const keep = new Map<string, Tracked>()
    for (const p of next.peers) {
      const written = p.endpoints ?? [p.endpoint]
      const t = hasNames(written) ? this.known(p.id, written) : undefined
      if (t !== undefined) keep.set(p.id, t)
    }
    const dropped = [...this.peers.keys()].filter((id) => keep.get(id) !== this.peers.get(id))
    const added = [...keep.keys()].filter((id) => keep.get(id) !== this.peers.get(id))
    if (dropped.length + added.length > 0) this.deps.log.info('endpoint names followed', { added, dropped })
    this.peers = keep
    this.pending.clear()
    this.schedule()
  }

  /**
   * What live changes act on (applyNetworkChange): `inner` (the node's),
   * with configs kept as written, names resolved by `prepare` first and
   * only addresses handed to the node.
   */
  liveControl(inner: LiveNodeControl, written: RelayConfig): LiveNodeControl {
    let applied = written
    const own: Partial<LiveNodeControl> = {
      setPeers: (table) => inner.setPeers(table.map(({ index, peer }) => ({ index, peer: this.resolvedPeer(peer) }))),
      handOver: (next, onTakeOver) => inner.handOver(this.resolvedConfig(next), onTakeOver),
      commit: (next) => {
        inner.commit(this.resolvedConfig(next))
        this.commit(next)
        applied = next
      },
      prepare: (next) => this.prepare(next),
    }
    // Everything else is the node's own (members added to LiveNodeControl later pass through unchanged).
    return new Proxy(inner, {
      get: (target, key) => (key === 'config' ? applied : Object.hasOwn(own, key) ? own[key as keyof LiveNodeControl] : Reflect.get(target, key)),
    })
  }

  /** The tracked or just-resolved entry for a peer written as `written`. */
  private known(id: string, written: NamedPeer['written']): Tracked | undefined {
    for (const t of [this.peers.get(id), this.pending.get(id)]) if (t !== undefined && sameAddresses(t.written, written)) return t
    return undefined
  }

  private schedule(): void {
    if (this.timer !== undefined) this.deps.timers.clearTimeout(this.timer)
    this.timer = undefined
    // A refresh under way schedules the next one when it ends.
    if (this.stopped || this.refreshing || this.peers.size === 0) return
    const dueMs = Math.min(...[...this.peers.values()].map((p) => p.dueMs))
    this.timer = this.deps.timers.setTimeout(() => {
      this.timer = undefined
      this.refreshing = true
      void this.refreshDue()
        .catch((err: unknown) => {
          this.deps.log.warn('endpoint refresh failed', { error: err instanceof Error ? err.message : String(err) })
          // Whatever it did not get to waits MIN_REFRESH_S, so a failing refresh cannot spin.
          const now = this.deps.clock.nowMs()
          for (const p of this.peers.values()) if (p.dueMs <= now) p.dueMs = now + MIN_REFRESH_S * 1000
        })
        .finally(() => {
          this.refreshing = false
          this.schedule()
        })
    }, Math.max(0, dueMs - this.deps.clock.nowMs()))
  }
}
