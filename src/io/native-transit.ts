/**
 * The native transit table (native/transit.c, in the overpass_udp addon,
 * linked with the system libsodium): the sessions a batched overlay socket
 * uses to forward pure transit datagrams without calling JS. This file is
 * only the typed boundary; what goes into the table, and when, is
 * dataplane/transit-offload.ts.
 *
 * Unavailable (and the TypeScript path does everything) when the addon is
 * not built, was built without libsodium-dev, or OVERPASS_TRANSIT=off.
 */
import { loadNativeAddon } from './native-addon.js'

/** Totals first ([forwarded, opened and handed to JS, delivered to an exit flow's origin]), then per-peer slots, as native/transit.c keeps them. */
export const TRANSIT_TOTALS = 3
export const TRANSIT_PEER_SLOTS = 4
export const enum TransitPeerStat {
  RxPackets = 0,
  RxBytes = 1,
  TxPackets = 2,
  TxBytes = 3,
}

interface TransitAddon {
  readonly transitAvailable: boolean
  transitCreate(selfNode: number, peerCount: number, family: 4 | 6, rekeyAfterPackets: number, rejectAfterPackets: number, jsNowMs: number, stats: Float64Array): object
  transitPeer(table: object, slot: number, node: number, host: string, port: number): boolean
  transitClearPeer(table: object, slot: number): void
  transitReceiveKey(table: object, slot: number, localIndex: number, key: Buffer, ring: Uint32Array, head: Float64Array, untilMs: number): boolean
  transitSendKey(table: object, slot: number, remoteIndex: number, key: Buffer, counts: Float64Array, untilMs: number): boolean
  transitTry(table: object, data: Buffer, length: number, host: string, port: number, nowMs: number, out: Buffer): [number, number, number, number] | null
  transitLane(table: object, lane: number): void
  exitFlowsAttach(table: object, seen: Float64Array, services: Float64Array, meter: Float64Array): void
  exitFlowSet(table: object, slot: number, ingressNode: number, flowId: number, serviceId: number, serviceSlot: number, socket: object, path: Uint32Array, pathLen: number, meterSlot: number, meterGen: number): boolean
  exitFlowClear(table: object, slot: number): void
  exitFlowsClear(table: object): void
}

/** Per service slot of the exit's shared counters (native/exit-flows.c). */
export const EXIT_SERVICE_FIELDS = 3
export const enum ExitServiceStat {
  TxPackets = 0,
  TxBytes = 1,
  SendFailed = 2,
}

/** One exit flow as the table delivers it natively (native/exit-flows.c; dataplane/exit-offload.ts decides when). */
export interface ExitFlowEntry {
  ingressNode: number
  flowId: number
  serviceId: number
  serviceSlot: number
  /** The flow's connected origin socket's native handle (io/native-udp-connected.ts). */
  socket: object
  path: Uint32Array
  pathLen: number
  /** The path meter's receive slot for `path`, and that slot's generation (path-meter.ts). */
  meterSlot: number
  meterGen: number
}

/** OVERPASS_TRANSIT: `native` (default: when available) or `off` (the TypeScript path only, e.g. for A/B runs). */
export function nativeTransitWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.OVERPASS_TRANSIT ?? '').trim() !== 'off'
}

function addon(): TransitAddon | undefined {
  const load = loadNativeAddon<TransitAddon>('overpass_udp', 'OVERPASS_UDP_ADDON')
  return load.addon?.transitAvailable === true ? load.addon : undefined
}

/** Why there is no native transit table here, or undefined if there can be one. */
export function nativeTransitUnavailable(): string | undefined {
  const load = loadNativeAddon<TransitAddon>('overpass_udp', 'OVERPASS_UDP_ADDON')
  if (load.error !== undefined) return load.error
  if (load.addon.transitAvailable !== true) return 'the overpass_udp addon was built without libsodium (apt-get install libsodium-dev, then npm rebuild)'
  return undefined
}

