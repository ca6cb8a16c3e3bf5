/**
 * Keeps the native transit fast path (native/transit.c, via
 * io/native-transit.ts) in step with the relay: which peers it may match by
 * source address, which keypairs it may open and seal with (handed over on
 * every change by the crypto endpoint's onLiveKeys), and what it counted
 * (drained into the peers' traffic and crypto counters on every relay tick
 * and every stats call, so `overpass status` and the metrics show the same
 * numbers as without it).
 *
 * JS stays the owner. The table only ever forwards what the TypeScript path
 * would forward, byte for byte, sharing the keypairs' replay windows and
 * send counters. What it authenticated but does not forward (local delivery
 * at an ingress or exit, control, probes) it hands to Relay's opened-datagram
 * entry as plaintext, its replay window committed and counted as the
 * TypeScript open would, so it is decrypted once; everything else reaches
 * Relay.onOverlayDatagram unchanged, so every drop is still counted there. When anything here is off (limits
 * that differ, a peer address that would not match), the table is simply
 * not given the keypair and JS does the work. With several workers, each
 * has its own table on its own lane (the one the kernel steers to it and
 * the only one it seals on): the replay window and counter handed over are
 * that lane's.
 */
import type { LiveKeys, SecureEndpoint } from '../crypto/types.js'
import { NativeTransitTable, TRANSIT_PEER_SLOTS, TRANSIT_TOTALS, TransitPeerStat } from '../io/native-transit.js'
import type { Traffic } from './counters.js'

export interface TransitOffloadPeer {
  node: number
  endpoint: { address: string; port: number }
  traffic: Traffic
  /** False when relay.ts would not match datagrams from `endpoint` to this peer (another peer has the same address). */
  matchedBySource: boolean
}

export interface TransitOffloadInit {
  selfNode: number
  family: 4 | 6
  peers: TransitOffloadPeer[]
  endpoint: Pick<SecureEndpoint, 'addTransitCounts'>
  rekeyAfterPackets: number
  rejectAfterPackets: number
  nowMs: number
  /** The worker's lane (Relay.lane): the table opens and seals only on it. */
  lane: number
}

export class TransitOffload {
  readonly table: NativeTransitTable
  /** Datagrams the table forwarded since start (drained). */
  forwarded = 0
  /** Datagrams the table opened and handed to JS as plaintext (local delivery, control, probes; drained). */
  openedLocal = 0
  /** Forward datagrams the table delivered to an exit flow's origin itself (exit-offload.ts; drained). */
  deliveredLocal = 0
  private readonly peers: TransitOffloadPeer[]
  private readonly usable: boolean[]
  private readonly endpoint: TransitOffloadInit['endpoint']
  private readonly rekeyAfterPackets: number
  private readonly rejectAfterPackets: number
  private readonly lane: number

  private constructor(table: NativeTransitTable, init: TransitOffloadInit) {
    this.table = table
    this.peers = init.peers
    this.endpoint = init.endpoint
    this.rekeyAfterPackets = init.rekeyAfterPackets
    this.rejectAfterPackets = init.rejectAfterPackets
    this.lane = init.lane
    this.usable = init.peers.map((p, slot) => p.matchedBySource && table.setPeer(slot, p.node, p.endpoint.address, p.endpoint.port))
  }

  /** An offload, or undefined where the native table is not available (the TypeScript path does everything). */
  static create(init: TransitOffloadInit): TransitOffload | undefined {
    const table = NativeTransitTable.create({
      selfNode: init.selfNode,
      peerCount: init.peers.length,
      family: init.family,
      rekeyAfterPackets: init.rekeyAfterPackets,
      rejectAfterPackets: init.rejectAfterPackets,
      nowMs: init.nowMs,
      lane: init.lane,
    })
    return table && new TransitOffload(table, init)
  }

  /** Peers the table may match by source address (for stats and tests). */
  peersMatched(): number {
    return this.usable.filter(Boolean).length
  }

  /** A peer's live keypairs changed: the table gets exactly these (and forgets the rest, wiping its key copies). */
  keysChanged(slot: number, keys: LiveKeys): void {
    const table = this.table
    table.clearPeer(slot)
    if (!this.usable[slot]) return
    // The table checks packet counts against its own limits: keys under other ones stay with JS.
    if (keys.rekeyAfterPackets !== this.rekeyAfterPackets || keys.rejectAfterPackets !== this.rejectAfterPackets) return
    for (const { kp, untilMs } of keys.receive) {
      const replay = kp.replayFor(this.lane)
      table.receiveKey(slot, kp.localIndex, kp.receiveKey, replay.ring, replay.head, untilMs)
    }
    const send = keys.send
    if (send !== null) table.sendKey(slot, send.kp.remoteIndex, send.kp.sendKey, send.kp.counts, send.untilMs)
  }

  /** Moves the table's counters into the peers' traffic and the endpoint's crypto counters. */
  drain(): void {
    const c = this.table.counters
    this.forwarded += c[0]
    this.openedLocal += c[1]
    this.deliveredLocal += c[2]
    c.fill(0, 0, TRANSIT_TOTALS)
    for (let slot = 0, i = TRANSIT_TOTALS; slot < this.peers.length; slot++, i += TRANSIT_PEER_SLOTS) {
      const rx = c[i + TransitPeerStat.RxPackets]
      const tx = c[i + TransitPeerStat.TxPackets]
      if (rx === 0 && tx === 0) continue
      const t = this.peers[slot].traffic
      t.packetsIn += rx
      t.bytesIn += c[i + TransitPeerStat.RxBytes]
      t.packetsOut += tx
      t.bytesOut += c[i + TransitPeerStat.TxBytes]
      this.endpoint.addTransitCounts?.(slot, rx, tx)
      c.fill(0, i, i + TRANSIT_PEER_SLOTS)
    }
  }
}
