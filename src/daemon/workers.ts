/**
 * Worker 0's side of a multi-worker relay (`relay.workers` > 1). Starts the
 * extra data-plane workers one after another (each must join the port
 * groups in order: the overlay group steers lane L to its (L mod N)-th
 * member), hands them every session's keys, every path change and every
 * change of where a peer's packets go (its active endpoint), confirms
 * the keypairs they see used first, and keeps their latest stats for
 * `overpass status`. A worker that fails or exits takes the relay down:
 * its lanes would otherwise be silently lost.
 */
import { Worker } from 'node:worker_threads'
import type { DataPlaneConfig } from '../config/data-plane.js'
import type { PeerKeys } from '../crypto/types.js'
import type { PathSnapshot } from '../dataplane/paths.js'
import type { IndexedPeer, LiveService, PeerEndpointState, RelayStats } from '../dataplane/relay.js'
import type { Logger } from '../io/log.js'
import { workerScriptUrl } from '../io/worker-script.js'
import type { FromLaneWorker, LaneWorkerData, ToLaneWorker } from './lane-messages.js'

export class LaneWorkerError extends Error {
  override readonly name = 'LaneWorkerError'
  constructor(readonly worker: number, readonly reason: string) {
    super(`data-plane worker ${worker} failed: ${reason}`)
  }
}

export interface LaneWorkersOptions {
  /** The relay's data-plane config (no private key: workers get session keys from worker 0). */
  plane: DataPlaneConfig
  log: Logger
  cryptoBackend: 'auto' | 'sodium' | 'tweetnacl'
  /** Worker 0's endpoint takes over a keypair another worker saw used first. */
  confirm: (peer: number, localIndex: number) => void
  /** Called once if a worker dies after start (the daemon stops). */
  onFailure: (err: LaneWorkerError) => void
  statsIntervalMs?: number
}

/** The `workerData` worker `index` of `count` starts with. */
export function laneWorkerData(opts: Pick<LaneWorkersOptions, 'plane' | 'cryptoBackend' | 'statsIntervalMs'>, index: number, count: number): LaneWorkerData {
  return { plane: opts.plane, index, count, cryptoBackend: opts.cryptoBackend, statsIntervalMs: opts.statsIntervalMs ?? 1000 }
}

export class LaneWorkers {
  private readonly workers: Worker[] = []
  private readonly stats = new Map<number, RelayStats>()
  /** Latest keys per peer and paths, for workers that start later. */
  private readonly keys = new Map<number, PeerKeys>()
  private paths: PathSnapshot | undefined
  private peerTable: IndexedPeer[] | undefined
  private endpoints: PeerEndpointState[] | undefined
  private stopping = false
  /** Live service changes waiting for every worker's answer, by id. */
  private readonly serviceChanges = new Map<number, { waiting: number; errors: string[]; done: (errors: string[]) => void }>()
  private nextChangeId = 1

  constructor(private readonly opts: LaneWorkersOptions) {}

  /** Starts workers 1..count-1 in order; rejects (with all stopped) if one cannot start. */
  async start(): Promise<void> {
    const count = this.opts.plane.workers
    try {
      for (let i = 1; i < count; i++) await this.startOne(i, count)
    } catch (err) {
      this.stop()
      throw err
    }
  }

