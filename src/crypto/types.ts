/**
 * The contract between crypto/ and its users (the data plane, the daemon, the
 * simulator). crypto/ is sans-IO: it never touches sockets or clocks; callers
 * pass `nowMs` (monotonic) and an injected `transmit` sink.
 */
import type { Keypair } from './keypair.js'
import type { Dh } from './dh.js'

/** Why crypto/ refused an inbound datagram. Negative so they never collide with a length. */
export const enum CryptoDrop {
  Malformed = -1,
  BadVersion = -2,
  UnknownReceiver = -3,
  AuthFailed = -4,
  Replay = -5,
  WrongPeer = -6,
  HandshakeInvalid = -7,
  HandshakeReplay = -8,
  HandshakeRateLimited = -9,
  Expired = -10,
  /** The pre-authentication DH budget is spent (crypto/handshake-load.ts). */
  HandshakeBusy = -11,
  /** A response to an initiation that already had one response tried: no second DH for it. */
  HandshakeSpent = -12,
  /** Under load and no valid mac2: answered with a cookie reply instead (crypto/cookie.ts). */
  HandshakeUnderLoad = -13,
  /** A cookie reply that is malformed or not for our pending initiation. */
  CookieInvalid = -14,
  /** Not a drop: a handshake message was consumed (any reply was transmitted). */
  HandshakeConsumed = -100,
}

export const CRYPTO_DROP_NAMES: Record<number, string> = {
  [-1]: 'malformed',
  [-2]: 'bad_version',
  [-3]: 'unknown_receiver',
  [-4]: 'auth_failed',
  [-5]: 'replay',
  [-6]: 'wrong_peer',
  [-7]: 'handshake_invalid',
  [-8]: 'handshake_replay',
  [-9]: 'handshake_rate_limited',
  [-10]: 'expired',
  [-11]: 'handshake_busy',
  [-12]: 'handshake_spent',
  [-13]: 'handshake_under_load',
  [-14]: 'cookie_invalid',
}

export interface EndpointPeer {
  /** Dense index 0..n-1 chosen by the caller; used in every call below. */
  index: number
  publicKey: Uint8Array
  /**
   * During a key rotation: the peer's next public key, accepted as well as
   * `publicKey`; our initiations try it when `publicKey` gets no answer
   * (docs/security.md, Key rotation).
   */
  nextPublicKey?: Uint8Array
  /** Highest initiation timestamp accepted from this peer before a restart (0 or absent: none). */
  lastTimestamp?: number
  /**
   * The source address the caller accepts this peer's datagrams from (e.g.
   * "192.0.2.1:7200"): cookies are bound to it. Default: the peer index,
   * which is the same thing when the caller maps one address to one peer.
   */
  address?: string
}

export interface SecureEndpointOptions {
  privateKey: Uint8Array
  peers: EndpointPeer[]
  /** Called to put a finished datagram on the wire to a peer. `data` is only valid during the call. */
  transmit: (peer: number, data: Buffer, length: number) => void
  /** Called when a session with `peer` becomes usable (initial or rekey). */
  onSessionUp?: (peer: number, nowMs: number) => void
  rekeyAfterMs?: number
  rekeyAfterPackets?: number
  /** 'sodium' | 'tweetnacl' | 'auto' (default auto: sodium-native when it loads). */
  backend?: 'sodium' | 'tweetnacl' | 'auto'
  /**
   * X25519, injectable so tests can count the Diffie-Hellman work an attacker
   * can cause; default libsodium when it loads, else tweetnacl (crypto/dh.ts).
   */
  dh?: Dh
  /** Randomness source, injectable for deterministic tests. */
  randomBytes?: (n: number) => Uint8Array
  /** Keys are refused for sending and receiving after this age (default 180 s). */
  rejectAfterMs?: number
  /** Hard limit on packets per keypair and lane (default 2^47, at most 2^48); must exceed rekeyAfterPackets. */
  rejectAfterPackets?: number
  /** Packets held per peer while no session exists (default 256). */
  queueLimit?: number
  /** Largest datagram (header + ciphertext) handled, in bytes (default 65535). */
  maxPacketBytes?: number
  /** Wall clock in microseconds for initiation timestamps (tests); default Date.now() * 1000. */
  wallClockUs?: () => number
  /**
   * Called when an initiation from `peer` authenticated and its timestamp
   * became the highest accepted from that peer: the caller persists it and
   * passes it back as `EndpointPeer.lastTimestamp` after a restart, so a
   * recorded initiation cannot be replayed then. Control path.
   */
  onTimestampAccepted?: (peer: number, timestamp: number) => void
  /**
   * Called whenever a peer's set of keypairs changes (new, rotated, expired),
   * with copies of the keys: how a multi-worker relay hands sessions to its
   * other workers (crypto/lane-endpoint.ts). Control path.
   */
  onKeys?: (peer: number, keys: PeerKeys) => void
  /**
   * Called whenever a peer's keypairs change, with the live keypairs (not
   * copies) the endpoint accepts transport packets on and seals with, each
   * with the time (this endpoint's clock) from which the endpoint, not a
   * fast path, must decide about it: how the native transit fast path
   * (dataplane/transit-offload.ts) is kept in step. Control path.
   */
  onLiveKeys?: (peer: number, keys: LiveKeys) => void
}

