/**
 * The per-relay crypto state machine: transport sealing/opening on the hot
 * path, and the handshake, rekey and expiry rules around it. Sans-IO: every
 * call gets `nowMs`, output goes through `transmit`. Not re-entrant: do not
 * call send/receive from inside `transmit` or `onSessionUp`.
 *
 * Receive pipeline for transport packets (no allocation except one view of
 * the caller's datagram):
 *   1. fixed-offset header checks (version, type, reserved, length)
 *   2. receiver index -> keypair (Map), keypair must belong to `peer`
 *   3. age / packet limits, replay window pre-check
 *   4. open into the preallocated plaintext buffer
 *   5. replay window update (only after the tag verified)
 *   6. a first packet on `next` confirms it (responder side of a rekey)
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto'
import {
  LANE_COUNTER_LIMIT,
  MSG_COOKIE_REPLY,
  MSG_HANDSHAKE_INIT,
  MSG_HANDSHAKE_RESP,
  MSG_TRANSPORT,
  OFF_RECEIVER,
  OFF_TYPE,
  TRANSPORT_OVERHEAD,
} from '../wire/outer.js'
import { selectAead, type Aead } from './aead.js'
import { sodiumDh, tweetnaclDh, type Dh } from './dh.js'
import { CookieChecker, cookieFresh, cookieKey, cookieReplyReceiver, openCookieReply, writeMac2, COOKIE_REPLY_LEN } from './cookie.js'
import { EndpointConfigError } from './errors.js'
import {
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
  initiationMac1Ok,
  INIT_LEN,
  INIT_OFF_MAC1,
  localIdentity,
  remoteIdentity,
  RESP_LEN,
  responseMac1Ok,
  responseReceiverIndex,
  type HandshakeCrypto,
  type LocalIdentity,
  type RemoteIdentity,
} from './handshake.js'
import { HandshakeLoad } from './handshake-load.js'
import { Keypair } from './keypair.js'
import { KEY_LEN } from './keys.js'
import { MAC1_LEN } from './kdf.js'
import { MAX_PREVIOUS, PeerState } from './peer-state.js'
import { Count, Counters } from './stats.js'
import { nextHandshakeTimestamp } from './timestamp.js'
import { TransportCodec, keyUsable, outerHeaderDrop, type KeyLimits } from './transport.js'
import { CryptoDrop, type CryptoPeerStats, type CryptoStats, type EndpointPeer, type KeypairSnapshot, type PeerKeys, type SecureEndpoint, type SecureEndpointOptions } from './types.js'

// ---- Implementation constants -------------------------------------------------

/** Rekey a session after this long (config `tuning.rekey_after` applies it). */
export const DEFAULT_REKEY_AFTER_MS = 120_000
/** 2^40 packets: far below the 2^64 counter space, frequent enough to bound key exposure. */
export const DEFAULT_REKEY_AFTER_PACKETS = 2 ** 40
export const DEFAULT_REJECT_AFTER_MS = 180_000
/** Below LANE_COUNTER_LIMIT (2^48): a lane's counter has 48 bits. */
export const DEFAULT_REJECT_AFTER_PACKETS = 2 ** 47
export const DEFAULT_QUEUE_LIMIT = 256
export const DEFAULT_MAX_PACKET_BYTES = 65_535
/** First retry of an unanswered initiation; jitter is added so peers do not synchronise. */
export const HANDSHAKE_RETRY_MS = 1_000
export const HANDSHAKE_RETRY_JITTER_MS = 333
/** Initiations per attempt series before giving up (the next send starts a new series). */
export const MAX_HANDSHAKE_ATTEMPTS = 10
/**
 * The responder of the current keypair rekeys on age only this much later
 * than the initiator would, so the two sides do not both start at once.
 */
export const RESPONDER_REKEY_DELAY_MS = 10_000
/**
 * While a `next` keypair this young waits for confirmation, a handshake the
 * peer started is completing: we do not start one of our own.
 */
export const NEXT_SETTLE_MS = 3_000
/**
 * The transit fast path (onLiveKeys) hands a keypair back to the endpoint
 * this long before any age limit, so the two clocks' skew (the same
 * monotonic clock, read at different moments) can never let it use a key
 * the endpoint would refuse.
 */
export const LIVE_KEY_MARGIN_MS = 1_000

const EMPTY = Buffer.alloc(0)

