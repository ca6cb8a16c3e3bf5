/**
 * What the network-version state machine (network-versions.ts) is given and
 * what it asks for. It does no I/O: applying a version, persisting the
 * record and sending messages are actions its driver carries out
 * (control/version-bridge.ts in a relay, plain loops in tests).
 */
import type { RolloutPolicy } from '../config/rollout-policy.js'
import type { SignedNetworkFile } from '../config/signed-version.js'

export type { RolloutPolicy }

/** What a relay learns of a signed file's content before adopting it (the same rules as `overpass check`). */
export interface VersionInspection {
  /** Problems for this relay (empty: it could run this version). */
  problems: readonly string[]
  /** Every relay id the version lists (messages from anyone else are dropped). */
  relays: readonly string[]
  rollout: RolloutPolicy
}


/**
 * How a version goes live. The state machine asks for an apply with an
 * `apply` action and is told the outcome with `onApplied`; the applier must
 * apply all of the version or none of it.
 */
export type ApplyResult =
  | { outcome: 'applied' }
  /** Valid, but this process cannot take it live; it is persisted and runs after a restart. */
  | { outcome: 'needs_restart'; detail: string }
  /** Nothing was changed. */
  | { outcome: 'failed'; detail: string }

export interface NetworkApplier {
  apply(file: SignedNetworkFile, why: 'adopt' | 'rollback'): ApplyResult | Promise<ApplyResult>
}

/** Why a version is not running although it is known (status and logs). */
export type HeldReason = 'invalid' | 'needs_restart' | 'apply_failed' | 'waiting_canaries' | 'rolled_back'

export interface HeldVersion {
  version: number
  reason: HeldReason
  detail: string
}

/** What survives a restart (daemon/version-store.ts writes it; tests keep it in memory). */
export interface PersistedVersions {
  /** The version a restart loads: the network file and its .sig are rewritten to it. */
  onDisk: SignedNetworkFile
  /** The version before onDisk, the one a rollback returns to. */
  previous?: SignedNetworkFile
  /** The highest signature-checked version held (served to peers). */
  newest?: SignedNetworkFile
  /** Anti-rollback: versions at or below this are never fetched or adopted again. */
  floor: number
  held?: HeldVersion
}

export type VersionAction =
  | { kind: 'send'; to: string; bytes: Uint8Array }
  | { kind: 'apply'; file: SignedNetworkFile; why: 'adopt' | 'rollback' }
  | { kind: 'persist'; state: PersistedVersions }
  | { kind: 'log'; level: 'info' | 'warn' | 'error'; msg: string; fields: Record<string, unknown> }

/** The relay's health as the control plane sees it, fed on each tick. */
export interface RelayHealth {
  /** Peers with a live, probed session now. */
  peersUp: number
  /** The latency map has fresh entries from other relays (the floods arrive). */
  mapFresh: boolean
}