/** A keypair handed to the transit fast path, and until when it may use it alone. */
export interface LiveKeypair {
  kp: Keypair
  untilMs: number
}

/** What a peer's keypairs allow without the endpoint: receive on current and previous, send on current. */
export interface LiveKeys {
  receive: LiveKeypair[]
  send: LiveKeypair | null
  /** The endpoint's limits, for the fast path's packet-count checks. */
  rekeyAfterPackets: number
  rejectAfterPackets: number
}

/** One keypair as handed to another worker. */
export interface KeypairSnapshot {
  localIndex: number
  remoteIndex: number
  sendKey: Uint8Array
  receiveKey: Uint8Array
  isInitiator: boolean
  createdMs: number
}

/** A peer's keypairs in their roles (see peer-state.ts). */
export interface PeerKeys {
  current: KeypairSnapshot | null
  next: KeypairSnapshot | null
  previous: KeypairSnapshot[]
}

/** Counters for one peer or the total, for `overpass status`. */
export interface CryptoCounters {
  txPackets: number
  rxPackets: number
  handshakesInitiated: number
  handshakeResponsesSent: number
  /** Sessions that became usable (initial and rekeys). */
  sessionsUp: number
  /** Initiations abandoned after the retry limit. */
  handshakeTimeouts: number
  /** Peer initiations ignored because ours wins a simultaneous initiation. */
  simultaneousInitiations: number
  /** Packets dropped because the pre-session queue was full or the handshake gave up. */
  queueDrops: number
  /** Initiations answered with a cookie reply because we were under load. */
  cookieRepliesSent: number
  /** Inbound drops by CRYPTO_DROP_NAMES name. */
  drops: Record<string, number>
}

export interface CryptoPeerStats extends CryptoCounters {
  peer: number
  hasSession: boolean
  /** Age of the sending keypair, or null without one. */
  sessionAgeMs: number | null
  queued: number
  handshakeInProgress: boolean
}

export interface CryptoStats {
  total: CryptoCounters
  peers: CryptoPeerStats[]
}

export interface SecureEndpoint {
  /**
   * Seal `length` bytes of `plain` (starting at 0) for `peer` and transmit it
   * on `lane` (default 0; a multi-worker relay sends a flow on its lane).
   * Without a usable session, the packet is copied into a small bounded queue,
   * a handshake is started, and the queue is flushed when the session comes up.
   * Returns false if the packet had to be dropped (queue full).
   */
  send(peer: number, nowMs: number, plain: Buffer, length: number, lane?: number): boolean
  /**
   * Process a datagram that arrived from `peer`'s known address.
   * Returns the plaintext length (>= 0) with the plaintext in `plaintext()`
   * (a preallocated buffer, valid until the next call), or a CryptoDrop code.
   * 0 is an authenticated empty keepalive (sent to confirm a new session).
   */
  receive(peer: number, nowMs: number, data: Buffer, length: number): number
  /** The buffer holding the last plaintext returned by receive(). */
  plaintext(): Buffer
  /** Lane of the last transport packet receive() looked at (wire/outer.ts); 0 if the endpoint has no lanes. */
  readonly receivedLane?: number
  /** Time-driven work: handshake retries, rekey on age, key expiry. Call every ~100 ms. */
  tick(nowMs: number): void
  /** True when `peer` has a session that can send now. */
  hasSession(peer: number): boolean
  /** Crypto backend in use, for logs and benches. */
  readonly backendName: string
  /** Counters by peer and in total (control path; allocates). */
  stats?(): CryptoStats
  /**
   * A live config change (node/live-apply.ts): the peer table becomes
   * `peers`. An index no longer listed is removed (its keypairs wiped, its
   * handshake and queue dropped); a new index is added; a listed index keeps
   * its sessions while its address or public key change. Control path.
   * Throws EndpointConfigError, changing nothing, when the table is invalid.
   */
  setPeers?(peers: EndpointPeer[]): void
  /**
   * Our own static key changed (a rotation, node/live-apply.ts): sessions
   * stay, the next handshakes use the new key. Control path.
   */
  setPrivateKey?(privateKey: Uint8Array): void
  /** Adds what the native transit fast path received from and sealed to `peer` (its counters are drained into these). */
  addTransitCounts?(peer: number, rxPackets: number, txPackets: number): void
}