export class CryptoEndpoint implements SecureEndpoint {
  readonly backendName: string
  private readonly aead: Aead
  private readonly hs: HandshakeCrypto
  private local: LocalIdentity
  private readonly peers: PeerState[] = []
  private readonly byStaticKey = new Map<string, PeerState>()
  /** Receiver index -> keypair (current, next and previous of every peer). */
  private readonly keypairs = new Map<number, Keypair>()
  /** Receiver index -> peer with an initiation in flight under that index. */
  private readonly pending = new Map<number, PeerState>()
  /** Drops that cannot be charged to a known peer (bad peer number). */
  private readonly orphan = new Counters()

  private readonly transmit: SecureEndpointOptions['transmit']
  private readonly onSessionUp: SecureEndpointOptions['onSessionUp']
  private readonly random: (n: number) => Uint8Array
  private readonly rekeyAfterMs: number
  private readonly rekeyAfterPackets: number
  private readonly limits: KeyLimits
  private readonly queueLimit: number
  private readonly wallClockUs: (() => number) | undefined
  private readonly onTimestampAccepted: SecureEndpointOptions['onTimestampAccepted']

  private readonly onKeys: SecureEndpointOptions['onKeys']
  private readonly onLiveKeys: SecureEndpointOptions['onLiveKeys']
  private readonly codec: TransportCodec
  private cookies: CookieChecker
  private readonly load = new HandshakeLoad()
  private lastNowMs = 0

  constructor(opts: SecureEndpointOptions) {
    this.aead = selectAead(opts.backend ?? 'auto')
    const dh: Dh = opts.dh ?? (this.aead.name === 'sodium' ? sodiumDh() : null) ?? tweetnaclDh
    this.hs = { aead: this.aead, dh }
    this.backendName = this.aead.name
    this.transmit = opts.transmit
    this.onSessionUp = opts.onSessionUp
    this.random = opts.randomBytes ?? ((n) => nodeRandomBytes(n))
    this.rekeyAfterMs = opts.rekeyAfterMs ?? DEFAULT_REKEY_AFTER_MS
    this.rekeyAfterPackets = opts.rekeyAfterPackets ?? DEFAULT_REKEY_AFTER_PACKETS
    this.limits = {
      rejectAfterMs: opts.rejectAfterMs ?? DEFAULT_REJECT_AFTER_MS,
      rejectAfterPackets: opts.rejectAfterPackets ?? DEFAULT_REJECT_AFTER_PACKETS,
    }
    this.queueLimit = opts.queueLimit ?? DEFAULT_QUEUE_LIMIT
    this.wallClockUs = opts.wallClockUs
    this.onTimestampAccepted = opts.onTimestampAccepted
    const maxPacket = opts.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES
    validateOptions(opts, this.limits.rejectAfterPackets, this.rekeyAfterPackets, maxPacket)

    this.onKeys = opts.onKeys
    this.onLiveKeys = opts.onLiveKeys
    this.codec = new TransportCodec(this.aead, maxPacket)

    const privateKey = new Uint8Array(opts.privateKey)
    this.local = localIdentity(privateKey, dh.publicFromPrivate(privateKey))
    this.cookies = new CookieChecker(this.local.publicKey, this.aead, this.random)
    for (const p of opts.peers) {
      this.addPeer(dh, p.index, p.publicKey, p.address, p.nextPublicKey)
      this.peers[p.index].lastTimestamp = p.lastTimestamp ?? 0
    }
  }

  private addPeer(dh: Dh, index: number, publicKey: Uint8Array, address: string | undefined, nextKey?: Uint8Array): void {
    const field = `peers[${index}].publicKey`
    if (this.peers[index]) throw new EndpointConfigError(field, `peer index ${index} used twice`)
    const key = this.checkPeerKey(index, publicKey)
    if (this.byStaticKey.has(key)) throw new EndpointConfigError(field, 'the same public key is configured twice')
    const state = new PeerState(index, remoteIdentity(dh, this.local, new Uint8Array(publicKey)), this.weWinAgainst(publicKey), peerSource(index, address), cookieKey(publicKey))
    this.peers[index] = state
    this.byStaticKey.set(key, state)
    if (nextKey !== undefined) this.setAlt(state, nextKey)
  }

  /** The key as byStaticKey spells it; throws when it cannot be a peer's. */
  private checkPeerKey(index: number, publicKey: Uint8Array): string {
    const field = `peers[${index}].publicKey`
    if (publicKey.length !== KEY_LEN) throw new EndpointConfigError(field, `expected ${KEY_LEN} bytes`)
    if (Buffer.compare(Buffer.from(publicKey), Buffer.from(this.local.publicKey)) === 0) {
      throw new EndpointConfigError(field, 'a peer cannot have our own public key')
    }
    return Buffer.from(publicKey).toString('hex')
  }

