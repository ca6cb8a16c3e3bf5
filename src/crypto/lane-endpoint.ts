/**
 * The crypto endpoint of a relay's extra workers (worker 1..N-1). It runs no
 * handshakes: worker 0's CryptoEndpoint decides every session and hands each
 * peer's keypairs over (`install`, fed by its `onKeys`). This endpoint seals
 * on the lanes its worker owns, with its own counters (so no nonce is used
 * twice across threads) and its own replay windows for the lanes the kernel
 * steers to it. A first packet on a `next` keypair is reported back
 * (`onConfirm`) so worker 0 switches the session over.
 *
 * Like worker 0's endpoint it hands its live keypairs to the worker's
 * native transit table (`onLiveKeys`, dataplane/transit-offload.ts) on
 * every change: current and previous to receive on, current to send with,
 * each until LIVE_KEY_MARGIN_MS before the reject age (worker 0 rekeys and
 * installs the new keys; this endpoint never rekeys on its own).
 *
 * Without a session it drops (counted as queue drops) instead of queueing:
 * worker 0 brings sessions up within a round trip, and a worker's first
 * packets to a fresh peer are rare.
 */
import { MSG_TRANSPORT, OFF_RECEIVER, OFF_TYPE, TRANSPORT_OVERHEAD } from '../wire/outer.js'
import { selectAead } from './aead.js'
import { Keypair } from './keypair.js'
import { DEFAULT_MAX_PACKET_BYTES, DEFAULT_REJECT_AFTER_MS, DEFAULT_REJECT_AFTER_PACKETS, DEFAULT_REKEY_AFTER_PACKETS, LIVE_KEY_MARGIN_MS } from './secure-endpoint.js'
import { Count, Counters } from './stats.js'
import { TransportCodec, keyUsable, outerHeaderDrop, type KeyLimits } from './transport.js'
import { CryptoDrop, type CryptoStats, type EndpointPeer, type KeypairSnapshot, type LiveKeypair, type PeerKeys, type SecureEndpoint, type SecureEndpointOptions } from './types.js'

export interface LaneEndpointOptions {
  /** Peers are 0..peerCount-1, the same indexes worker 0 uses. */
  peerCount: number
  transmit: (peer: number, data: Buffer, length: number) => void
  /** The peer sent on our unconfirmed `next` keypair `localIndex` (once per keypair). */
  onConfirm?: (peer: number, localIndex: number) => void
  backend?: 'sodium' | 'tweetnacl' | 'auto'
  rejectAfterMs?: number
  rejectAfterPackets?: number
  maxPacketBytes?: number
  /** The live keypairs of a peer after every change (worker 0's onLiveKeys contract, crypto/types.ts). */
  onLiveKeys?: SecureEndpointOptions['onLiveKeys']
  /**
   * Only reported with the live keys: the packet count from which a fast
   * path leaves sealing to this endpoint (worker 0's rekey_after_packets).
   */
  rekeyAfterPackets?: number
}

interface LanePeer {
  current: Keypair | null
  next: Keypair | null
  counters: Counters
}

export class LaneEndpoint implements SecureEndpoint {
  readonly backendName: string
  private readonly codec: TransportCodec
  private readonly peers: LanePeer[]
  private readonly keypairs = new Map<number, Keypair>()
  private readonly limits: KeyLimits
  private lastNowMs = 0

  constructor(private readonly opts: LaneEndpointOptions) {
    const aead = selectAead(opts.backend ?? 'auto')
    this.backendName = aead.name
    this.codec = new TransportCodec(aead, opts.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES)
    this.limits = {
      rejectAfterMs: opts.rejectAfterMs ?? DEFAULT_REJECT_AFTER_MS,
      rejectAfterPackets: opts.rejectAfterPackets ?? DEFAULT_REJECT_AFTER_PACKETS,
    }
    this.peers = Array.from({ length: opts.peerCount }, () => ({ current: null, next: null, counters: new Counters() }))
  }

  /**
   * Worker 0's keypairs for `peer`, replacing what we had. A keypair we
   * already hold keeps its object: its counters and replay windows must
   * survive, or nonces would repeat and replays pass.
   */
  install(peer: number, keys: PeerKeys): void {
    const p = this.peers[peer]
    if (p === undefined) return
    const wanted = new Map<number, KeypairSnapshot>()
    for (const k of [keys.current, keys.next, ...keys.previous]) if (k !== null) wanted.set(k.localIndex, k)
    for (const [index, kp] of this.keypairs) {
      if (kp.peer === peer && !wanted.has(index)) {
        this.keypairs.delete(index)
        kp.wipe()
      }
    }
    const held = (k: KeypairSnapshot | null): Keypair | null => {
      if (k === null) return null
      let kp = this.keypairs.get(k.localIndex)
      if (kp === undefined) {
        kp = new Keypair(peer, k.localIndex, k.remoteIndex, Buffer.from(k.sendKey), Buffer.from(k.receiveKey), k.isInitiator, k.createdMs)
        this.keypairs.set(k.localIndex, kp)
      }
      return kp
    }
    p.current = held(keys.current)
    p.next = held(keys.next)
    for (const k of keys.previous) held(k)
    this.liveKeysChanged(peer)
  }

