/**
 * Relay kills and restarts during a lab run (scenario events `kill` and
 * `start`), and what they show: a kill is SIGKILL (a crash), a start runs
 * `overpass up` again with the same config, keys and state file. After a
 * start it follows the restarted relay until it is back in the overlay:
 *
 * - `boot_id` from its status, next to the one before the kill (a restart
 *   must come back with a new one, or peers would take its fresh map
 *   numbering for stale updates);
 * - `sessions_ms`: when it has a session with every peer again (it
 *   re-handshook: its keys died with the process);
 * - `map_accepted_ms`: per peer, when that peer's map first held a column
 *   of the restarted relay received after the start (so the map took the
 *   new boot at once rather than waiting for the old numbering to pass);
 * - `replay_drops`: initiations the peers refused as replays meanwhile (the
 *   restarted relay's handshakes must not look like replays).
 *
 * `drop-data` tells the PoP's running relay to drop the data it forwards as
 * a transit while it keeps answering probes (daemon/test-faults.ts; the lab
 * starts relays with OVERPASS_TEST_FAULTS=1), and follows the other relays'
 * `routes` until one has demoted a path from its path reports:
 * `demoted_ms` and `demotions` (per PoP, from `path_checks`).
 * `forward-data` ends the fault.
 *
 * The network changes (join, rotate-key, move-endpoint, remove,
 * canary-cut, add-service, bad-canary; relays.network: signed) are carried out by
 * network-changes.ts, one after another; their results list each step.
 *
 * All times are ms since traffic t0. Polls are bounded (FOLLOW_MS).
 */
import fs from 'node:fs'
import path from 'node:path'
import { controlRequest } from '../../src/daemon/control-server.js'
import type { EdgeView } from '../../src/route/types.js'
import { monoMs } from '../traffic/index.js'
import type { RelayEvent } from '../scenario/index.js'
import type { LabRun } from '../topo/up.js'
import { controlSocket, killRelay, startRelay, type RelayProcs } from './relays.js'
import { NetworkChanges, type NetworkChangeResult } from './network-changes.js'
import { NETWORK_ACTIONS } from '../scenario/schema.js'
import type { NetworkAction } from '../scenario/types.js'

const isNetworkAction = (a: string): a is NetworkAction => (NETWORK_ACTIONS as readonly string[]).includes(a)

/** How long to follow a restarted relay before giving up on what has not happened. */
export const FOLLOW_MS = 15_000
const POLL_MS = 100

/** A network change's fields (steps, versions, what the canary held...) come from network-changes.ts as they are. */
export interface RelayEventResult extends Partial<NetworkChangeResult> {
  at_ms: number
  pop: string
  action: RelayEvent['action']
  /** kill: when the process was gone; start: when it was spawned; drop-data/forward-data: when the relay took the fault. */
  applied_ms: number
  /** start: when its control socket answered. */
  ready_ms?: number
  boot_id?: number
  /** start: the boot id before the kill. */
  previous_boot_id?: number
  /** start: whether the state file (handshake timestamps) was there to read. */
  state_file?: boolean
  sessions_ms?: number | null
  map_accepted_ms?: Record<string, number | null>
  replay_drops?: number
  /** drop-data: when another relay's routes first showed a demotion (null: not within FOLLOW_MS). */
  demoted_ms?: number | null
  /** drop-data: demotions per PoP at that time (`overpass routes`, path_checks). */
  demotions?: Record<string, number>
  error?: string
}

type Status = { boot_id?: number; peers?: Record<string, { session?: boolean }>; crypto?: { total?: { drops?: Record<string, number> } } }

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)))

export class RelayEvents {
  readonly results: RelayEventResult[] = []
  private readonly tasks: Promise<void>[] = []
  private readonly bootBefore = new Map<string, number>()
  private readonly replayBefore = new Map<string, number>()
  private stopped = false

  constructor(private readonly lab: LabRun, private readonly procs: RelayProcs, private readonly t0Ms: number) {}

  /**
   * Schedules every event; events of one PoP run one after the other, and
   * so do all network changes (each builds on the version before it): a
   * change that is due while the one before is still under way starts when
   * that one is done.
   */
  start(events: readonly RelayEvent[]): void {
    const chains = new Map<string, Promise<void>>()
    for (const e of events) {
      const chain = isNetworkAction(e.action) ? 'network changes' : e.pop
      const prev = chains.get(chain) ?? Promise.resolve()
      const next = prev.then(() => this.run(e)).catch((err: unknown) => {
        this.results.push({ at_ms: e.atMs, pop: e.pop, action: e.action, applied_ms: NaN, error: (err as Error).message })
      })
      chains.set(chain, next)
      this.tasks.push(next)
    }
  }

  /** Waits for every scheduled event and its follow-up; results in time order. */
  async done(): Promise<RelayEventResult[]> {
    await Promise.all(this.tasks)
    return this.results.sort((a, b) => a.at_ms - b.at_ms)
  }

  /** Ends follow-up polls early (the run is ending). */
  stop(): void {
    this.stopped = true
  }

  private now(): number {
    return +(monoMs() - this.t0Ms).toFixed(1)
  }

