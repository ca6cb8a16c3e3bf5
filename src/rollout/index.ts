/**
 * rollout/ owns how a signed version of the network file spreads from relay
 * to relay and goes live (docs/operating.md, "Rolling out a version"):
 *
 * - network-versions.ts, the sans-IO state machine: announce, fetch in
 *   chunks, judge (operator signature, anti-rollback floor, the rules of
 *   `overpass check`), hold aside, wait for canaries, roll back;
 * - messages.ts, the kind-4 overlay messages and their strict codec;
 * - types.ts, what it is given (inspection, persisted record, health) and
 *   the actions it returns (send, apply, persist, log).
 *
 * It never applies a version itself: `NetworkApplier` is injected by the
 * driver (control/version-bridge.ts; daemon/network-version.ts holds the hook).
 */
export { NetworkVersions, type NetworkVersionsInit, type OfferVerdict, type VersionStatus } from './network-versions.js'
export { decodeVersionMessage, MAX_NETWORK_FILE_BYTES, type VersionMessage } from './messages.js'
export type { ApplyResult, HeldVersion, NetworkApplier, PersistedVersions, RelayHealth, VersionAction, VersionInspection } from './types.js'