  private weWinAgainst(publicKey: Uint8Array): boolean {
    return Buffer.compare(Buffer.from(this.local.publicKey), Buffer.from(publicKey)) < 0
  }

  private setAlt(p: PeerState, nextKey: Uint8Array | undefined): void {
    if (p.alt !== null) this.byStaticKey.delete(hexKey(p.alt.publicKey))
    p.alt = nextKey === undefined ? null : remoteIdentity(this.hs.dh, this.local, new Uint8Array(nextKey))
    if (p.alt !== null) this.byStaticKey.set(hexKey(nextKey!), p)
  }

  setPeers(peers: EndpointPeer[]): void {
    // Checked whole before anything changes: a bad table leaves the endpoint as it was.
    const seenIndex = new Set<number>()
    const seenKey = new Set<string>()
    for (const p of peers) {
      if (!Number.isSafeInteger(p.index) || p.index < 0 || seenIndex.has(p.index)) throw new EndpointConfigError(`peers[${p.index}].index`, 'peer index used twice or invalid')
      seenIndex.add(p.index)
      for (const k of p.nextPublicKey === undefined ? [p.publicKey] : [p.publicKey, p.nextPublicKey]) {
        const key = this.checkPeerKey(p.index, k)
        if (seenKey.has(key)) throw new EndpointConfigError(`peers[${p.index}].publicKey`, 'the same public key is configured twice')
        seenKey.add(key)
      }
    }
    for (const p of this.peers) if (p !== undefined && !seenIndex.has(p.index)) this.removePeer(p)
    for (const p of peers) {
      const have = this.peers[p.index]
      if (have === undefined) {
        this.addPeer(this.hs.dh, p.index, p.publicKey, p.address, p.nextPublicKey)
        this.peers[p.index].lastTimestamp = p.lastTimestamp ?? 0
        continue
      }
      have.source = peerSource(p.index, p.address)
      const keys = (q: { publicKey: Uint8Array; nextPublicKey?: Uint8Array }): string => `${hexKey(q.publicKey)}/${q.nextPublicKey ? hexKey(q.nextPublicKey) : ''}`
      if (keys({ publicKey: have.remote.publicKey, nextPublicKey: have.alt?.publicKey }) === keys(p)) continue
      // New static keys for the same peer (a rotation): sessions stay (their keys do not depend on them), the next handshake uses them.
      this.byStaticKey.delete(hexKey(have.remote.publicKey))
      this.setAlt(have, undefined)
      this.identify(have, p.publicKey)
      this.setAlt(have, p.nextPublicKey)
      this.byStaticKey.set(hexKey(p.publicKey), have)
    }
  }

  /** (Re)computes what we know of a peer's key `publicKey` with our current static key; its sessions stay. */
  private identify(p: PeerState, publicKey: Uint8Array): void {
    p.remote = remoteIdentity(this.hs.dh, this.local, new Uint8Array(publicKey))
    p.weWinTies = this.weWinAgainst(publicKey)
    p.cookieKey = cookieKey(publicKey)
    p.cookie = null
    this.abandonHandshake(p)
  }

  setPrivateKey(privateKey: Uint8Array): void {
    if (privateKey.length !== KEY_LEN) throw new EndpointConfigError('privateKey', `expected ${KEY_LEN} bytes`)
    const publicKey = this.hs.dh.publicFromPrivate(privateKey)
    if (Buffer.compare(Buffer.from(publicKey), Buffer.from(this.local.publicKey)) === 0) return
    if (this.byStaticKey.has(hexKey(publicKey))) throw new EndpointConfigError('privateKey', 'its public key is a peer\'s')
    this.local.privateKey.fill(0)
    this.local = localIdentity(new Uint8Array(privateKey), publicKey)
    this.cookies = new CookieChecker(this.local.publicKey, this.aead, this.random)
    for (const p of this.peers) {
      if (p === undefined) continue
      const alt = p.alt?.publicKey
      this.identify(p, p.remote.publicKey)
      if (alt !== undefined) p.alt = remoteIdentity(this.hs.dh, this.local, alt)
    }
  }

