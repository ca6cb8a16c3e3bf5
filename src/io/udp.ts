/**
 * node:dgram sockets behind the PacketSocket interface.
 *
 * Two details matter on the hot path:
 * - dgram.send() resolves the destination with dns.lookup, which answers on
 *   the next tick even for an IP literal, so the buffer would be read after
 *   send() returns. A synchronous lookup (addresses are validated IP
 *   literals) makes the send happen inside the call.
 * - Node first tries a non-blocking send. If the kernel takes the datagram,
 *   nothing keeps the buffer. If not (socket buffer full, or earlier sends
 *   still waiting), libuv queues the send and reads the buffer later. So
 *   callers' scratch buffers are copied into one send arena shared by every
 *   socket of the process: a send that completes at once leaves its bytes
 *   free for the next send, a queued send keeps them until a new chunk
 *   replaces the arena (dgram holds the old chunk alive). Sends are dropped,
 *   not queued without bound, when more than MAX_WAITING_SENDS wait on one
 *   socket. No socket owns a send buffer, which matters for the exit's one
 *   socket per flow (10k flows once cost 20 MB of per-socket rings).
 */
import dgram from 'node:dgram'
import { isIPv6 } from 'node:net'
import type { DatagramHandler, PacketSocket, PeerAddress, UdpSocketFactory } from './index.js'

/** Sends waiting in libuv per socket before further sends are dropped. */
export const MAX_WAITING_SENDS = 256
/** Largest datagram staged in the arena; larger ones (never overlay traffic) get their own copy. */
export const MAX_STAGED_BYTES = 2048
const ARENA_CHUNK_BYTES = 64 * 1024

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void

/**
 * Destinations are validated IP literals, and only IPv6 literals contain a
 * colon. (isIPv6 runs a long regular expression: ~1.3% of a relay's CPU in
 * a profile, since this runs on every send.)
 */
function literalLookup(hostname: string, _opts: unknown, cb: LookupCallback): void {
  cb(null, hostname, hostname.includes(':') ? 6 : 4)
}

/**
 * A plain dgram socket whose send() reads the buffer before it returns (for
 * IP-literal destinations), so callers may reuse one scratch buffer. With the
 * default lookup, dgram reads the buffer on a later tick.
 */
export function createLiteralSocket(type: 'udp4' | 'udp6'): dgram.Socket {
  return dgram.createSocket({ type, lookup: literalLookup as never })
}

/**
 * Owned copies of outgoing datagrams. `stage` copies into the current chunk
 * at the write offset; `keep` moves the offset past bytes that a queued send
 * still references. Bytes not kept are overwritten by the next `stage`, so
 * the common case (the kernel takes the datagram at once) reuses the same
 * cache-hot bytes and allocates nothing. Not safe across threads; one per
 * process is enough.
 */
export class SendArena {
  private chunk: Buffer
  private offset = 0

  constructor(private readonly chunkBytes = ARENA_CHUNK_BYTES) {
    this.chunk = Buffer.allocUnsafeSlow(chunkBytes)
  }

  /** The chunk the last `stage` wrote into. */
  get buffer(): Buffer {
    return this.chunk
  }

  /** Copies data[offset, offset + length) (length <= MAX_STAGED_BYTES) into the arena; returns where it starts. */
  stage(data: Buffer, offset: number, length: number): number {
    data.copy(this.chunk, this.offset, offset, offset + length)
    return this.offset
  }

  /** The last staged `length` bytes belong to a queued send now: never overwrite them. */
  keep(length: number): void {
    this.offset += length
    if (this.chunkBytes - this.offset < MAX_STAGED_BYTES) {
      // The queued sends keep the old chunk alive through dgram's request.
      this.chunk = Buffer.allocUnsafeSlow(this.chunkBytes)
      this.offset = 0
    }
  }
}

const arena = new SendArena()

export class UdpBindError extends Error {
  override readonly name = 'UdpBindError'
  constructor(readonly host: string, readonly port: number, readonly code: string | undefined, cause: Error) {
    super(`cannot bind UDP ${host}:${port}: ${cause.message}${code === 'EADDRINUSE' ? ' (another process uses this port; pick a free one)' : ''}`)
  }
}

