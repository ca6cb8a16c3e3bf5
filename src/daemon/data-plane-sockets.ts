/**
 * The data plane's sockets, for worker 0 and the other workers alike.
 *
 * One worker: the batched native socket for the overlay and service ports
 * when the addon loads (OVERPASS_UDP), node:dgram otherwise. Several
 * workers: every worker opens the overlay port and each service port
 * itself, as members of one SO_REUSEPORT group per port. The overlay group
 * is steered by lane (a flow's packets reach the worker that owns its lane,
 * wire/outer.ts); service groups keep the kernel's 4-tuple hash, so a
 * client stays with one ingress worker. With native sockets, the exit's
 * per-flow origin sockets are connected native ones too.
 */
import type { DataPlaneConfig } from '../config/data-plane.js'
import type { UdpSocketFactory } from '../io/index.js'
import { chooseOverlayUdp, DEFAULT_MAX_DATAGRAM_BYTES, nativeUdpFactory, NativeUdpUnavailableError, udpModeFromEnv } from '../io/native-udp.js'
import { NativeConnectedUdpSocket } from '../io/native-udp-connected.js'
import { nodeUdp } from '../io/udp.js'

const OVERLAY_BUFFER_BYTES = 4 << 20

export class WorkersNeedNativeUdpError extends Error {
  override readonly name = 'WorkersNeedNativeUdpError'
  constructor(readonly workers: number, readonly reason: string) {
    super(
      `relay.workers is ${workers}, but the native UDP addon is not usable (${reason}); worker threads share ports through it. ` +
        'Fix: build it (`npm ci` or `npm rebuild`) and leave OVERPASS_UDP unset or at native, or set relay.workers: 1',
    )
  }
}

export interface DataPlaneSockets {
  overlay: UdpSocketFactory
  service: UdpSocketFactory
  /** The exit's per-flow origin sockets. */
  origin: UdpSocketFactory
  kind: 'native' | 'dgram'
  /** Why OVERPASS_UDP=auto fell back to node:dgram. */
  fallbackReason?: string
}

/**
 * Socket factories for one worker of `plane.workers`. 2 KB slots (or
 * the MTU if larger): an oversize client datagram still reaches the ingress
 * and is counted there; beyond the slot the socket counts it (rxTruncated).
 * Throws WorkersNeedNativeUdpError when several workers cannot share ports.
 */
export function dataPlaneSockets(plane: Pick<DataPlaneConfig, 'workers' | 'mtu'>, env: NodeJS.ProcessEnv = process.env): DataPlaneSockets {
  const workers = plane.workers
  const maxDatagramBytes = Math.max(DEFAULT_MAX_DATAGRAM_BYTES, plane.mtu)
  const base = { recvBufferBytes: OVERLAY_BUFFER_BYTES, sendBufferBytes: OVERLAY_BUFFER_BYTES, maxDatagramBytes }
  const mode = udpModeFromEnv(env)
  const origin = withConnectedOrigins(nodeUdp, maxDatagramBytes)
  if (workers === 1) {
    const batched = chooseOverlayUdp(mode, nodeUdp, base)
    const native = batched.kind === 'native'
    return { overlay: batched.factory, service: batched.factory, origin: native ? origin : nodeUdp, kind: batched.kind, fallbackReason: batched.fallbackReason }
  }
  if (mode === 'dgram') throw new WorkersNeedNativeUdpError(workers, 'OVERPASS_UDP=dgram')
  const shared = { ...base, reusePort: true }
  try {
    return { overlay: nativeUdpFactory({ ...shared, laneSteering: workers }), service: nativeUdpFactory(shared), origin, kind: 'native' }
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
function withConnectedOrigins(base: UdpSocketFactory, maxDatagramBytes: number): UdpSocketFactory {
  const opts = { maxDatagramBytes, recvBufferBytes: 1 << 20, sendBufferBytes: 1 << 20 }
  return { open: (host, port) => base.open(host, port), openConnected: (lh, lp, ph, pp) => new NativeConnectedUdpSocket(lh, lp, ph, pp, opts) }
}