export interface TransitTableInit {
  selfNode: number
  peerCount: number
  family: 4 | 6
  rekeyAfterPackets: number
  rejectAfterPackets: number
  /** The relay clock's now, so the table's clock reads the same milliseconds. */
  nowMs: number
  /** The lane the table opens and seals on: its worker's own (default 0). */
  lane?: number
}

/** What the table did with a datagram it did not decline (`tryForward`). */
export interface TransitVerdict {
  /** False: forwarded (re-sealed into `out`) or delivered; true: opened in place for JS to deliver. */
  opened: boolean
  /** Delivered to an exit flow's origin socket natively (nothing left for JS). */
  delivered: boolean
  length: number
  slot: number
  offset: number
}

/** One table; a socket's `attachTransit` runs it on every receive batch. */
export class NativeTransitTable {
  readonly handle: object
  /** Totals, then TRANSIT_PEER_SLOTS per peer; deltas since the last drain. */
  readonly counters: Float64Array
  private readonly native: TransitAddon

  private constructor(native: TransitAddon, init: TransitTableInit) {
    this.native = native
    this.counters = new Float64Array(TRANSIT_TOTALS + TRANSIT_PEER_SLOTS * init.peerCount)
    this.handle = native.transitCreate(init.selfNode, init.peerCount, init.family, init.rekeyAfterPackets, init.rejectAfterPackets, init.nowMs, this.counters)
    if ((init.lane ?? 0) !== 0) native.transitLane(this.handle, init.lane!)
  }

  /** A table, or undefined where the native path is not available. */
  static create(init: TransitTableInit): NativeTransitTable | undefined {
    const native = addon()
    return native ? new NativeTransitTable(native, init) : undefined
  }

  /** False: datagrams from host:port would not be matched to this peer natively (JS keeps it). */
  setPeer(slot: number, node: number, host: string, port: number): boolean {
    return this.native.transitPeer(this.handle, slot, node, host, port)
  }

  clearPeer(slot: number): void {
    this.native.transitClearPeer(this.handle, slot)
  }

  receiveKey(slot: number, localIndex: number, key: Buffer, ring: Uint32Array, head: Float64Array, untilMs: number): boolean {
    return this.native.transitReceiveKey(this.handle, slot, localIndex, key, ring, head, untilMs)
  }

  /** `counts`: the keypair's [sent on all lanes, next counter of lane 0, of lane 1, ...] (crypto/keypair.ts). */
  sendKey(slot: number, remoteIndex: number, key: Buffer, counts: Float64Array, untilMs: number): boolean {
    return this.native.transitSendKey(this.handle, slot, remoteIndex, key, counts, untilMs)
  }

  /**
   * What the socket runs per datagram, without a socket (tests). Forwarded: out[0, length) goes to
   * peer `slot`. Delivered: sent to an exit flow's origin socket. Opened: data[offset, offset + length) is now the plaintext, from peer `slot` (its replay
   * window committed, counted). Null: declined, nothing changed.
   */
  tryForward(data: Buffer, length: number, host: string, port: number, nowMs: number, out: Buffer): TransitVerdict | null {
    const r = this.native.transitTry(this.handle, data, length, host, port, nowMs, out)
    if (r === null) return null
    return { opened: r[0] === 2, delivered: r[0] === 3, length: r[1], slot: r[2], offset: r[3] }
  }

  /** The exit's shared counters (again after JS grew one): flow slots' last delivery, services' origin tx, the path meter's receive slots. */
  attachExit(seen: Float64Array, services: Float64Array, meter: Float64Array): void {
    this.native.exitFlowsAttach(this.handle, seen, services, meter)
  }

  /** False: not registered (the socket is not an open native connected socket, or a value is out of range); the slot is empty. */
  setExitFlow(slot: number, e: ExitFlowEntry): boolean {
    return this.native.exitFlowSet(this.handle, slot, e.ingressNode, e.flowId, e.serviceId, e.serviceSlot, e.socket, e.path, e.pathLen, e.meterSlot, e.meterGen)
  }

  clearExitFlow(slot: number): void {
    this.native.exitFlowClear(this.handle, slot)
  }

  clearExitFlows(): void {
    this.native.exitFlowsClear(this.handle)
  }
}
