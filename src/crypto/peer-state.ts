/**
 * Everything the endpoint knows about one peer: its identity, up to four
 * keypairs in three roles, the initiation in flight, and the packets waiting
 * for a first session.
 *
 *   current   confirmed; the only keypair we send on
 *   next      responder side, not yet confirmed (waits for the initiator's
 *             first transport packet on it); receive only
 *   previous  replaced keypairs, newest first; receive only, so packets in
 *             flight across a rekey still decrypt
 */
import type { InitiatorState, RemoteIdentity } from './handshake.js'
import type { Keypair } from './keypair.js'
import { TokenBucket } from './rate-limit.js'
import { Counters } from './stats.js'

/** Receive-only old keypairs kept per peer; two covers a simultaneous rekey. */
export const MAX_PREVIOUS = 2

export interface PendingHandshake {
  state: InitiatorState
  /** 1 for the first initiation, +1 per retry. */
  attempt: number
  nextRetryMs: number
  /** mac1 of the initiation sent: a cookie reply for it is sealed under it (cookie.ts). */
  mac1: Buffer
  /** A response has been tried against this initiation: later ones are dropped before any DH. */
  responseSpent: boolean
  /** This initiation was sent at once because of a cookie reply: the next cookie reply waits for the timer. */
  cookieResent: boolean
}

export class PeerState {
  current: Keypair | null = null
  next: Keypair | null = null
  previous: Keypair[] = []
  handshake: PendingHandshake | null = null
  /** Highest initiation timestamp accepted from this peer (0: none yet). */
  lastTimestamp = 0
  /** Spent only by initiations whose timestamp authenticated (the peer's own). */
  readonly limiter = new TokenBucket()
  /** Last cookie this peer gave us (it was under load), for mac2 on our initiations. */
  cookie: Buffer | null = null
  cookieReceivedMs = 0
  readonly queue: Buffer[] = []
  /** Lane of each queued packet. */
  readonly queueLanes: number[] = []
  readonly counters = new Counters()
  /**
   * The peer's other listed key during a key rotation (EndpointPeer.nextPublicKey),
   * or null. Initiations from either are accepted; ours alternate between the
   * two on retries until one is answered, which then stays `remote`.
   */
  alt: RemoteIdentity | null = null

  constructor(
    readonly index: number,
    /** Its static key as we know it; replaced in place by a live key change (keypairs stay). */
    public remote: RemoteIdentity,
    /** Byte order of static keys decides simultaneous initiations: lower key keeps its initiation. */
    public weWinTies: boolean,
    /** What cookies we give this peer are bound to: its source address (types.ts EndpointPeer.address). */
    public source: Buffer,
    /** cookieKey(its public key): opens the cookie replies it sends us. */
    public cookieKey: Buffer,
  ) {}
}
