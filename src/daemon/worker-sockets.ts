/**
 * The sockets of a multi-worker relay: every worker opens the overlay port
 * and each service port itself, as members of one SO_REUSEPORT group per
 * port. The overlay group is steered by lane (a flow's packets reach the
 * worker that owns its lane, wire/outer.ts); service groups keep the
 * kernel's 4-tuple hash, so a client stays with one ingress worker.
 */
import { nativeUdpFactory, NativeUdpUnavailableError } from '../io/native-udp.js'
import type { UdpSocketFactory } from '../io/index.js'
import { NativeConnectedUdpSocket } from '../io/native-udp-connected.js'

export const OVERLAY_BUFFER_BYTES = 4 << 20

export class WorkersNeedNativeUdpError extends Error {
  override readonly name = 'WorkersNeedNativeUdpError'
  constructor(readonly workers: number, readonly reason: string) {
    super(
      `relay.workers is ${workers}, but the native UDP addon is not usable (${reason}); worker threads share ports through it. ` +
        'Fix: build it (`npm ci` or `npm rebuild`) and leave OVERPASS_UDP unset or at native, or set relay.workers: 1',
    )
  }
}

export interface WorkerSockets {
  overlay: UdpSocketFactory
  service: UdpSocketFactory
}

/** Socket factories for one of `workers` workers; throws WorkersNeedNativeUdpError when it cannot share ports. */
export function workerSockets(workers: number, maxDatagramBytes: number, udpMode: string): WorkerSockets {
  if (udpMode === 'dgram') throw new WorkersNeedNativeUdpError(workers, 'OVERPASS_UDP=dgram')
  const base = { recvBufferBytes: OVERLAY_BUFFER_BYTES, sendBufferBytes: OVERLAY_BUFFER_BYTES, maxDatagramBytes, reusePort: true }
  try {
    return { overlay: nativeUdpFactory({ ...base, laneSteering: workers }), service: nativeUdpFactory(base) }
  } catch (err) {
    if (err instanceof NativeUdpUnavailableError) throw new WorkersNeedNativeUdpError(workers, err.reason)
    throw err
  }
}

/**
 * node:dgram for everything but the exit's per-flow origin sockets, which
 * become connected native sockets sharing one receive arena
 * (io/native-udp-connected.ts): the exit was the one role dearer per packet
 * than a bare forwarder.
 */
export function withConnectedOrigins(base: UdpSocketFactory, maxDatagramBytes: number): UdpSocketFactory {
  const opts = { maxDatagramBytes, recvBufferBytes: 1 << 20, sendBufferBytes: 1 << 20 }
  return { open: (host, port) => base.open(host, port), openConnected: (lh, lp, ph, pp) => new NativeConnectedUdpSocket(lh, lp, ph, pp, opts) }
}