  private startOne(index: number, count: number): Promise<void> {
    const data = laneWorkerData(this.opts, index, count)
    const w = new Worker(workerScriptUrl(import.meta.url, 'lane-worker.js'), { workerData: data })
    this.workers.push(w)
    if (this.peerTable !== undefined) w.postMessage({ t: 'peers', table: this.peerTable } satisfies ToLaneWorker)
    if (this.endpoints !== undefined) w.postMessage({ t: 'endpoints', state: this.endpoints } satisfies ToLaneWorker)
    for (const [peer, keys] of this.keys) w.postMessage({ t: 'keys', peer, keys } satisfies ToLaneWorker)
    if (this.paths !== undefined) w.postMessage({ t: 'paths', snap: this.paths } satisfies ToLaneWorker)
    const log = this.opts.log.child({ worker: index })
    return new Promise((resolve, reject) => {
      let ready = false
      const fail = (reason: string): void => {
        const err = new LaneWorkerError(index, reason)
        if (!ready) reject(err)
        else if (!this.stopping) {
          this.stopping = true
          this.opts.onFailure(err)
        }
      }
      w.on('message', (m: FromLaneWorker) => {
        if (m.t === 'ready') {
          ready = true
          resolve()
        } else if (m.t === 'failed') fail(`${m.name}: ${m.error}`)
        else if (m.t === 'confirm') this.opts.confirm(m.peer, m.localIndex)
        else if (m.t === 'stats') this.stats.set(index, m.stats)
        else if (m.t === 'services-done') this.serviceAnswer(m.id, index, m.error)
        else if (m.t === 'log') log[m.level](m.msg, m.fields)
      })
      w.on('error', (err) => fail(err.message))
      w.on('exit', (code) => {
        if (!this.stopping) fail(`exited with code ${code}`)
      })
    })
  }

  /** A peer's keypairs changed on worker 0 (its endpoint's onKeys). */
  keysChanged(peer: number, keys: PeerKeys): void {
    this.keys.set(peer, keys)
    for (const w of this.workers) w.postMessage({ t: 'keys', peer, keys } satisfies ToLaneWorker)
  }

  /**
   * A live config change set the peer table on worker 0: the same indexes
   * everywhere. Worker 0's endpoints follow it (a worker's setPeers starts a
   * moved peer on its first address; worker 0's may already be elsewhere).
   */
  peersChanged(table: IndexedPeer[]): void {
    this.peerTable = table
    for (const w of this.workers) {
      w.postMessage({ t: 'peers', table } satisfies ToLaneWorker)
      if (this.endpoints !== undefined) w.postMessage({ t: 'endpoints', state: this.endpoints } satisfies ToLaneWorker)
    }
  }

  /** Worker 0 moved a peer to another endpoint or gave it new addresses (Relay.onEndpointsChanged). */
  endpointsChanged(state: PeerEndpointState[]): void {
    this.endpoints = state
    for (const w of this.workers) w.postMessage({ t: 'endpoints', state } satisfies ToLaneWorker)
  }

  /**
   * A live change of the services (worker 0 applied it first): every other
   * worker opens the new ports and takes the change. Rejects, naming the
   * worker and its reason, when one could not (that one changed nothing).
   */
  servicesChanged(services: LiveService[]): Promise<void> {
    if (this.workers.length === 0) return Promise.resolve()
    const id = this.nextChangeId++
    return new Promise((resolve, reject) => {
      this.serviceChanges.set(id, { waiting: this.workers.length, errors: [], done: (errors) => (errors.length === 0 ? resolve() : reject(new Error(errors.join('; ')))) })
      for (const w of this.workers) w.postMessage({ t: 'services', id, services } satisfies ToLaneWorker)
    })
  }

  private serviceAnswer(id: number, worker: number, error: string | undefined): void {
    const change = this.serviceChanges.get(id)
    if (change === undefined) return
    if (error !== undefined) change.errors.push(`worker ${worker}: ${error}`)
    if (--change.waiting > 0) return
    this.serviceChanges.delete(id)
    change.done(change.errors)
  }

  /** Worker 0's router changed a path. */
  pathsChanged(snap: PathSnapshot): void {
    this.paths = snap
    for (const w of this.workers) w.postMessage({ t: 'paths', snap } satisfies ToLaneWorker)
  }

  /** The latest stats of each extra worker (at most statsIntervalMs old), by worker index. */
  latestStats(): Map<number, RelayStats> {
    return this.stats
  }

  stop(): void {
    this.stopping = true
    for (const w of this.workers) {
      w.postMessage({ t: 'stop' } satisfies ToLaneWorker)
      // A worker that does not close its port within a second is ended.
      setTimeout(() => void w.terminate(), 1000).unref()
    }
  }
}
