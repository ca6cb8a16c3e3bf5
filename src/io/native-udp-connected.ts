/**
 * A connected UDP socket for one peer, through native/udp-connected.c (the
 * overpass_udp addon): the exit's per-flow sockets towards its origin.
 *
 * Why: node:dgram costs a JS callback with a fresh Buffer and rinfo per
 * datagram received and a JS-heavy send path; the exit was the one relay
 * dearer per packet than a bare forwarder (docs/performance.md). A batched
 * NativeUdpSocket is no answer at 10k flows (~130 KB of buffers each).
 * These sockets keep no buffers of their own: every one of them reads into
 * one shared arena (one socket is read and handled at a time), and sends
 * with one send(2) at once.
 *
 * Contracts (as NodeUdpSocket unless said):
 * - The socket is connected: the kernel delivers datagrams from the peer
 *   only, and `send` to any other address returns false (counted in
 *   txMisaddressed). `from` is always the one peer object.
 * - `data` is only valid during the handler call.
 * - A datagram over `maxDatagramBytes` is dropped and counted (rxTruncated).
 * - ICMP port unreachable from the peer shows as rxErrors / txErrors
 *   (ECONNREFUSED), not as an error event.
 *
 * Example:
 *   const sock = new NativeConnectedUdpSocket('0.0.0.0', 0, '198.19.0.2', 9000)
 *   sock.onMessage((data) => reply(data))
 *   sock.send(buf, 0, n, 9000, '198.19.0.2')
 */
import { isIPv6 } from 'node:net'
import type { PacketSocket, PeerAddress } from './index.js'
import { loadNativeAddon, REBUILD_FIX } from './native-addon.js'
import { NativeUdpUnavailableError, DEFAULT_MAX_DATAGRAM_BYTES } from './native-udp.js'
import { NativeSocketBase, SOCKET_COUNTERS } from './native-socket-base.js'

interface NativeConnected {
  /** Datagrams per recvmmsg into the arena. */
  readonly connectedBatch: number
  arena(buffer: Buffer, meta: Int32Array, slotBytes: number): number
  openConnected(family: 4 | 6, localHost: string, localPort: number, peerHost: string, peerPort: number, rcvbuf: number, sndbuf: number, onBatch: (countOrNegErrno: number) => void): object
  sendConnected(handle: object, buffer: Buffer, offset: number, length: number): number
  closeConnected(handle: object): void
  statsConnected(handle: object): number[]
  localConnected(handle: object): [string, number]
}

export type ConnectedUdpStats = Record<(typeof SOCKET_COUNTERS)[number] | 'txMisaddressed', number>

/** The shared receive arena of this thread: one Buffer of (batch + 1) slots, one meta table, views per length. */
interface Arena {
  buf: Buffer
  meta: Int32Array
  slotBytes: number
  views: Buffer[]
}
let arena: Arena | undefined

function addon(): NativeConnected {
  const load = loadNativeAddon<NativeConnected>('overpass_udp', 'OVERPASS_UDP_ADDON')
  if (load.error !== undefined) throw new NativeUdpUnavailableError(load.error, `${REBUILD_FIX}; or set OVERPASS_UDP=dgram`)
  return load.addon
}

function sharedArena(native: NativeConnected, slotBytes: number): Arena {
  if (arena !== undefined && arena.slotBytes >= slotBytes) return arena
  // Sized by the first call (64 B multiple); a larger later request replaces it for every socket.
  const bytes = Math.max(64, Math.ceil(slotBytes / 64) * 64)
  const buf = Buffer.alloc(bytes * (native.connectedBatch + 1))
  const meta = new Int32Array(1 + 2 * native.connectedBatch)
  native.arena(buf, meta, bytes)
  arena = { buf, meta, slotBytes: bytes, views: [] }
  return arena
}

export class NativeConnectedUdpSocket extends NativeSocketBase<object> implements PacketSocket {
  readonly batched = false
  private readonly native: NativeConnected
  private readonly peer: PeerAddress
  private misaddressed = 0

  constructor(localHost: string, localPort: number, peerHost: string, peerPort: number, opts: { maxDatagramBytes?: number; recvBufferBytes?: number; sendBufferBytes?: number } = {}) {
    super()
    this.native = addon()
    sharedArena(this.native, opts.maxDatagramBytes ?? DEFAULT_MAX_DATAGRAM_BYTES)
    this.peer = Object.freeze({ address: peerHost, port: peerPort })
    this.bind(localHost, localPort, () => {
      const handle = this.native.openConnected(isIPv6(peerHost) ? 6 : 4, localHost, localPort, peerHost, peerPort, opts.recvBufferBytes ?? 0, opts.sendBufferBytes ?? 0, this.onBatch)
      return { handle, local: this.native.localConnected(handle) }
    })
  }

  send(data: Buffer, offset: number, length: number, port: number, address: string): boolean {
    if (this.closed) return false
    if (port !== this.peer.port || address !== this.peer.address) {
      this.misaddressed++
      return false
    }
    return this.native.sendConnected(this.handle!, data, offset, length) > 0
  }

  /** The addon handle while open: the exit's native delivery sends on it (native/exit-flows.c). */
  nativeHandle(): object | undefined {
    return this.closed ? undefined : this.handle
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.native.closeConnected(this.handle!)
  }

  stats(): ConnectedUdpStats {
    const raw = this.handle && !this.closed ? this.native.statsConnected(this.handle) : []
    const out = { txMisaddressed: this.misaddressed } as ConnectedUdpStats
    SOCKET_COUNTERS.forEach((name, i) => (out[name] = raw[i] ?? 0))
    return out
  }

  private readonly onBatch = (count: number): void => {
    if (count < 0) return this.receiveFailed(count)
    // The module's current arena: a later, larger one replaces it for every socket.
    const a = arena!
    const meta = a.meta
    for (let k = 0; k < count && !this.closed; k++) {
      const start = meta[1 + 2 * k] * a.slotBytes
      const length = meta[2 + 2 * k]
      a.buf.copyWithin(0, start, start + length)
      let view = a.views[length]
      if (view === undefined) view = a.views[length] = a.buf.subarray(0, length)
      this.handler(view, this.peer)
    }
  }
}

export function nativeConnectedAvailable(): { ok: boolean; reason?: string } {
  const load = loadNativeAddon<NativeConnected>('overpass_udp', 'OVERPASS_UDP_ADDON')
  return load.addon ? { ok: true } : { ok: false, reason: load.error }
}
