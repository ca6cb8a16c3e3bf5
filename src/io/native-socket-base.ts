/**
 * What the two native socket kinds (native-udp.ts, native-udp-connected.ts)
 * share behind PacketSocket: the handlers, binding with a typed error that
 * `bound()` reports, and turning a negative errno from the addon into the
 * error event.
 */
import { getSystemErrorName } from 'node:util'
import type { DatagramHandler, PeerAddress } from './index.js'
import { UdpBindError } from './udp.js'

/** The counters both native socket kinds keep, in the order native/udp.c and native/udp-connected.c store them. */
export const SOCKET_COUNTERS = ['rxPackets', 'rxTruncated', 'rxErrors', 'txPackets', 'txDropped', 'txErrors', 'txLastErrno'] as const

export abstract class NativeSocketBase<H extends object> {
  protected handler: DatagramHandler = () => {}
  protected errorHandler: (err: Error) => void = () => {}
  protected handle: H | undefined
  protected closed = false
  private local: PeerAddress | undefined
  private bindError: UdpBindError | undefined

  onMessage(handler: DatagramHandler): void {
    this.handler = handler
  }

  /** Receive failures (rare for UDP: ENOMEM and the like); reading goes on unless the fd broke. */
  onError(handler: (err: Error) => void): void {
    this.errorHandler = handler
  }

  bound(): Promise<PeerAddress> {
    return this.local !== undefined ? Promise.resolve({ ...this.local }) : Promise.reject(this.bindError)
  }

  /**
   * Runs the addon's open; a failure is kept as a UdpBindError for bound()
   * and leaves the socket closed. `fix` may name what to do about a failure
   * (by the addon's error), put into the error's message.
   */
  protected bind(host: string, port: number, open: () => { handle: H; local: [string, number] }, fix?: (err: NodeJS.ErrnoException) => string | undefined): void {
    try {
      const r = open()
      this.handle = r.handle
      this.local = { address: r.local[0], port: r.local[1] }
    } catch (err) {
      let e = err as NodeJS.ErrnoException
      const text = fix?.(e)
      if (text !== undefined) e = Object.assign(new Error(`${e.message}. Fix: ${text}`), { code: e.code, errno: e.errno })
      this.bindError = new UdpBindError(host, port, e.code, e)
      this.closed = true
    }
  }

  /** A negative count from the addon: a receive error, reported with its errno name. */
  protected receiveFailed(negErrno: number): void {
    const code = getSystemErrorName(negErrno)
    this.errorHandler(Object.assign(new Error(`UDP receive failed: ${code}`), { code }))
  }
}