  /** A peer left the config: its keys are wiped and the other workers told (empty keys). */
  private removePeer(p: PeerState): void {
    this.abandonHandshake(p)
    for (const kp of [p.current, p.next, ...p.previous]) if (kp !== null) this.forget(kp)
    p.current = null
    p.next = null
    p.previous = []
    p.queue.length = 0
    p.queueLanes.length = 0
    this.byStaticKey.delete(hexKey(p.remote.publicKey))
    this.setAlt(p, undefined)
    delete this.peers[p.index]
    this.onKeys?.(p.index, { current: null, next: null, previous: [] })
  }

  plaintext(): Buffer {
    return this.codec.plain
  }

  get receivedLane(): number {
    return this.codec.lane
  }

  hasSession(peer: number): boolean {
    const p = this.peers[peer]
    return p !== undefined && p.current !== null && this.usable(p.current, this.lastNowMs)
  }

  // ---- Send ---------------------------------------------------------------------

  send(peer: number, nowMs: number, plain: Buffer, length: number, lane = 0): boolean {
    this.lastNowMs = nowMs
    const p = this.peers[peer]
    if (p === undefined || !this.codec.fits(plain, length, lane)) return false
    const kp = p.current
    if (kp !== null && this.usable(kp, nowMs)) {
      this.seal(p, kp, length === plain.length ? plain : plain === this.codec.plain ? this.codec.plainView(length) : plain.subarray(0, length), lane)
      if (this.wantsRekey(kp, nowMs)) this.startRekey(p, nowMs)
      return true
    }
    return this.enqueue(p, nowMs, plain, length, lane)
  }

  private usable(kp: Keypair, nowMs: number): boolean {
    return keyUsable(kp, nowMs, this.limits)
  }

  /** Packet limit: either side. Age: the keypair's initiator first, the responder as a fallback. */
  private wantsRekey(kp: Keypair, nowMs: number): boolean {
    if (kp.sendCounter >= this.rekeyAfterPackets) return true
    const ageMs = nowMs - kp.createdMs
    return ageMs >= (kp.isInitiator ? this.rekeyAfterMs : this.rekeyAfterMs + RESPONDER_REKEY_DELAY_MS)
  }

  /** Seal into the codec's buffer on `lane` and transmit. `plain` is exactly the payload. */
  private seal(p: PeerState, kp: Keypair, plain: Uint8Array, lane: number): void {
    const length = this.codec.seal(kp, lane, plain)
    p.counters.counts[Count.TxPackets]++
    this.transmit(p.index, this.codec.out, length)
  }

  /** No usable session: hold a copy (control path, so the copy may allocate) and make one. */
  private enqueue(p: PeerState, nowMs: number, plain: Buffer, length: number, lane: number): boolean {
    const queued = p.queue.length < this.queueLimit
    if (queued) {
      p.queue.push(Buffer.from(plain.subarray(0, length)))
      p.queueLanes.push(lane)
    } else p.counters.counts[Count.QueueDrops]++
    if (!this.peerHandshakeSettling(p, nowMs)) this.initiate(p, nowMs, 1)
    return queued
  }

  private startRekey(p: PeerState, nowMs: number): void {
    if (!this.peerHandshakeSettling(p, nowMs)) this.initiate(p, nowMs, 1)
  }

  /** True if a handshake is already under way (ours, or one the peer started that we answered). */
  private peerHandshakeSettling(p: PeerState, nowMs: number): boolean {
    return p.handshake !== null || (p.next !== null && nowMs - p.next.createdMs < NEXT_SETTLE_MS)
  }

  // ---- Receive ------------------------------------------------------------------

  receive(peer: number, nowMs: number, data: Buffer, length: number): number {
    this.lastNowMs = nowMs
    const p = this.peers[peer]
    if (p === undefined) return this.dropOrphan(CryptoDrop.Malformed)
    const bad = outerHeaderDrop(data, length)
    if (bad !== 0) return this.drop(p, bad)
    const type = data[OFF_TYPE]
    if (type === MSG_TRANSPORT) return this.receiveTransport(p, nowMs, data, length)
    if (type === MSG_HANDSHAKE_INIT) return this.receiveInitiation(p, nowMs, data, length)
    if (type === MSG_HANDSHAKE_RESP) return this.receiveResponse(p, nowMs, data, length)
    if (type === MSG_COOKIE_REPLY) return this.receiveCookieReply(p, nowMs, data, length)
    return this.drop(p, CryptoDrop.Malformed)
  }

  private drop(p: PeerState, code: CryptoDrop): number {
    p.counters.drop(code)
    return code
  }

