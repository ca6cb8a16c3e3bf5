/**
 * An in-memory UDP network for tests: sockets keyed by host:port, delivery
 * through injected Timers after a per-link delay, with optional loss, both
 * decided by the shared link model (link-model.ts). Without FIFO: a
 * datagram sent after a delay change may overtake an earlier one, as it
 * always could here. Datagrams are copied at send time, like a real kernel.
 */
import type { DatagramHandler, PacketSocket, PeerAddress, Timers, UdpSocketFactory } from './index.js'
import { DROP, decideRelease } from './link-model.js'

export interface LinkModel {
  /** One-way delay in ms from `from` to `to`; return undefined to use the default. */
  delayMs?: (from: PeerAddress, to: PeerAddress) => number | undefined
  /** Probability in [0,1] that a datagram is lost. */
  lossProbability?: (from: PeerAddress, to: PeerAddress) => number
  random?: () => number
}

const key = (host: string, port: number): string => `${host}:${port}`

export class FakeNetwork implements UdpSocketFactory {
  private readonly sockets = new Map<string, FakeSocket>()
  private nextPort = 40000
  delivered = 0
  lost = 0
  /** Datagrams sent to an address with no socket. */
  unreachable = 0

  /** Sees every datagram sent (after loss), e.g. to capture packets a test then replays. */
  onTransmit: ((from: PeerAddress, to: PeerAddress, data: Buffer) => void) | undefined

  constructor(private readonly timers: Timers, private readonly links: LinkModel = {}) {}

  /** Delivers `data` to `to` as if `from` had sent it (spoofing, for tests). */
  inject(from: PeerAddress, to: PeerAddress, data: Buffer): void {
    this.transmit(from, data, to.port, to.address)
  }

  open(host: string, port: number): PacketSocket {
    const actualPort = port === 0 ? this.nextPort++ : port
    const k = key(host, actualPort)
    const socket = new FakeSocket(this, { address: host, port: actualPort })
    if (this.sockets.has(k)) socket.failBind(new Error(`address in use: ${k}`))
    else this.sockets.set(k, socket)
    return socket
  }

  /** @internal */
  transmit(from: PeerAddress, data: Buffer, port: number, address: string): void {
    const to = { address, port }
    const loss = this.links.lossProbability?.(from, to) ?? 0
    // Timers take a delay, so the model runs on relative time (now = 0).
    const delay = decideRelease({ delayMs: this.links.delayMs?.(from, to) ?? 0, lossPct: loss * 100 }, 0, -Infinity, this.links.random ?? Math.random)
    if (delay === DROP) {
      this.lost++
      return
    }
    const copy = Buffer.from(data)
    this.onTransmit?.(from, to, copy)
    this.timers.setTimeout(() => {
      const target = this.sockets.get(key(address, port))
      if (!target) {
        this.unreachable++
        return
      }
      this.delivered++
      target.deliver(copy, from)
    }, delay)
  }

  /** @internal */
  release(socket: FakeSocket): void {
    const a = socket.address
    if (this.sockets.get(key(a.address, a.port)) === socket) this.sockets.delete(key(a.address, a.port))
  }
}

class FakeSocket implements PacketSocket {
  private handlers: DatagramHandler[] = []
  private errorHandlers: ((err: Error) => void)[] = []
  private closed = false
  private bindError: Error | undefined

  constructor(private readonly net: FakeNetwork, readonly address: PeerAddress) {}

  failBind(err: Error): void {
    this.bindError = err
    this.closed = true
  }

  send(data: Buffer, offset: number, length: number, port: number, address: string): boolean {
    if (this.closed) return false
    this.net.transmit(this.address, data.subarray(offset, offset + length), port, address)
    return true
  }

  deliver(data: Buffer, from: PeerAddress): void {
    if (this.closed) return
    for (const h of this.handlers) h(data, { address: from.address, port: from.port })
  }

  onMessage(handler: DatagramHandler): void {
    this.handlers.push(handler)
  }

  onError(handler: (err: Error) => void): void {
    this.errorHandlers.push(handler)
  }

  bound(): Promise<PeerAddress> {
    return this.bindError ? Promise.reject(this.bindError) : Promise.resolve(this.address)
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.net.release(this)
  }
}
