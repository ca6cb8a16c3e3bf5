/**
 * Process wiring of network-version spreading (rollout/, control/version-bridge.ts)
 * for a relay loaded from a local file:
 *
 * - the version record, a JSON file beside the relay's state file
 *   (`<id>.network.json`), and the network file plus its `.sig`, rewritten
 *   whenever the version a restart should load changes. Both are written to
 *   a temporary file and renamed, so a crash leaves the old or the new file;
 * - the applier (`DaemonOptions.networkApplier`). The daemon passes its
 *   liveApplier (daemon.ts: applied live, as `overpass reload` would);
 *   `restartApplier`, used when none is passed, answers `needs_restart`:
 *   the version is saved as the network file, held aside in status, and
 *   runs after the next restart;
 * - `inspect`: the local file composed with the received bytes and checked
 *   by the same rules as `overpass check` (config/loadLocalWithNetwork).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { ConfigError } from '../config/errors.js'
import { loadLocalWithNetwork, SIGNATURE_SUFFIX } from '../config/local-file.js'
import { parseNetworkBytes } from '../config/network-file.js'
import { rolloutPolicy } from '../config/rollout-policy.js'
import { formatSignatureFile, isValidVersion, parseSignatureFile, type SignedNetworkFile } from '../config/signed-version.js'
import type { RelayConfig } from '../config/types.js'
import { healthFromEdges, VersionBridge, type VersionStore } from '../control/version-bridge.js'
import type { Relay } from '../dataplane/relay.js'
import type { Clock, Timers } from '../io/index.js'
import type { Logger } from '../io/log.js'
import { NetworkVersions } from '../rollout/network-versions.js'
import type { HeldVersion, NetworkApplier, PersistedVersions, VersionInspection } from '../rollout/types.js'
import type { Router } from '../route/types.js'

export class VersionRecordError extends Error {
  override readonly name = 'VersionRecordError'
  constructor(readonly file: string, detail: string) {
    super(`cannot use the network version record ${file}: ${detail} (fix: restore it from a backup, or delete it to start again from the network file on disk, which lifts the anti-rollback floor)`)
  }
}

/** Where live apply is off (DaemonOptions.liveNetworkVersions: false): every version needs a restart (it is saved to disk meanwhile). */
export const restartApplier: NetworkApplier = {
  apply: () => ({ outcome: 'needs_restart', detail: 'this relay does not apply network versions while running (live network versions are off)' }),
}

export function recordPathFor(config: RelayConfig): string | undefined {
  const state = config.relay.stateFile
  return state === undefined ? undefined : join(dirname(state), `${config.relay.id}.network.json`)
}

/** The network file and its signature as the relay started with them. */
export function readRunningVersion(networkFile: string): SignedNetworkFile {
  const bytes = new Uint8Array(readFileSync(networkFile))
  const sig = parseSignatureFile(readFileSync(networkFile + SIGNATURE_SUFFIX, 'utf8'))
  if (!sig.ok) throw new VersionRecordError(networkFile + SIGNATURE_SUFFIX, sig.error)
  return { version: sig.version, bytes, signature: sig.signature }
}

export function inspectorFor(localFile: string, self: string): (bytes: Uint8Array) => VersionInspection {
  return (bytes) => {
    const read = parseNetworkBytes('network.yaml', bytes)
    const raw = read.ok ? read.network.raw : {}
    const relays = Array.isArray(raw.relays) ? raw.relays.map((r) => (r !== null && typeof r === 'object' ? (r as { id?: unknown }).id : undefined)).filter((id): id is string => typeof id === 'string') : []
    const problems: string[] = []
    try {
      loadLocalWithNetwork(localFile, { bytes, version: 1 })
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      problems.push(...err.issues.map((i) => `${i.path}: ${i.message}`))
    }
    if (relays.length > 0 && !relays.includes(self)) problems.push(`relays: relay ${self} is not listed`)
    return { problems, relays, rollout: rolloutPolicy(raw, relays).policy }
  }
}

interface RecordJson {
  onDisk: FileJson
  previous?: FileJson
  newest?: FileJson
  floor: number
  held?: HeldVersion
}
interface FileJson {
  version: number
  bytes: string
  signature: string
}

export class FileVersionStore implements VersionStore {
  private writtenVersion: number

  constructor(
    private readonly recordFile: string,
    private readonly networkFile: string,
    runningVersion: number,
    private readonly log: Logger,
  ) {
    this.writtenVersion = runningVersion
  }