  private dropOrphan(code: CryptoDrop): number {
    this.orphan.drop(code)
    return code
  }

  private receiveTransport(p: PeerState, nowMs: number, data: Buffer, length: number): number {
    if (length < TRANSPORT_OVERHEAD) return this.drop(p, CryptoDrop.Malformed)
    const kp = this.keypairs.get(data.readUInt32BE(OFF_RECEIVER))
    if (kp === undefined) return this.drop(p, CryptoDrop.UnknownReceiver)
    if (kp.peer !== p.index) return this.drop(p, CryptoDrop.WrongPeer)
    const plainLen = this.codec.open(kp, nowMs, data, length, this.limits)
    if (plainLen < 0) return this.drop(p, plainLen)
    p.counters.counts[Count.RxPackets]++
    if (kp === p.next) this.confirmNext(p, nowMs)
    // 0 is an authenticated keepalive (see sessionUp): nothing to deliver.
    return plainLen
  }

  // ---- Handshake: responder -------------------------------------------------------

  /**
   * Order matters for DoS (docs/security.md): mac1 (one HMAC); under load,
   * mac2 or a cookie reply (HMACs); the global pre-authentication budget;
   * then the first X25519. The per-peer limit is spent only once the
   * timestamp authenticated the peer, so a forger cannot use it up.
   */
  private receiveInitiation(p: PeerState, nowMs: number, data: Buffer, length: number): number {
    if (!initiationMac1Ok(this.local, data, length)) return this.drop(p, CryptoDrop.HandshakeInvalid)
    const msg = data.subarray(0, INIT_LEN)
    if (this.load.arrive(nowMs) && !this.cookies.mac2Valid(msg, p.source, nowMs)) return this.sendCookie(p, nowMs, msg)
    if (!this.load.takeBudget(nowMs)) return this.drop(p, CryptoDrop.HandshakeBusy)
    const init = consumeInitiation(this.hs, this.local, msg, (key) => this.identityOf(key))
    if (typeof init === 'number') return this.drop(p, init)
    if (init.remote !== p.remote && init.remote !== p.alt) return this.drop(p, CryptoDrop.WrongPeer)
    if (init.timestamp <= p.lastTimestamp) return this.drop(p, CryptoDrop.HandshakeReplay)
    p.lastTimestamp = init.timestamp
    this.onTimestampAccepted?.(p.index, init.timestamp)
    if (!p.limiter.take(nowMs)) return this.drop(p, CryptoDrop.HandshakeRateLimited)

    if (p.handshake !== null) {
      // Both sides initiated. The side with the lower static key keeps its own
      // initiation and ignores the peer's; the other abandons its own and
      // answers. Both sides agree on who is who, so exactly one completes.
      // Decided on the key the initiation carries: during a rotation it may be the peer's other listed one.
      if (init.remote === p.remote ? p.weWinTies : this.weWinAgainst(init.remote.publicKey)) {
        p.counters.counts[Count.SimultaneousInitiations]++
        return CryptoDrop.HandshakeConsumed
      }
      this.abandonHandshake(p)
    }

    const localIndex = this.newIndex()
    const ephemeral = this.randomKey()
    const resp = createResponse(this.hs, init, localIndex, ephemeral)
    ephemeral.fill(0)
    if (resp === null) return this.drop(p, CryptoDrop.HandshakeInvalid)
    const kp = new Keypair(p.index, localIndex, init.senderIndex, resp.keys.sendKey, resp.keys.receiveKey, false, nowMs)
    if (p.next !== null) this.forget(p.next)
    p.next = kp
    this.keypairs.set(localIndex, kp)
    this.keysChanged(p)
    p.counters.counts[Count.HandshakeResponsesSent]++
    this.transmit(p.index, resp.msg, RESP_LEN)
    return CryptoDrop.HandshakeConsumed
  }

  /** What we know of a configured peer key (either of a rotating peer's two), or undefined. */
  private identityOf(key: Uint8Array): RemoteIdentity | undefined {
    const p = this.byStaticKey.get(hexKey(key))
    if (p === undefined) return undefined
    return p.alt !== null && Buffer.compare(Buffer.from(p.alt.publicKey), Buffer.from(key)) === 0 ? p.alt : p.remote
  }

  /** Under load, an initiation without a valid mac2 gets a cookie reply (64 bytes, smaller than it) and no DH. */
  private sendCookie(p: PeerState, nowMs: number, msg: Buffer): number {
    const reply = this.cookies.reply(msg, p.source, nowMs)
    p.counters.counts[Count.CookieRepliesSent]++
    this.transmit(p.index, reply, COOKIE_REPLY_LEN)
    return this.drop(p, CryptoDrop.HandshakeUnderLoad)
  }

