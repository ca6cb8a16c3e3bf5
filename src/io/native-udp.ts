/**
 * A batched UDP socket behind the PacketSocket interface, through the N-API
 * addon in native/udp.c (built by `npm ci` from binding.gyp, Linux only).
 *
 * Why: with node:dgram every datagram costs a recvmsg, a sendmsg and a call
 * into JS (~14 µs per forwarded datagram on the bench VM, more than the
 * crypto). Here one recvmmsg fetches up to 64 datagrams, JS is called once
 * for all of them, and the sends the handler makes meanwhile leave in one
 * sendmmsg when the batch returns. Sends outside a batch (timers) go at once.
 *
 * Contracts (same as NodeUdpSocket unless said):
 * - `data` and `from` passed to the handler are only valid during the call;
 *   `from` objects are shared per source address: never mutate them.
 * - `send` copies before it returns and never blocks. A send inside a batch
 *   is queued and returns true; whether the kernel took it shows in
 *   `stats` (a full socket buffer is counted in txDropped, other refusals in
 *   txErrors), not in the return value.
 * - A datagram larger than `maxDatagramBytes` is dropped and counted
 *   (rxTruncated), never delivered cut short.
 * - Binding is synchronous; `bound()` rejects with UdpBindError if it failed.
 * - One socket per worker thread may share a port (`reusePort`), with the
 *   kernel picking the socket per datagram by overlay lane (`laneSteering`);
 *   see NativeUdpOptions for the group's rules.
 *
 * Example:
 *   const sock = new NativeUdpSocket('0.0.0.0', 7200)
 *   sock.onMessage((data, from) => sock.send(data, 0, data.length, from.port, from.address))
 */
import { isIPv6 } from 'node:net'
import type { OpenedDatagramHandler, PacketSocket, PeerAddress, UdpSocketFactory } from './index.js'
import { loadNativeAddon, REBUILD_FIX, type AddonLoad } from './native-addon.js'
import { NativeSocketBase, SOCKET_COUNTERS } from './native-socket-base.js'
import type { NativeTransitTable } from './native-transit.js'

/** Default slot size: fits any overlay datagram of a relay.mtu up to 2048. */
export const DEFAULT_MAX_DATAGRAM_BYTES = 2048
/**
 * Must match native/udp.c: header ints, then (slot, length, source id) per datagram, or, for one the
 * transit table opened, (minus the plaintext's byte offset in the receive buffer, its length, peer slot).
 */
const META_COUNT = 0
const META_EPOCH = 1
const META_HEADER = 2

interface NativeUdp {
  readonly batch: number
  open(
    family: 4 | 6, host: string, port: number, rcvbufBytes: number, sndbufBytes: number, slotBytes: number,
    recvBuffer: Buffer, meta: Int32Array, stats: Float64Array, onBatch: (countOrNegErrno: number) => void,
    flags?: number, laneGroup?: number,
  ): object
  close(handle: object): void
  intern(handle: object, address: string, port: number): number
  peer(handle: object, id: number): [string, number]
  local(handle: object): [string, number]
  send(handle: object, buffer: Buffer, offset: number, length: number, id: number): number
  transitAttach(handle: object, table: object | null): void
}

/** open() flags, as native/udp.c reads them. */
const OPEN_REUSEPORT = 1
/** The largest laneSteering group: the lane is one byte of the counter (native/udp.c LANE_GROUP_MAX). */
export const MAX_LANE_GROUP = 256

/** Counter names, in the order native/udp.c keeps them. */
const STAT_NAMES = [...SOCKET_COUNTERS, 'txBatches'] as const
export type NativeUdpStats = Record<(typeof STAT_NAMES)[number] | 'rxBatches' | 'txUnaddressable', number>

/** The batched socket cannot be used here (not Linux, or the addon is not built). `fix` says what to do. */
export class NativeUdpUnavailableError extends Error {
  override readonly name = 'NativeUdpUnavailableError'
  constructor(readonly reason: string, readonly fix: string) {
    super(`native UDP socket unavailable: ${reason}. Fix: ${fix}`)
  }
}

function loadAddon(): AddonLoad<NativeUdp> {
  return loadNativeAddon<NativeUdp>('overpass_udp', 'OVERPASS_UDP_ADDON')
}

/** Whether NativeUdpSocket can work in this process; tests and the factory use it. */
export function nativeUdpAvailable(): { ok: boolean; reason?: string } {
  const load = loadAddon()
  return load.addon ? { ok: true } : { ok: false, reason: load.error }
}

function requireAddon(): NativeUdp {
  const load = loadAddon()
  if (load.error !== undefined) throw new NativeUdpUnavailableError(load.error, `${REBUILD_FIX}; or set OVERPASS_UDP=dgram`)
  return load.addon
}

/** A NativeUdpOptions value that cannot work; `field` names it, `fix` says what to use. */
export class NativeUdpOptionError extends Error {
  override readonly name = 'NativeUdpOptionError'
  constructor(readonly field: string, readonly value: unknown, readonly fix: string) {
    super(`native UDP option ${field}=${JSON.stringify(value)} is invalid. Fix: ${fix}`)
  }
}