type BindWaiter = { resolve: (a: PeerAddress) => void; reject: (e: Error) => void }

export class NodeUdpSocket implements PacketSocket {
  private readonly socket: dgram.Socket
  private closed = false
  private isBound = false
  /** The bind result; bound() builds a promise only when someone asks (the exit never does). */
  private boundAddress: PeerAddress | undefined
  private bindError: UdpBindError | undefined
  private waiters: BindWaiter[] | undefined

  constructor(host: string, port: number, opts: { recvBufferBytes?: number; sendBufferBytes?: number } = {}) {
    const type = isIPv6(host) ? 'udp6' : 'udp4'
    this.socket = createLiteralSocket(type)
    const onError = (err: NodeJS.ErrnoException): void => this.settle(undefined, new UdpBindError(host, port, err.code, err))
    this.socket.once('error', onError)
    this.socket.bind(port, host, () => {
      this.socket.off('error', onError)
      try {
        if (opts.recvBufferBytes) this.socket.setRecvBufferSize(opts.recvBufferBytes)
        if (opts.sendBufferBytes) this.socket.setSendBufferSize(opts.sendBufferBytes)
      } catch {
        // Buffer sizes are a hint; the kernel caps them at net.core.*mem_max.
      }
      this.isBound = true
      const a = this.socket.address()
      this.settle({ address: a.address, port: a.port }, undefined)
    })
  }

  private settle(address: PeerAddress | undefined, error: UdpBindError | undefined): void {
    this.boundAddress = address
    this.bindError = error
    const waiters = this.waiters
    this.waiters = undefined
    for (const w of waiters ?? []) {
      if (address !== undefined) w.resolve(address)
      else w.reject(error!)
    }
  }

  send(data: Buffer, offset: number, length: number, port: number, address: string): boolean {
    if (this.closed) return false
    try {
      if (length > MAX_STAGED_BYTES || !this.isBound) {
        // dgram queues sends made before bind completes and reads them later,
        // and no overlay datagram is this large: give those sends their own copy.
        this.socket.send(Buffer.from(data.subarray(offset, offset + length)), port, address)
        return true
      }
      const waiting = this.socket.getSendQueueCount()
      if (waiting > MAX_WAITING_SENDS) return false
      const start = arena.stage(data, offset, length)
      this.socket.send(arena.buffer, start, length, port, address)
      // The count only grows inside send (completions run later, on the
      // loop), so a grown count means libuv queued this send and holds its bytes.
      if (this.socket.getSendQueueCount() > waiting) arena.keep(length)
      return true
    } catch {
      // dgram throws synchronously on a closed socket or a bad destination;
      // the caller counts a failed send instead of the relay crashing.
      return false
    }
  }

  onMessage(handler: DatagramHandler): void {
    this.socket.on('message', handler as (msg: Buffer, rinfo: dgram.RemoteInfo) => void)
  }

  onError(handler: (err: Error) => void): void {
    this.socket.on('error', handler)
  }

  bound(): Promise<PeerAddress> {
    if (this.boundAddress !== undefined) return Promise.resolve(this.boundAddress)
    if (this.bindError !== undefined) return Promise.reject(this.bindError)
    return new Promise((resolve, reject) => (this.waiters ??= []).push({ resolve, reject }))
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    try {
      this.socket.close()
    } catch {
      // Already closed by an error.
    }
  }
}

export const nodeUdp: UdpSocketFactory = {
  open: (host, port) => new NodeUdpSocket(host, port, { recvBufferBytes: 4 << 20, sendBufferBytes: 4 << 20 }),
}

/**
 * UDP ports on `host` that were free a moment ago (bound to 0, then released),
 * for tools and tests that generate configs. Another process may take one
 * before it is used; callers bind them soon after.
 */
export async function freeUdpPorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const sockets = await Promise.all(
    Array.from({ length: n }, () => new Promise<dgram.Socket>((resolve) => {
      const s = dgram.createSocket(isIPv6(host) ? 'udp6' : 'udp4')
      s.bind(0, host, () => resolve(s))
    })),
  )
  const ports = sockets.map((s) => s.address().port)
  for (const s of sockets) s.close()
  return ports
}
