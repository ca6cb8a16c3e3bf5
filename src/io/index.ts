/**
 * io/ owns the boundary between Overpass and the operating system: UDP sockets,
 * the raw ICMP socket of origin probes, clocks and timers. Everything above
 * it (crypto, probe, route, dataplane, control) is written against these
 * interfaces (and DNS, dns.ts, for peer endpoints given as names), so the daemon injects real sockets while tests and the
 * simulator inject fakes with latency, jitter and loss. What an emulated
 * link does to a packet is decided in one place, link-model.ts, shared by
 * those fakes, the simulator and the test bed's emulators (lab/).
 */

import type { NativeTransitTable } from './native-transit.js'
export type { RawIcmpSocket } from './raw-icmp.js'

/** Where a datagram came from. Mirrors the fields of node:dgram's RemoteInfo we use. */
export interface PeerAddress {
  address: string
  port: number
}

/** Receives datagrams. `data` is only valid during the call: copy what you keep. */
export type DatagramHandler = (data: Buffer, from: PeerAddress) => void

/**
 * Receives a datagram the native transit table already opened (native/transit.c): the plaintext
 * (only valid during the call) and the table's slot of the peer it came from, its replay window
 * committed and its packet counted. The receiver must not open it again.
 */
export type OpenedDatagramHandler = (plain: Buffer, peerSlot: number) => void

/**
 * A bound UDP socket. `send` must not retain `data` after it returns on real
 * sockets (node:dgram copies synchronously when given a single Buffer), so
 * callers may reuse one preallocated buffer per packet.
 */
export interface PacketSocket {
  /** Returns false when the datagram was dropped locally (send queue full, socket closed). */
  send(data: Buffer, offset: number, length: number, port: number, address: string): boolean
  onMessage(handler: DatagramHandler): void
  onError(handler: (err: Error) => void): void
  /** Resolves with the bound address once the socket is bound; rejects if binding fails. */
  bound(): Promise<PeerAddress>
  close(): void
  /**
   * True when datagrams arrive in batches and sends made while handling one
   * are sent together after it (io/native-udp): such a send returning true
   * means queued, and kernel refusals show in `stats`, not in the result.
   */
  readonly batched?: boolean
  /** Socket-level counters (drops the kernel or the socket counted), when the implementation keeps any. */
  stats?(): Record<string, number>
  /**
   * Run the native transit fast path on this socket's receive batches (null
   * stops it); only the batched native socket has it (io/native-transit.ts).
   * Datagrams the table opened but did not forward go to `onOpened`, not to
   * the onMessage handler.
   */
  attachTransit?(transit: { table: NativeTransitTable; onOpened: OpenedDatagramHandler } | null): void
  /**
   * The native connected socket's addon handle while it is open, for the
   * exit's native delivery (dataplane/exit-offload.ts); only
   * io/native-udp-connected has one.
   */
  nativeHandle?(): object | undefined
}

/** Opens UDP sockets. The daemon uses node:dgram; tests and the simulator use fakes. */
export interface UdpSocketFactory {
  /** Opens a socket bound to host:port (port 0: any). Binding completes asynchronously. */
  open(host: string, port: number): PacketSocket
  /**
   * Optional: a socket bound to localHost:localPort and connected to one
   * peer (IP literals), which only hears that peer and only sends to it
   * (io/native-udp-connected). Callers fall back to `open` without it.
   */
  openConnected?(localHost: string, localPort: number, peerHost: string, peerPort: number): PacketSocket
}

/** Monotonic clock in milliseconds (fractional). Never wall-clock. */
export interface Clock {
  nowMs(): number
}

export type TimerHandle = { readonly __timer: unique symbol } | object

/** Timers that the daemon backs with the event loop and tests back with a fake clock. */
export interface Timers {
  setTimeout(fn: () => void, delayMs: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

export type { Logger } from './log.js'

/**
 * A TUN device: whole IP packets in and out. Reads are event-driven on the
 * Node event loop (no thread-pool round trip per packet). The packet passed
 * to the handler is only valid during the call.
 */
export interface TunDevice {
  readonly name: string
  onPacket(handler: (packet: Buffer) => void): void
  /** Writes one IP packet; false if the kernel queue is full (the packet is dropped). */
  write(packet: Buffer, offset: number, length: number): boolean
  close(): void
}
