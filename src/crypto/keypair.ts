/**
 * One direction-pair of transport keys from one completed handshake, found by
 * the random 32-bit index we chose for it (the receiver index peers put in
 * the outer header). Not shared between peers; owned by one PeerState.
 */
import { ReplayWindow } from './replay.js'

export class Keypair {
  /** Counter for the next packet we send; starts at 0 and only increases. */
  sendCounter = 0
  readonly replay = new ReplayWindow()

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

  /** Overwrite the keys once the keypair is dropped. */
  wipe(): void {
    this.sendKey.fill(0)
    this.receiveKey.fill(0)
  }
}
