/**
 * One direction-pair of transport keys from one completed handshake, found by
 * the random 32-bit index we chose for it (the receiver index peers put in
 * the outer header). Not shared between peers; owned by one PeerState.
 *
 * With several workers, each worker holds its own copy of a keypair (same
 * keys, its own counters and windows) and seals only on the lanes it owns,
 * so nonces never repeat across threads (wire/outer.ts, lanes).
 */
import { MAX_LANES } from '../wire/outer.js'
import { ReplayWindow } from './replay.js'

export class Keypair {
  /**
   * [packets sealed with this keypair here on all lanes (rekey and reject
   * limits), next counter of lane 0, of lane 1, ...]. One typed array so the
   * native transit fast path (native/transit.c) counts in the same memory,
   * whichever lane its worker seals on.
   */
  readonly counts = new Float64Array(1 + MAX_LANES)
  /** Replay window of lane 0 (the only lane of a single-worker relay). */
  readonly replay = new ReplayWindow()
  private laneReplay: ReplayWindow[] | undefined
  /** Set once a worker has reported this (responder) keypair as used by the peer. */
  confirmReported = false

  constructor(
    readonly peer: number,
    /** Index the peer writes in packets to us. */
    readonly localIndex: number,
    /** Index we write in packets to the peer. */
    readonly remoteIndex: number,
    readonly sendKey: Buffer,
    readonly receiveKey: Buffer,
    /** True if we sent the initiation; only the initiator rekeys on age first. */
    readonly isInitiator: boolean,
    readonly createdMs: number,
  ) {}

  /** Packets sealed with this keypair here, on all lanes. */
  get sendCounter(): number {
    return this.counts[0]
  }

  /** The per-lane counter n for the next packet on `lane` (0 <= lane < MAX_LANES). */
  nextCounter(lane: number): number {
    const counts = this.counts
    counts[0]++
    return counts[1 + lane]++
  }

  /** The replay window of `lane`. */
  replayFor(lane: number): ReplayWindow {
    if (lane === 0) return this.replay
    const windows = (this.laneReplay ??= [])
    return (windows[lane] ??= new ReplayWindow())
  }

  /** Overwrite the keys once the keypair is dropped. */
  wipe(): void {
    this.sendKey.fill(0)
    this.receiveKey.fill(0)
  }
}
