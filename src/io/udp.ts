/**
 * node:dgram sockets behind the PacketSocket interface.
 *
 * Two details matter on the hot path:
 * - dgram.send() resolves the destination with dns.lookup, which answers on
 *   the next tick even for an IP literal, so the buffer would be read after
 *   send() returns. A synchronous lookup (addresses are validated IP
 *   literals) makes the send happen inside the call.
 * - If the kernel queue is full, libuv keeps the send queued and reads the
 *   buffer later. So callers' scratch buffers are copied into a ring of
 *   owned slots, and sends are dropped (not queued without bound) when more
 *   than RING_SLOTS / 2 sends are waiting in libuv. The ring starts at one
 *   slot (from Node's shared pool) and doubles, up to RING_SLOTS, whenever
 *   half of it is waiting; so the exit's one socket per flow does not touch
 *   a 1 MB ring of its own, and the drop rule stays exactly the same.
 */
import dgram from 'node:dgram'
import { isIPv6 } from 'node:net'
import type { DatagramHandler, PacketSocket, PeerAddress, UdpSocketFactory } from './index.js'

const RING_SLOTS = 512
const INITIAL_RING_SLOTS = 1
const SLOT_BYTES = 2048

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

export class UdpBindError extends Error {
  override readonly name = 'UdpBindError'
  constructor(readonly host: string, readonly port: number, readonly code: string | undefined, cause: Error) {
    super(`cannot bind UDP ${host}:${port}: ${cause.message}${code === 'EADDRINUSE' ? ' (another process uses this port; pick a free one)' : ''}`)
  }
}

export class NodeUdpSocket implements PacketSocket {
  private readonly socket: dgram.Socket
  private ring = Buffer.allocUnsafe(INITIAL_RING_SLOTS * SLOT_BYTES)
  private ringSlots = INITIAL_RING_SLOTS
  private slot = 0
  private closed = false
  private isBound = false
  private readonly boundPromise: Promise<PeerAddress>

  constructor(host: string, port: number, opts: { recvBufferBytes?: number; sendBufferBytes?: number } = {}) {
    const type = isIPv6(host) ? 'udp6' : 'udp4'
    this.socket = createLiteralSocket(type)
    this.boundPromise = new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => reject(new UdpBindError(host, port, err.code, err))
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
        resolve({ address: a.address, port: a.port })
      })
    })
    this.boundPromise.catch(() => {})
  }

  send(data: Buffer, offset: number, length: number, port: number, address: string): boolean {
    if (this.closed) return false
    try {
      if (length > SLOT_BYTES || !this.isBound) {
        // dgram queues sends made before bind completes and reads them later,
        // and no overlay datagram is this large: give those sends their own copy.
        this.socket.send(Buffer.from(data.subarray(offset, offset + length)), port, address)
        return true
      }
      const waiting = this.socket.getSendQueueCount()
      if (waiting > RING_SLOTS / 2) return false
      // A slot is rewritten ringSlots sends after its last use, so fewer
      // sends than that may be waiting. Sends still queued keep the old
      // ring alive (dgram holds their buffers), so growing is safe.
      if (waiting * 2 >= this.ringSlots && this.ringSlots < RING_SLOTS) this.growRing()
      const start = this.slot * SLOT_BYTES
      this.slot = (this.slot + 1) % this.ringSlots
      data.copy(this.ring, start, offset, offset + length)
      this.socket.send(this.ring, start, length, port, address)
      return true
    } catch {
      // dgram throws synchronously on a closed socket or a bad destination;
      // the caller counts a failed send instead of the relay crashing.
      return false
    }
  }

  private growRing(): void {
    this.ringSlots = Math.min(this.ringSlots * 2, RING_SLOTS)
    this.ring = Buffer.allocUnsafe(this.ringSlots * SLOT_BYTES)
    this.slot = 0
  }

  onMessage(handler: DatagramHandler): void {
    this.socket.on('message', handler as (msg: Buffer, rinfo: dgram.RemoteInfo) => void)
  }

  onError(handler: (err: Error) => void): void {
    this.socket.on('error', handler)
  }

  bound(): Promise<PeerAddress> {
    return this.boundPromise
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