export interface NativeUdpOptions {
  recvBufferBytes?: number
  sendBufferBytes?: number
  /** Largest datagram received (larger ones are dropped and counted) and batched on send. */
  maxDatagramBytes?: number
  /**
   * Join the port's SO_REUSEPORT group: several sockets (one per worker
   * thread of this process) bind the same address and port. Every member
   * must set it. Without `laneSteering` the kernel spreads datagrams by
   * their 4-tuple hash (one client flow stays on one socket): enough for
   * service sockets.
   */
  reusePort?: boolean
  /**
   * Steer the group's datagrams by overlay lane (requires `reusePort`): the
   * group size N (1..256). An overlay transport datagram (byte 1 = 3, at
   * least 16 bytes) goes to the group's socket number `counter byte 9 % N`
   * (byte 9 of the datagram; counter bits 48..55); anything else (handshakes,
   * short or foreign datagrams) to socket 0. A classic BPF program attached
   * with SO_ATTACH_REUSEPORT_CBPF does it in the kernel, per datagram.
   *
   * Rules for the group (the kernel's, not ours):
   * - A socket's number is the order it joined: bind worker 0's socket
   *   first, then 1, ... (wait for each open to return before the next).
   * - Every member sets the same N. Each attaches the same program; the
   *   group keeps one, so the last attach wins.
   * - Until N sockets are bound, a lane with no socket yet falls back to
   *   the 4-tuple hash.
   * - Closing a member moves the last socket into its place: the numbers
   *   change. Workers must not close and reopen their sockets one by one;
   *   close the whole group and bind it again in order.
   */
  laneSteering?: number
}

function checkOptions(opts: NativeUdpOptions): void {
  const n = opts.laneSteering
  if (n === undefined) return
  if (!Number.isInteger(n) || n < 1 || n > MAX_LANE_GROUP) {
    throw new NativeUdpOptionError('laneSteering', n, `the number of sockets in the group, an integer from 1 to ${MAX_LANE_GROUP}`)
  }
  if (opts.reusePort !== true) throw new NativeUdpOptionError('laneSteering', n, 'set reusePort: true too (steering picks a socket of a SO_REUSEPORT group)')
}

/** What to do about a failed open with these options (undefined: UdpBindError's own text serves). */
function bindFix(opts: NativeUdpOptions, err: NodeJS.ErrnoException): string | undefined {
  if (err.message.startsWith('lane steering')) {
    return 'the kernel refused the lane program (SO_ATTACH_REUSEPORT_CBPF needs Linux 4.5+ and a group whose members all set reusePort); or run without laneSteering'
  }
  if (err.code === 'EADDRINUSE' && opts.reusePort) {
    return 'a socket without SO_REUSEPORT (or of another user) holds this port: every socket of the group must set reusePort, or pick a free port'
  }
  return undefined
}

export class NativeUdpSocket extends NativeSocketBase<object> implements PacketSocket {
  /** Sends made inside a receive batch leave together when the batch returns. */
  readonly batched = true
  private readonly native: NativeUdp
  private readonly slotBytes: number
  private readonly recvBuf: Buffer
  private readonly meta: Int32Array
  private readonly counters: Float64Array
  /** Views of recvBuf's slot 0 by length, so delivering a datagram allocates nothing. */
  private readonly views: Buffer[] = []
  /** PeerAddress by native address id (valid for one table epoch). */
  private sources: PeerAddress[] = []
  /** Native address id by destination address and port (same epoch). */
  private dests = new Map<string, Map<number, number>>()
  private epoch = 0
  /** Where the transit table's opened datagrams go (set with the table: a table never runs without it). */
  private opened: OpenedDatagramHandler = () => {}
  private unaddressable = 0
  private batches = 0

  constructor(host: string, port: number, opts: NativeUdpOptions = {}) {
    super()
    checkOptions(opts)
    this.native = requireAddon()
    this.slotBytes = Math.max(64, Math.ceil((opts.maxDatagramBytes ?? DEFAULT_MAX_DATAGRAM_BYTES) / 64) * 64)
    this.recvBuf = Buffer.alloc(this.slotBytes * (this.native.batch + 1))
    this.meta = new Int32Array(META_HEADER + 3 * this.native.batch)
    this.counters = new Float64Array(STAT_NAMES.length)
    this.bind(host, port, () => {
      const handle = this.native.open(
        isIPv6(host) ? 6 : 4, host, port, opts.recvBufferBytes ?? 0, opts.sendBufferBytes ?? 0, this.slotBytes,
        this.recvBuf, this.meta, this.counters, this.onBatch, opts.reusePort ? OPEN_REUSEPORT : 0, opts.laneSteering ?? 0,
      )
      return { handle, local: this.native.local(handle) }
    }, (err) => bindFix(opts, err))
  }

  send(data: Buffer, offset: number, length: number, port: number, address: string): boolean {
    if (this.closed) return false
    const id = this.destId(address, port)
    if (id < 0) {
      this.unaddressable++
      return false
    }
    return this.native.send(this.handle!, data, offset, length, id) > 0
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.native.close(this.handle!)
  }

