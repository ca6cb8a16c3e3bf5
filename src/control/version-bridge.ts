/**
 * Runs a relay's network-version state machine (rollout/) on real I/O:
 * ticks it on injected timers with the relay's health read from the
 * router's map, hands it kind-4 overlay messages, and carries out what it
 * asks: sends (sealed kind-4 plaintexts), applies (the injected
 * NetworkApplier, sync or async), persists (the injected VersionStore) and
 * logs. Every handler is contained: an exception is counted and logged
 * (at most a few times), never thrown into the receive loop.
 */
import type { SignedNetworkFile } from '../config/signed-version.js'
import type { OverlayPeer, Relay, VersionSink } from '../dataplane/relay.js'
import type { Clock, Logger, TimerHandle, Timers } from '../io/index.js'
import type { NetworkVersions, OfferVerdict, VersionStatus } from '../rollout/network-versions.js'
import type { NetworkApplier, PersistedVersions, RelayHealth, VersionAction } from '../rollout/types.js'
import type { EdgeView } from '../route/types.js'
import { KIND_NETWORK_VERSION } from '../wire/data.js'

/** How often the version machine is ticked (announcements, fetch retries, canary gate, rollback watch). */
export const VERSION_TICK_MS = 250
const MAX_LOGGED_ERRORS = 10

/** Where the version record is kept across restarts (daemon/version-store.ts; tests keep it in memory). */
export interface VersionStore {
  save(state: PersistedVersions): void
}

export type VersionTransport = Pick<Relay, 'attachVersionSink' | 'peerById' | 'sendPlain' | 'drops'>

/**
 * Health from the router's map: peers whose edge from this relay is up, and
 * whether any other relay's edge was heard within `freshMs` (its floods arrive).
 */
export function healthFromEdges(self: string, edges: readonly EdgeView[], freshMs: number): RelayHealth {
  let peersUp = 0
  let mapFresh = false
  for (const e of edges) {
    if (e.from === self) {
      if (e.up) peersUp++
    } else if (e.ageMs <= freshMs) mapFresh = true
  }
  return { peersUp, mapFresh }
}

export class VersionBridge implements VersionSink {
  private readonly out = Buffer.allocUnsafe(65_536)
  private timer: TimerHandle | undefined
  private errors = 0

  constructor(
    private readonly relay: VersionTransport,
    readonly machine: NetworkVersions,
    private readonly applier: NetworkApplier,
    private readonly store: VersionStore,
    private readonly health: () => RelayHealth,
    private readonly clock: Clock,
    private readonly timers: Timers,
    private readonly log: Logger,
    private readonly tickMs = VERSION_TICK_MS,
  ) {}

  start(): void {
    this.relay.attachVersionSink(this)
    const loop = (): void => {
      this.timer = this.timers.setTimeout(loop, this.tickMs)
      this.guard('tick', () => this.run(this.machine.tick(this.clock.nowMs(), this.health())))
    }
    loop()
  }

  stop(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer)
    this.timer = undefined
  }

  onNetworkVersion(peer: OverlayPeer, body: Buffer, nowMs: number): void {
    this.guard('message', () => this.run(this.machine.onMessage(nowMs, peer.id, body)))
  }

  /** The operator's push through the control socket. */
  offer(file: SignedNetworkFile): OfferVerdict {
    const { verdict, actions } = this.machine.offer(this.clock.nowMs(), file)
    this.run(actions)
    return verdict
  }

  status(): VersionStatus {
    return this.machine.status(this.clock.nowMs())
  }

  private run(actions: VersionAction[]): void {
    for (const a of actions) {
      if (a.kind === 'send') this.send(a.to, a.bytes)
      else if (a.kind === 'log') this.log[a.level](a.msg, a.fields)
      else if (a.kind === 'persist') this.guard('persist', () => this.store.save(a.state))
      else this.apply(a.file, a.why)
    }
  }

  private apply(file: SignedNetworkFile, why: 'adopt' | 'rollback'): void {
    const done = (r: Parameters<NetworkVersions['onApplied']>[2]): void => this.guard('applied', () => this.run(this.machine.onApplied(this.clock.nowMs(), file.version, r)))
    const failed = (err: unknown): void => done({ outcome: 'failed', detail: err instanceof Error ? err.message : String(err) })
    try {
      const r = this.applier.apply(file, why)
      if (r instanceof Promise) r.then(done, failed)
      else done(r)
    } catch (err) {
      failed(err)
    }
  }

  private send(to: string, bytes: Uint8Array): void {
    const peer = this.relay.peerById(to)
    if (peer === undefined) return
    this.out[0] = KIND_NETWORK_VERSION
    this.out.set(bytes, 1)
    this.relay.sendPlain(peer, this.out, 1 + bytes.length)
  }

  private guard(where: string, fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.relay.drops.add('version_handler_error')
      if (++this.errors <= MAX_LOGGED_ERRORS) this.log.error('network-version handler failed; input dropped', { where, error: err instanceof Error ? err.message : String(err) })
    }
  }
}