  /** The record from the last run; undefined when there is none yet. Throws VersionRecordError when it is unreadable. */
  load(): PersistedVersions | undefined {
    let text: string
    try {
      text = readFileSync(this.recordFile, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new VersionRecordError(this.recordFile, String((err as NodeJS.ErrnoException).code ?? err))
    }
    try {
      const j = JSON.parse(text) as RecordJson
      if (!isValidVersion(j.floor)) throw new Error('no floor')
      const out: PersistedVersions = { onDisk: fileOf(j.onDisk), floor: j.floor }
      if (j.previous) out.previous = fileOf(j.previous)
      if (j.newest) out.newest = fileOf(j.newest)
      if (j.held) out.held = j.held
      return out
    } catch (err) {
      throw new VersionRecordError(this.recordFile, err instanceof Error ? err.message : String(err))
    }
  }

  save(state: PersistedVersions): void {
    const j: RecordJson = { onDisk: jsonOf(state.onDisk), floor: state.floor }
    if (state.previous) j.previous = jsonOf(state.previous)
    if (state.newest) j.newest = jsonOf(state.newest)
    if (state.held) j.held = state.held
    if (state.onDisk.version !== this.writtenVersion) {
      // The file first, then its signature: a crash in between fails the signature check at start, naming it.
      atomicWrite(this.networkFile, state.onDisk.bytes, 0o644)
      atomicWrite(this.networkFile + SIGNATURE_SUFFIX, formatSignatureFile(state.onDisk.version, state.onDisk.signature), 0o644)
      this.writtenVersion = state.onDisk.version
      this.log.info('network file rewritten; a restart loads this version', { file: this.networkFile, version: state.onDisk.version })
    }
    atomicWrite(this.recordFile, JSON.stringify(j) + '\n', 0o600)
  }
}

function atomicWrite(file: string, data: string | Uint8Array, mode: number): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`)
  writeFileSync(tmp, data, { mode })
  renameSync(tmp, file)
}

function jsonOf(f: SignedNetworkFile): FileJson {
  return { version: f.version, bytes: Buffer.from(f.bytes).toString('base64'), signature: Buffer.from(f.signature).toString('base64') }
}

function fileOf(j: FileJson): SignedNetworkFile {
  if (!isValidVersion(j.version) || typeof j.bytes !== 'string' || typeof j.signature !== 'string') throw new Error('a version entry is malformed')
  return { version: j.version, bytes: new Uint8Array(Buffer.from(j.bytes, 'base64')), signature: new Uint8Array(Buffer.from(j.signature, 'base64')) }
}

export interface NetworkVersionIo {
  clock: Clock
  timers: Timers
  log: Logger
  /** Default restartApplier; the daemon passes its liveApplier (see the header). */
  applier?: NetworkApplier
  /** The version running instead of the network file on disk (bootstrapping: version 0, config/loadBootstrap). */
  running?: SignedNetworkFile
}

/**
 * Starts spreading for a relay loaded from a local file (undefined for a
 * one-file relay: it has no signed network file). Throws VersionRecordError
 * when the network file on disk is older than a version this relay already
 * wrote there (anti-rollback across restarts).
 */
export function startNetworkVersions(config: RelayConfig, relay: Relay, router: Router, io: NetworkVersionIo): VersionBridge | undefined {
  const net = config.network
  if (net === undefined || config.sourcePath === undefined) return undefined
  const self = config.relay.id
  const running = io.running ?? readRunningVersion(net.file)
  const recordFile = recordPathFor(config)
  const store: VersionStore & { load(): PersistedVersions | undefined } =
    recordFile !== undefined ? new FileVersionStore(recordFile, net.file, running.version, io.log) : { load: () => undefined, save: () => {} }
  const persisted = store.load()
  if (persisted !== undefined && persisted.onDisk.version > running.version) {
    throw new VersionRecordError(recordFile!, `the network file ${net.file} is version ${running.version}, older than version ${persisted.onDisk.version} this relay adopted; older versions are refused (to go back, sign the old content as a new version)`)
  }
  const machine = new NetworkVersions({ self, operatorKey: net.operatorKey, running, persisted, inspect: inspectorFor(config.sourcePath, self), startMs: io.clock.nowMs() })
  // Floods arrive every floodIntervalMs; three missed in a row is a stale map.
  const freshMs = MAP_FRESH_FLOODS * config.routing.floodIntervalMs
  const bridge = new VersionBridge(relay, machine, io.applier ?? restartApplier, store, () => healthFromEdges(self, router.edges(), freshMs), io.clock, io.timers, io.log)
  bridge.start()
  io.log.info('network version', { running: running.version, ...(persisted !== undefined ? { floor: persisted.floor } : {}) })
  return bridge
}

/** The operator's `overpass network push`: the named file and its .sig, judged like a version from a peer. */
export function offerFromFile(bridge: VersionBridge | undefined, req: Record<string, unknown>): unknown {
  if (bridge === undefined) throw new Error('this relay has no signed network file (it was started from a one-file config)')
  if (typeof req.file !== 'string') throw new Error('network-offer needs "file"')
  return bridge.offer(readRunningVersion(req.file))
}

const MAP_FRESH_FLOODS = 3
