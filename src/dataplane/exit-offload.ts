/**
 * Keeps the exit's native local delivery (native/exit-flows.c, run by the
 * transit table on every datagram it opened) in step with ExitSide: which
 * flows it may deliver, on which path, with which counters.
 *
 * JS stays the owner. A flow is registered after JS delivered one of its
 * datagrams itself, i.e. with every check of the TypeScript path passed
 * (relay.ts onPathPacket, exit.ts deliverForward), and only when the native
 * delivery would do exactly what deliverForward does: `proxy` delivery with
 * no PROXY header, a native connected origin socket, a path-meter receive
 * slot for the path. A redundant datagram, or anything else that is not,
 * takes the flow out again (JS delivers, deduplicates, copies the arrived
 * path). What native code advances lives in typed arrays owned here:
 *   - `seen`: each flow slot's last native delivery, folded into the flow's
 *     lastSeenMs before the idle sweep reads it;
 *   - `services`: per service, origin tx packets and bytes and failed sends,
 *     drained into the service's counters with the transit table's;
 *   - the path meter's receive slots (PathMeter.receiveCounters).
 * ExitSide clears every flow on a change of services, removes a flow before
 * it closes its socket, and drops this object with the table.
 */
import type { PacketSocket } from '../io/index.js'
import { EXIT_SERVICE_FIELDS, ExitServiceStat, type NativeTransitTable } from '../io/native-transit.js'
import { FLAG_REDUNDANT, type DataHeader } from '../wire/data.js'
import type { ServiceState } from './context.js'
import { RECEIVE_FIELDS, ReceiveField, type PathMeter } from './path-meter.js'

/** Flow slots at first (doubled as needed), and service slots. */
const INITIAL_FLOW_SLOTS = 1024
const INITIAL_SERVICE_SLOTS = 16

/** What ExitOffload needs of an exit flow (exit.ts ExitFlow). */
export interface OffloadFlow {
  service: ServiceState
  ingressNode: number
  flowId: number
  socket: PacketSocket
  lastSeenMs: number
  proxyHeader: Buffer | undefined
  /** Its slot in the native table, or -1 (not registered). */
  nativeSlot: number
}

export class ExitOffload {
  private seen = new Float64Array(INITIAL_FLOW_SLOTS)
  private services = new Float64Array(EXIT_SERVICE_FIELDS * INITIAL_SERVICE_SLOTS)
  private readonly serviceSlots = new Map<ServiceState, number>()
  private readonly freeFlowSlots: number[] = []
  private nextFlowSlot = 0

  constructor(
    private readonly table: NativeTransitTable,
    private readonly meter: PathMeter,
  ) {
    this.attach()
  }

  /**
   * JS delivered `hdr`'s datagram on `flow` (arrived path copied, sent):
   * the flow is registered for the path it came on, or, when the native
   * delivery could not do the same, taken out.
   */
  delivered(flow: OffloadFlow, hdr: DataHeader): void {
    const socket = flow.socket.nativeHandle?.()
    const can = socket !== undefined && flow.proxyHeader === undefined && flow.service.cfg.delivery !== 'proxy-protocol' && (hdr.flags & FLAG_REDUNDANT) === 0
    const meterSlot = can ? this.meter.receiveSlotOf(hdr.path, hdr.pathLen) : -1
    if (socket === undefined || meterSlot < 0) {
      this.remove(flow)
      return
    }
    if (flow.nativeSlot < 0) flow.nativeSlot = this.takeFlowSlot()
    this.seen[flow.nativeSlot] = flow.lastSeenMs
    const ok = this.table.setExitFlow(flow.nativeSlot, {
      ingressNode: flow.ingressNode,
      flowId: flow.flowId,
      serviceId: flow.service.id,
      serviceSlot: this.serviceSlot(flow.service),
      socket,
      path: hdr.path,
      pathLen: hdr.pathLen,
      meterSlot,
      meterGen: this.meter.receiveCounters[meterSlot * RECEIVE_FIELDS + ReceiveField.Gen],
    })
    if (!ok) this.remove(flow)
  }

  /** The flow's last delivery, native ones included, folded into lastSeenMs (before the idle sweep reads it). */
  syncSeen(flow: OffloadFlow): void {
    if (flow.nativeSlot >= 0 && this.seen[flow.nativeSlot] > flow.lastSeenMs) flow.lastSeenMs = this.seen[flow.nativeSlot]
  }

  /** JS delivers the flow from now on (or forgets it: called before its socket closes). */
  remove(flow: OffloadFlow): void {
    if (flow.nativeSlot < 0) return
    this.table.clearExitFlow(flow.nativeSlot)
    this.release(flow)
  }

  /** A change of services: every flow goes back to JS, and is registered again by its next delivery there. */
  removeAll(flows: Iterable<OffloadFlow>): void {
    this.table.clearExitFlows()
    for (const f of flows) if (f.nativeSlot >= 0) this.release(f)
  }

  /** The JS side of taking a flow out of the table: its last delivery kept, its slot free again. */
  private release(flow: OffloadFlow): void {
    this.syncSeen(flow)
    this.freeFlowSlots.push(flow.nativeSlot)
    flow.nativeSlot = -1
  }

  /** A service that went: its counters are drained and its slot forgotten (its flows were removed first). */
  forgetService(service: ServiceState): void {
    this.drain()
    this.serviceSlots.delete(service)
  }

  /** Moves what the native delivery counted into the services' origin traffic and drops. */
  drain(): void {
    const c = this.services
    for (const [service, slot] of this.serviceSlots) {
      const i = slot * EXIT_SERVICE_FIELDS
      const packets = c[i + ExitServiceStat.TxPackets]
      const failed = c[i + ExitServiceStat.SendFailed]
      if (packets === 0 && failed === 0) continue
      service.origin.packetsOut += packets
      service.origin.bytesOut += c[i + ExitServiceStat.TxBytes]
      if (failed > 0) service.drops.add('send_failed', failed)
      c.fill(0, i, i + EXIT_SERVICE_FIELDS)
    }
  }

  private takeFlowSlot(): number {
    const reused = this.freeFlowSlots.pop()
    if (reused !== undefined) return reused
    if (this.nextFlowSlot === this.seen.length) {
      const seen = new Float64Array(this.seen.length * 2)
      seen.set(this.seen)
      this.seen = seen
      this.attach()
    }
    return this.nextFlowSlot++
  }

  private serviceSlot(service: ServiceState): number {
    let slot = this.serviceSlots.get(service)
    if (slot !== undefined) return slot
    const used = new Set(this.serviceSlots.values())
    slot = 0
    while (used.has(slot)) slot++
    if ((slot + 1) * EXIT_SERVICE_FIELDS > this.services.length) {
      const services = new Float64Array(this.services.length * 2)
      services.set(this.services)
      this.services = services
      this.attach()
    }
    this.services.fill(0, slot * EXIT_SERVICE_FIELDS, (slot + 1) * EXIT_SERVICE_FIELDS)
    this.serviceSlots.set(service, slot)
    return slot
  }

  private attach(): void {
    this.table.attachExit(this.seen, this.services, this.meter.receiveCounters)
  }
}