  /** Tell the native transit table (onLiveKeys) which of `peer`'s keypairs it may use alone, and until when. */
  private liveKeysChanged(peer: number): void {
    const onLiveKeys = this.opts.onLiveKeys
    const p = this.peers[peer]
    if (onLiveKeys === undefined || p === undefined) return
    const until = (kp: Keypair): number => kp.createdMs + this.limits.rejectAfterMs - LIVE_KEY_MARGIN_MS
    const receive: LiveKeypair[] = []
    // Current and previous, never `next`: its first packet confirms it (onConfirm), which only JS reports.
    for (const kp of this.keypairs.values()) if (kp.peer === peer && kp !== p.next) receive.push({ kp, untilMs: until(kp) })
    const send = p.current === null ? null : { kp: p.current, untilMs: until(p.current) }
    onLiveKeys(peer, { receive, send, rekeyAfterPackets: this.opts.rekeyAfterPackets ?? DEFAULT_REKEY_AFTER_PACKETS, rejectAfterPackets: this.limits.rejectAfterPackets })
  }

  /** What the native transit table forwarded for `peer` (drained by dataplane/transit-offload.ts). */
  addTransitCounts(peer: number, rxPackets: number, txPackets: number): void {
    const p = this.peers[peer]
    if (p === undefined) return
    p.counters.counts[Count.RxPackets] += rxPackets
    p.counters.counts[Count.TxPackets] += txPackets
  }

  /**
   * A live peer table change: only which indexes exist matters here (keys
   * come from worker 0). A removed index loses its keypairs.
   */
  setPeers(peers: EndpointPeer[]): void {
    const listed = new Set(peers.map((p) => p.index))
    for (let i = 0; i < this.peers.length; i++) if (!listed.has(i)) this.install(i, { current: null, next: null, previous: [] })
    for (const i of listed) if (this.peers[i] === undefined) this.peers[i] = { current: null, next: null, counters: new Counters() }
  }

  plaintext(): Buffer {
    return this.codec.plain
  }

  get receivedLane(): number {
    return this.codec.lane
  }

  hasSession(peer: number): boolean {
    const kp = this.peers[peer]?.current
    return kp != null && this.usable(kp, this.lastNowMs)
  }

  send(peer: number, nowMs: number, plain: Buffer, length: number, lane = 0): boolean {
    this.lastNowMs = nowMs
    const p = this.peers[peer]
    if (p === undefined || !this.codec.fits(plain, length, lane)) return false
    const kp = p.current
    if (kp === null || !this.usable(kp, nowMs)) {
      p.counters.counts[Count.QueueDrops]++
      return false
    }
    const n = this.codec.seal(kp, lane, length === plain.length ? plain : plain === this.codec.plain ? this.codec.plainView(length) : plain.subarray(0, length))
    p.counters.counts[Count.TxPackets]++
    this.opts.transmit(peer, this.codec.out, n)
    return true
  }

  receive(peer: number, nowMs: number, data: Buffer, length: number): number {
    this.lastNowMs = nowMs
    const p = this.peers[peer]
    if (p === undefined) return CryptoDrop.Malformed
    const bad = outerHeaderDrop(data, length)
    if (bad !== 0) return this.drop(p, bad)
    // Handshakes are steered to worker 0; one here is out of place.
    if (data[OFF_TYPE] !== MSG_TRANSPORT || length < TRANSPORT_OVERHEAD) return this.drop(p, CryptoDrop.Malformed)
    const kp = this.keypairs.get(data.readUInt32BE(OFF_RECEIVER))
    if (kp === undefined) return this.drop(p, CryptoDrop.UnknownReceiver)
    if (kp.peer !== peer) return this.drop(p, CryptoDrop.WrongPeer)
    const n = this.codec.open(kp, nowMs, data, length, this.limits)
    if (n < 0) return this.drop(p, n)
    p.counters.counts[Count.RxPackets]++
    if (kp === p.next && !kp.confirmReported) {
      kp.confirmReported = true
      this.opts.onConfirm?.(peer, kp.localIndex)
    }
    return n
  }

  /** Drops keypairs past their age here too, in case worker 0's word is late. */
  tick(nowMs: number): void {
    this.lastNowMs = nowMs
    for (const [index, kp] of this.keypairs) {
      if (nowMs - kp.createdMs < this.limits.rejectAfterMs) continue
      this.keypairs.delete(index)
      const p = this.peers[kp.peer]
      if (p === undefined) continue
      if (p.current === kp) p.current = null
      if (p.next === kp) p.next = null
      kp.wipe()
      this.liveKeysChanged(kp.peer)
    }
  }

  stats(): CryptoStats {
    const total = new Counters()
    const peers = this.peers.flatMap((p, peer) => {
      if (p === undefined) return []
      total.add(p.counters)
      return {
        ...p.counters.snapshot(),
        peer,
        hasSession: this.hasSession(peer),
        sessionAgeMs: p.current === null ? null : this.lastNowMs - p.current.createdMs,
        queued: 0,
        handshakeInProgress: false,
      }
    })
    return { total: total.snapshot(), peers }
  }

  private usable(kp: Keypair, nowMs: number): boolean {
    return keyUsable(kp, nowMs, this.limits)
  }

  private drop(p: LanePeer, code: number): number {
    p.counters.drop(code)
    return code
  }
}