  /**
   * Another worker saw the peer use our `next` keypair (its index is
   * `localIndex`): confirm it here, where sessions are decided.
   */
  confirm(peer: number, localIndex: number, nowMs: number): void {
    const p = this.peers[peer]
    if (p !== undefined && p.next !== null && p.next.localIndex === localIndex) this.confirmNext(p, nowMs)
  }

  /** The initiator proved it has the new keys by using them: switch sending over. */
  private confirmNext(p: PeerState, nowMs: number): void {
    const kp = p.next as Keypair
    p.next = null
    this.rotateIn(p, kp)
    this.sessionUp(p, nowMs, false)
  }

  // ---- Handshake: initiator ---------------------------------------------------------

  private initiate(p: PeerState, nowMs: number, attempt: number, cookieResent = false): void {
    const localIndex = this.newIndex()
    const ephemeral = this.randomKey()
    const timestamp = nextHandshakeTimestamp(this.wallClockUs?.())
    const init = createInitiation(this.hs, this.local, p.remote, localIndex, ephemeral, timestamp)
    if (init === null) return // the configured peer key is a low-order point: never usable
    writeMac2(init.msg, p.cookie !== null && cookieFresh(p.cookieReceivedMs, nowMs) ? p.cookie : null)
    p.handshake = {
      state: init.state,
      attempt,
      nextRetryMs: nowMs + this.retryDelayMs(),
      mac1: Buffer.from(init.msg.subarray(INIT_OFF_MAC1, INIT_OFF_MAC1 + MAC1_LEN)),
      responseSpent: false,
      cookieResent,
    }
    this.pending.set(localIndex, p)
    p.counters.counts[Count.HandshakesInitiated]++
    this.transmit(p.index, init.msg, INIT_LEN)
  }

  private receiveResponse(p: PeerState, nowMs: number, data: Buffer, length: number): number {
    if (!responseMac1Ok(this.local, data, length)) return this.drop(p, CryptoDrop.HandshakeInvalid)
    const index = responseReceiverIndex(data)
    const owner = this.pending.get(index)
    if (owner === undefined) return this.drop(p, CryptoDrop.UnknownReceiver)
    if (owner !== p || p.handshake === null) return this.drop(p, CryptoDrop.WrongPeer)
    // One response per initiation gets DH work. If it was forged, the initiation
    // stays pending (spent) until its retry timer sends a fresh one.
    const hs = p.handshake
    if (hs.responseSpent) return this.drop(p, CryptoDrop.HandshakeSpent)
    hs.responseSpent = true
    const done = consumeResponse(this.hs, this.local, p.remote, hs.state, data.subarray(0, RESP_LEN))
    if (done === null) {
      hs.state.ephemeralPrivate.fill(0)
      return this.drop(p, CryptoDrop.HandshakeInvalid)
    }
    this.abandonHandshake(p)
    const kp = new Keypair(p.index, index, done.remoteIndex, done.keys.sendKey, done.keys.receiveKey, true, nowMs)
    this.keypairs.set(index, kp)
    this.rotateIn(p, kp)
    this.sessionUp(p, nowMs, true)
    return CryptoDrop.HandshakeConsumed
  }

  /**
   * The peer is under load and sent the cookie our next initiation must carry.
   * It comes sealed under our initiation's mac1, so only a reply to that
   * initiation opens (no DH). The first cookie for an initiation sends a new
   * one at once; later ones wait for the retry timer, so forged cookie replies
   * cannot make us initiate in a loop.
   */
  private receiveCookieReply(p: PeerState, nowMs: number, data: Buffer, length: number): number {
    const hs = p.handshake
    if (length !== COOKIE_REPLY_LEN || hs === null || hs.state.localIndex !== cookieReplyReceiver(data)) {
      return this.drop(p, CryptoDrop.CookieInvalid)
    }
    const cookie = openCookieReply(this.aead, p.cookieKey, hs.mac1, data, length)
    if (cookie === null) return this.drop(p, CryptoDrop.CookieInvalid)
    p.cookie = cookie
    p.cookieReceivedMs = nowMs
    if (!hs.cookieResent && !hs.responseSpent) {
      this.abandonHandshake(p)
      this.initiate(p, nowMs, hs.attempt, true)
    }
    return CryptoDrop.HandshakeConsumed
  }