  private async status(pop: string): Promise<Status | undefined> {
    return controlRequest(controlSocket(this.lab, pop), { cmd: 'status' }, 1000).then((s) => s as Status, () => undefined)
  }

  private peersOf(pop: string): string[] {
    return this.lab.scenario.pops.filter((p) => p !== pop && this.procs.children.get(p) !== undefined)
  }

  private async replayDrops(peers: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>()
    for (const p of peers) {
      const s = await this.status(p)
      out.set(p, s?.crypto?.total?.drops?.handshake_replay ?? 0)
    }
    return out
  }

  private async run(e: RelayEvent): Promise<void> {
    await sleep(this.t0Ms + e.atMs - monoMs())
    if (isNetworkAction(e.action)) return this.networkChange(e, e.action)
    if (e.action === 'drop-data' || e.action === 'forward-data') return this.fault(e)
    if (e.action === 'kill') {
      const before = await this.status(e.pop)
      if (before?.boot_id !== undefined) this.bootBefore.set(e.pop, before.boot_id)
      for (const [p, n] of await this.replayDrops(this.peersOf(e.pop))) this.replayBefore.set(`${e.pop}/${p}`, n)
      await killRelay(this.procs, e.pop)
      this.results.push({ at_ms: e.atMs, pop: e.pop, action: 'kill', applied_ms: this.now() })
      return
    }
    const stateFile = path.join(this.lab.state.dir, `${e.pop}.state.json`)
    const r: RelayEventResult = { at_ms: e.atMs, pop: e.pop, action: 'start', applied_ms: this.now(), state_file: fs.existsSync(stateFile) }
    this.results.push(r)
    const status = (await startRelay(this.lab, this.procs, e.pop)) as Status
    r.ready_ms = this.now()
    r.boot_id = status.boot_id
    if (this.bootBefore.has(e.pop)) r.previous_boot_id = this.bootBefore.get(e.pop)
    await this.follow(e.pop, r)
  }

  private async networkChange(e: RelayEvent, action: NetworkAction): Promise<void> {
    if (this.procs.kit === undefined) throw new Error(`${action} needs relays.network: signed`)
    const r: RelayEventResult = { at_ms: e.atMs, pop: e.pop, action, applied_ms: this.now() }
    this.results.push(r)
    const changes = new NetworkChanges(this.lab, this.procs, this.procs.kit, this.t0Ms)
    try {
      Object.assign(r, await changes.run(action, e.pop))
    } catch (err) {
      r.error = (err as Error).message
    }
  }

  /** Sets the test fault, and after drop-data follows the other relays' demotions. */
  private async fault(e: RelayEvent): Promise<void> {
    const drop = e.action === 'drop-data'
    await controlRequest(controlSocket(this.lab, e.pop), { cmd: 'test-fault', drop_transit_data: drop }, 1000)
    const r: RelayEventResult = { at_ms: e.atMs, pop: e.pop, action: e.action, applied_ms: this.now() }
    this.results.push(r)
    if (!drop) return
    r.demoted_ms = null
    const deadline = monoMs() + FOLLOW_MS
    while (!this.stopped && monoMs() < deadline) {
      const counts: Record<string, number> = {}
      for (const p of this.peersOf(e.pop)) {
        const routes = await controlRequest(controlSocket(this.lab, p), { cmd: 'routes' }, 1000).catch(() => undefined)
        counts[p] = (routes as { path_checks?: { demotions?: number } } | undefined)?.path_checks?.demotions ?? 0
      }
      if (Object.values(counts).some((n) => n > 0)) {
        r.demoted_ms = this.now()
        r.demotions = counts
        return
      }
      await sleep(POLL_MS)
    }
  }

  /** Polls the restarted relay and its peers until it has every session and every peer's map took its column. */
  private async follow(pop: string, r: RelayEventResult): Promise<void> {
    const peers = this.peersOf(pop)
    const accepted: Record<string, number | null> = Object.fromEntries(peers.map((p) => [p, null]))
    r.sessions_ms = null
    const deadline = monoMs() + FOLLOW_MS
    while (!this.stopped && monoMs() < deadline) {
      if (r.sessions_ms === null) {
        const s = await this.status(pop)
        if (s?.peers && peers.every((p) => s.peers![p]?.session === true)) r.sessions_ms = this.now()
      }
      for (const p of peers) {
        if (accepted[p] !== null) continue
        const at = this.now()
        const map = (await controlRequest(controlSocket(this.lab, p), { cmd: 'map' }, 1000).catch(() => undefined)) as { edges: EdgeView[] } | undefined
        // The column of `pop` holds the edges into it; its age is the time since the peer last took an update of it.
        const ages = (map?.edges ?? []).filter((x) => x.to === pop).map((x) => x.ageMs)
        if (ages.length > 0 && at - Math.min(...ages) > r.applied_ms) accepted[p] = +(at - Math.min(...ages)).toFixed(1)
      }
      if (r.sessions_ms !== null && Object.values(accepted).every((v) => v !== null)) break
      await sleep(POLL_MS)
    }
    r.map_accepted_ms = accepted
    const after = await this.replayDrops(peers)
    r.replay_drops = peers.reduce((sum, p) => sum + (after.get(p) ?? 0) - (this.replayBefore.get(`${pop}/${p}`) ?? 0), 0)
  }
}