  /**
   * Forward pure transit datagrams natively before a batch reaches JS (native/transit.c), and hand
   * the ones the table opened without forwarding to `onOpened` as plaintext; null stops it.
   */
  attachTransit(transit: { table: NativeTransitTable; onOpened: OpenedDatagramHandler } | null): void {
    if (this.closed) return
    if (transit !== null) this.opened = transit.onOpened
    this.native.transitAttach(this.handle!, transit === null ? null : transit.table.handle)
  }

  /**
   * Counters since open. rxBatches: calls into JS (rxPackets / rxBatches is
   * the batching achieved); txBatches: sendmmsg batches (txPackets /
   * txBatches is the send batching); txDropped: sends the kernel refused for a full
   * socket buffer; txUnaddressable: sends to an address this socket cannot
   * reach (e.g. IPv6 from an IPv4 socket).
   */
  stats(): NativeUdpStats {
    const out = { rxBatches: this.batches, txUnaddressable: this.unaddressable } as NativeUdpStats
    STAT_NAMES.forEach((name, i) => (out[name] = this.counters[i]))
    return out
  }

  private destId(address: string, port: number): number {
    let byPort = this.dests.get(address)
    const cached = byPort?.get(port)
    if (cached !== undefined) return cached
    const id = this.native.intern(this.handle!, address, port)
    if (this.meta[META_EPOCH] !== this.epoch) {
      this.newEpoch()
      byPort = undefined
    }
    if (id < 0) return id
    if (byPort === undefined) this.dests.set(address, (byPort = new Map()))
    byPort.set(port, id)
    return id
  }

  /** The native table was emptied: every cached id is stale. */
  private newEpoch(): void {
    this.epoch = this.meta[META_EPOCH]
    this.sources = []
    this.dests = new Map()
  }

  private source(id: number): PeerAddress {
    let from = this.sources[id]
    if (from === undefined) {
      const [address, port] = this.native.peer(this.handle!, id)
      from = this.sources[id] = { address, port }
    }
    return from
  }

  private readonly onBatch = (count: number): void => {
    if (count < 0) return this.receiveFailed(count)
    this.batches++
    const meta = this.meta
    if (meta[META_EPOCH] !== this.epoch) this.newEpoch()
    const slotBytes = this.slotBytes
    for (let k = 0, row = META_HEADER; k < count && !this.closed; k++, row += 3) {
      const at = meta[row]
      const start = at > 0 ? at * slotBytes : -at
      const length = meta[row + 1]
      // Move the datagram to slot 0, so one view per length serves every slot.
      this.recvBuf.copyWithin(0, start, start + length)
      let view = this.views[length]
      if (view === undefined) view = this.views[length] = this.recvBuf.subarray(0, length)
      if (at > 0) this.handler(view, this.source(meta[row + 2]))
      else this.opened(view, meta[row + 2])
    }
    meta[META_COUNT] = 0
  }
}

export type UdpMode = 'auto' | 'native' | 'dgram'

/** OVERPASS_UDP is not one of the modes. */
export class UdpModeError extends Error {
  override readonly name = 'UdpModeError'
  constructor(readonly value: string) {
    super(`OVERPASS_UDP=${JSON.stringify(value)} is not a UDP socket mode. Fix: use auto, native or dgram (or unset it)`)
  }
}

/** The mode from OVERPASS_UDP (default auto). */
export function udpModeFromEnv(env: NodeJS.ProcessEnv = process.env): UdpMode {
  const v = (env.OVERPASS_UDP ?? 'auto').trim() || 'auto'
  if (v === 'auto' || v === 'native' || v === 'dgram') return v
  throw new UdpModeError(v)
}

/** A factory of batched sockets (throws NativeUdpOptionError or NativeUdpUnavailableError up front). */
export function nativeUdpFactory(opts: NativeUdpOptions = {}): UdpSocketFactory {
  checkOptions(opts)
  requireAddon()
  return { open: (host, port) => new NativeUdpSocket(host, port, opts) }
}

export interface OverlayUdpChoice {
  factory: UdpSocketFactory
  kind: 'native' | 'dgram'
  /** Why `auto` fell back to node:dgram. */
  fallbackReason?: string
}

/**
 * The overlay socket for a mode: `native` requires the addon (throws
 * NativeUdpUnavailableError), `dgram` is node:dgram (`dgramFactory`), `auto`
 * is native when the addon loads and dgram otherwise.
 */
export function chooseOverlayUdp(mode: UdpMode, dgramFactory: UdpSocketFactory, opts: NativeUdpOptions = {}): OverlayUdpChoice {
  if (mode === 'dgram') return { factory: dgramFactory, kind: 'dgram' }
  const load = loadAddon()
  if (mode === 'native' || load.addon) return { factory: nativeUdpFactory(opts), kind: 'native' }
  return { factory: dgramFactory, kind: 'dgram', fallbackReason: load.error }
}