  private abandonHandshake(p: PeerState): void {
    const hs = p.handshake
    if (hs === null) return
    this.pending.delete(hs.state.localIndex)
    hs.state.ephemeralPrivate.fill(0)
    p.handshake = null
  }

  // ---- Session changes ------------------------------------------------------------

  /** `kp` becomes the sending keypair; the old one is kept for receiving. */
  private rotateIn(p: PeerState, kp: Keypair): void {
    if (p.current !== null) p.previous.unshift(p.current)
    p.current = kp
    while (p.previous.length > MAX_PREVIOUS) this.forget(p.previous.pop() as Keypair)
    this.keysChanged(p)
  }

  /** Tell the other workers (onKeys) and the transit fast path (onLiveKeys) which keypairs `p` now has. Control path. */
  private keysChanged(p: PeerState): void {
    this.liveKeysChanged(p)
    if (this.onKeys === undefined) return
    const snap = (kp: Keypair | null): KeypairSnapshot | null =>
      kp === null
        ? null
        : {
            localIndex: kp.localIndex,
            remoteIndex: kp.remoteIndex,
            sendKey: Uint8Array.from(kp.sendKey),
            receiveKey: Uint8Array.from(kp.receiveKey),
            isInitiator: kp.isInitiator,
            createdMs: kp.createdMs,
          }
    const keys: PeerKeys = { current: snap(p.current), next: snap(p.next), previous: p.previous.map((kp) => snap(kp) as KeypairSnapshot) }
    this.onKeys(p.index, keys)
  }

  /**
   * The keypairs receiveTransport accepts without more than the replay
   * window (current, previous; never `next`, whose first packet confirms
   * it), and the one send seals with (current), each until the first age
   * limit at which the endpoint would refuse it, rekey or expire it.
   */
  private liveKeysChanged(p: PeerState): void {
    if (this.onLiveKeys === undefined) return
    const rejectMs = this.limits.rejectAfterMs
    const receive = [p.current, ...p.previous].filter((kp): kp is Keypair => kp !== null).map((kp) => ({ kp, untilMs: kp.createdMs + rejectMs - LIVE_KEY_MARGIN_MS }))
    const kp = p.current
    const rekeyMs = kp === null ? 0 : kp.isInitiator ? this.rekeyAfterMs : this.rekeyAfterMs + RESPONDER_REKEY_DELAY_MS
    const send = kp === null ? null : { kp, untilMs: kp.createdMs + Math.min(rejectMs, rekeyMs) - LIVE_KEY_MARGIN_MS }
    this.onLiveKeys(p.index, { receive, send, rekeyAfterPackets: this.rekeyAfterPackets, rejectAfterPackets: this.limits.rejectAfterPackets })
  }

  addTransitCounts(peer: number, rxPackets: number, txPackets: number): void {
    const p = this.peers[peer]
    if (p === undefined) return
    p.counters.counts[Count.RxPackets] += rxPackets
    p.counters.counts[Count.TxPackets] += txPackets
  }

  /**
   * Flush queued packets in order. An initiator with nothing queued sends an
   * empty packet so the responder can confirm the keypair and switch too.
   */
  private sessionUp(p: PeerState, nowMs: number, asInitiator: boolean): void {
    const kp = p.current as Keypair
    p.counters.counts[Count.SessionsUp]++
    const queued = p.queue.splice(0, p.queue.length)
    const lanes = p.queueLanes.splice(0, p.queueLanes.length)
    for (let i = 0; i < queued.length; i++) this.seal(p, kp, queued[i], lanes[i])
    if (asInitiator && queued.length === 0) this.seal(p, kp, EMPTY, 0)
    this.onSessionUp?.(p.index, nowMs)
  }

  private forget(kp: Keypair): void {
    this.keypairs.delete(kp.localIndex)
    kp.wipe()
  }

  // ---- Timers ---------------------------------------------------------------------

  tick(nowMs: number): void {
    this.lastNowMs = nowMs
    for (const p of this.peers) {
      if (p === undefined) continue
      this.expireKeypairs(p, nowMs)
      this.retryHandshake(p, nowMs)
      const kp = p.current
      if (kp !== null && this.wantsRekey(kp, nowMs)) this.startRekey(p, nowMs)
      else if (kp === null && p.queue.length > 0) this.startRekey(p, nowMs)
    }
  }

  private expireKeypairs(p: PeerState, nowMs: number): void {
    const tooOld = (kp: Keypair): boolean => nowMs - kp.createdMs >= this.limits.rejectAfterMs
    let changed = false
    if (p.current !== null && (tooOld(p.current) || p.current.sendCounter >= this.limits.rejectAfterPackets)) {
      this.forget(p.current)
      p.current = null
      changed = true
    }
    if (p.next !== null && tooOld(p.next)) {
      this.forget(p.next)
      p.next = null
      changed = true
    }
    for (let i = p.previous.length - 1; i >= 0; i--) {
      if (tooOld(p.previous[i])) {
        this.forget(p.previous.splice(i, 1)[0])
        changed = true
      }
    }
    if (changed) this.keysChanged(p)
  }

  private retryHandshake(p: PeerState, nowMs: number): void {
    const hs = p.handshake
    if (hs === null || nowMs < hs.nextRetryMs) return
    this.abandonHandshake(p)
    if (p.alt !== null) this.swapKeys(p)
    if (hs.attempt < MAX_HANDSHAKE_ATTEMPTS) {
      this.initiate(p, nowMs, hs.attempt + 1)
      return
    }
    // Give up until the next send; queued packets would be stale by then.
    p.counters.counts[Count.HandshakeTimeouts]++
    p.counters.counts[Count.QueueDrops] += p.queue.length
    p.queue.length = 0
    p.queueLanes.length = 0
  }

  /**
   * A rotating peer (two listed keys) did not answer: the next initiation
   * goes to its other key. The one that gets answered stays first.
   */
  private swapKeys(p: PeerState): void {
    const alt = p.alt as RemoteIdentity
    p.alt = p.remote
    p.remote = alt
    p.weWinTies = this.weWinAgainst(alt.publicKey)
    p.cookieKey = cookieKey(alt.publicKey)
    p.cookie = null
  }

  private retryDelayMs(): number {
    const r = this.random(2)
    return HANDSHAKE_RETRY_MS + (((r[0] << 8) | r[1]) % (HANDSHAKE_RETRY_JITTER_MS + 1))
  }

  // ---- Helpers ----------------------------------------------------------------------

  private randomKey(): Uint8Array {
    return new Uint8Array(this.random(KEY_LEN))
  }

  /** A random nonzero index not in use by any keypair or pending initiation. */
  private newIndex(): number {
    for (let i = 0; i < 64; i++) {
      const b = this.random(4)
      const index = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0
      if (index !== 0 && !this.keypairs.has(index) && !this.pending.has(index)) return index
    }
    throw new Error('randomBytes keeps returning indexes in use; is it random?')
  }

  // ---- Stats ------------------------------------------------------------------------

  stats(): CryptoStats {
    const total = new Counters()
    total.add(this.orphan)
    const peers: CryptoPeerStats[] = []
    for (const p of this.peers) {
      if (p === undefined) continue
      total.add(p.counters)
      peers.push({
        ...p.counters.snapshot(),
        peer: p.index,
        hasSession: p.current !== null && this.usable(p.current, this.lastNowMs),
        sessionAgeMs: p.current === null ? null : this.lastNowMs - p.current.createdMs,
        queued: p.queue.length,
        handshakeInProgress: p.handshake !== null,
      })
    }
    return { total: total.snapshot(), peers }
  }
}

function hexKey(key: Uint8Array): string {
  return Buffer.from(key).toString('hex')
}

/** What cookies for a peer are bound to (types.ts EndpointPeer.address). */
function peerSource(index: number, address: string | undefined): Buffer {
  return Buffer.from(address ?? `peer ${index}`, 'utf8')
}

function validateOptions(opts: SecureEndpointOptions, rejectAfterPackets: number, rekeyAfterPackets: number, maxPacket: number): void {
  if (opts.privateKey.length !== KEY_LEN) throw new EndpointConfigError('privateKey', `expected ${KEY_LEN} bytes`)
  if (!(rejectAfterPackets > rekeyAfterPackets) || rejectAfterPackets > LANE_COUNTER_LIMIT) {
    throw new EndpointConfigError('rejectAfterPackets', 'must exceed rekeyAfterPackets and stay at or below 2^48 (a lane counter has 48 bits)')
  }
  if (!(maxPacket > TRANSPORT_OVERHEAD && maxPacket <= 65_535 + TRANSPORT_OVERHEAD)) {
    throw new EndpointConfigError('maxPacketBytes', `must be between ${TRANSPORT_OVERHEAD + 1} and 65567`)
  }
}
