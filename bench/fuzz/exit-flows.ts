/**
 * The exit side of the `native_transit` fuzz target: a native transit
 * table's exit flows (native/exit-flows.c), registered, changed and removed
 * through the API ExitOffload uses (dataplane/exit-offload.ts), on real
 * connected native sockets towards one loopback sink, next to a model of
 * what the table holds. The model is the oracle: it says, from the
 * TypeScript decoder (wire/data.ts) and the flows registered, whether a
 * datagram the table opened is one the exit delivers natively, to which
 * flow slot, with which payload. It also churns the table the way a live
 * exit can, and some ways only a fault can: flows re-registered on other
 * paths, cleared one by one or all at once, meter slots that went, counter
 * arrays re-attached smaller or larger, origin sockets closed while their
 * flow is still registered, and registrations the table must refuse (path
 * lengths outside 2..8, a path array shorter than its length, slots out of
 * range, a closed socket, a flow key another slot has).
 *
 * The sink checks what arrives: every datagram must be the payload of a
 * delivery the table reported, in order, from the port of the socket of
 * that delivery's flow. Loopback may drop under load (a full receive
 * buffer), so a delivery that never arrives is counted, not a violation;
 * one that arrives without a delivery, or out of order, is.
 */
import { createSocket, type Socket } from 'node:dgram'
import { EXIT_SERVICE_FIELDS, ExitServiceStat, type NativeTransitTable } from '../../src/io/native-transit.js'
import { NativeConnectedUdpSocket } from '../../src/io/native-udp-connected.js'
import { RECEIVE_FIELDS, ReceiveField } from '../../src/dataplane/path-meter.js'
import { decodeDataHeader, DataHeader, FLAG_CLIENT_ADDR, FLAG_REDUNDANT, FLAG_REPLY, FLAG_STAMPED, KIND_DATA, MAX_PATH_RELAYS, OFF_PATH } from '../../src/wire/data.js'
import { nameId } from '../../src/wire/ids.js'
import { clientAddr, relayId } from './messages.js'
import type { Rng } from './rng.js'
import { HOST } from './world.js'

/** The largest UDP payload over IPv4: a larger delivery must fail its send (and count it). */
const MAX_UDP4_PAYLOAD = 65_507
/** Origin sockets open at once; a closed one is replaced by a later input. */
const SOCKETS = 4
/** Deliveries kept per sink port while waiting for them (loopback may drop some under load). */
const MAX_WAITING = 8192
/** settle(): turns of the event loop without an arrival after which the rest counts as lost, and at most. */
const SETTLE_IDLE_TURNS = 8
const SETTLE_MAX_TURNS = 10_000
const SELF = nameId('lax')
/** The peers that seal to the table (its receive keys): a registered path's second to last relay is one of them. */
export const SENDERS = [nameId('fuz'), nameId('dal')]
const SERVICES = [nameId('game'), nameId('pp')]

interface OriginSocket {
  sock: NativeConnectedUdpSocket
  port: number
  closed: boolean
}

/** A flow as the model says the table holds it. */
interface ModelFlow {
  ingress: number
  flow: number
  service: number
  serviceSlot: number
  origin: OriginSocket
  path: number[]
  meterSlot: number
  meterGen: number
}

/** What the table must do with an opened datagram: deliver it (flow slot, payload offset), or a reason it must not. */
export type Expectation = { slot: number; flow: ModelFlow; payloadOffset: number } | string

export class ExitFlows {
  readonly counts = { delivered: 0, delivered_send_failed: 0, sink_received: 0, sink_unreceived: 0, flows_registered: 0, flows_refused: 0, sockets_closed_registered: 0 }
  private seen: Float64Array = new Float64Array(8)
  private services: Float64Array = new Float64Array(EXIT_SERVICE_FIELDS * 3)
  private meter: Float64Array = new Float64Array(RECEIVE_FIELDS * 4)
  private readonly snap: Record<'seen' | 'services' | 'meter', Float64Array> = { seen: new Float64Array(0), services: new Float64Array(0), meter: new Float64Array(0) }
  /** Indexed by flow slot; slots past `seen` may hold flows registered before a smaller re-attach. */
  private readonly flows: (ModelFlow | undefined)[] = []
  private readonly origins: OriginSocket[] = []
  /** Payloads delivered and not yet seen at the sink, per source port (a closed socket's port may be reused). */
  private readonly waiting = new Map<number, Buffer[]>()
  private readonly sink: Socket
  private sinkPort = 0
  /** A violation the sink saw (asynchronously), reported by the next input. */
  private sinkBroken: string | undefined
  private readonly hdr = new DataHeader()

  private constructor(private readonly table: NativeTransitTable) {
    this.sink = createSocket('udp4')
    this.sink.on('message', (m, from) => this.arrived(m, from.port))
  }

  static async create(table: NativeTransitTable): Promise<ExitFlows> {
    const x = new ExitFlows(table)
    await new Promise<void>((resolve) => x.sink.bind(0, HOST, resolve))
    // Up to rmem_max: fewer deliveries lost while the runner keeps the event loop busy.
    x.sink.setRecvBufferSize(4 << 20)
    x.sinkPort = x.sink.address().port
    for (let i = 0; i < SOCKETS; i++) x.origins.push(x.open())
    x.attach(x.seen, x.services, x.meter)
    return x
  }

  stop(): void {
    this.table.clearExitFlows()
    for (const o of this.origins) o.sock.close()
    this.sink.close()
  }

  /** One change to the table, drawn from `rng`; returns a broken property, or nothing. */
  churn(rng: Rng): string | void {
    const r = rng.below(100)
    if (r < 50) return this.register(rng)
    if (r < 70) {
      const slot = rng.below(this.flows.length + 1)
      this.table.clearExitFlow(slot)
      this.flows[slot] = undefined
    } else if (r < 73) {
      this.table.clearExitFlows()
      this.flows.length = 0
    } else if (r < 83) {
      // A path meter slot forgotten (PathMeter bumps its generation): flows registered on it go back to JS.
      if (this.meterSlots() > 0) this.meter[rng.below(this.meterSlots()) * RECEIVE_FIELDS + ReceiveField.Gen]++
    } else if (r < 88) {
      const o = rng.pick(this.origins)
      if (!o.closed && this.flows.some((f) => f?.origin === o)) this.counts.sockets_closed_registered++
      o.sock.close()
      o.closed = true
    } else if (r < 95) {
      const i = this.origins.findIndex((o) => o.closed)
      if (i >= 0) this.origins[i] = this.open()
    } else {
      // JS grew (or, as a fault, shrank) an array: the table must read the new ones, flows past the end stay undelivered.
      // Sometimes past the table's first 256 flow slots (it grows and rehashes), sometimes not a whole number of entries.
      const grow = (a: Float64Array, fields: number, slots: number): Float64Array => {
        const b = new Float64Array(fields * slots + (rng.chance(0.1) ? rng.below(fields) : 0))
        b.set(a.subarray(0, Math.min(a.length, b.length)))
        return b
      }
      this.attach(grow(this.seen, 1, rng.chance(0.2) ? rng.int(256, 1100) : rng.int(2, 12)), grow(this.services, EXIT_SERVICE_FIELDS, rng.int(1, 4)), grow(this.meter, RECEIVE_FIELDS, rng.int(1, 6)))
    }
  }

  /** A flow to draw a datagram for: a registered one mostly, so that deliveries happen. */
  pick(rng: Rng): ModelFlow | undefined {
    const slot = rng.below(this.flows.length + 1)
    return this.flows[slot] ?? this.flows.find((f) => f !== undefined)
  }

  /** The exit's counters as they are before a datagram is offered. */
  snapshot(): void {
    if (this.snap.seen.length !== this.seen.length) this.snap.seen = new Float64Array(this.seen.length)
    if (this.snap.services.length !== this.services.length) this.snap.services = new Float64Array(this.services.length)
    if (this.snap.meter.length !== this.meter.length) this.snap.meter = new Float64Array(this.meter.length)
    this.snap.seen.set(this.seen)
    this.snap.services.set(this.services)
    this.snap.meter.set(this.meter)
  }

  /**
   * Lets the sink read what was delivered: loopback queues a datagram at its
   * send, and Node reads a few dozen per turn of the event loop. Done when
   * nothing is awaited, or a few turns brought nothing (the rest was dropped).
   */
  async settle(): Promise<void> {
    let idle = 0
    for (let turns = 0; this.awaited() > 0 && idle < SETTLE_IDLE_TURNS && turns < SETTLE_MAX_TURNS; turns++) {
      const before = this.counts.sink_received
      await new Promise((r) => setImmediate(r))
      idle = this.counts.sink_received === before ? idle + 1 : 0
    }
  }

  /** Deliveries not seen at the sink yet. */
  awaited(): number {
    let n = 0
    for (const q of this.waiting.values()) n += q.length
    return n
  }

  /** The sink's violation since the last input, if any. */
  takeSinkViolation(): string | undefined {
    const v = this.sinkBroken
    this.sinkBroken = undefined
    return v
  }

  /**
   * What the exit does with `plain`, opened from a datagram of peer node `from`
   * (relay.ts onPathPacket, exit.ts deliverForward with the flows registered).
   */
  expect(plain: Buffer, from: number): Expectation {
    const h = this.hdr
    const off = decodeDataHeader(plain, plain.length, h)
    if (off < 0) return 'header'
    if (h.pathIndex !== h.pathLen - 1) return 'not_last_hop'
    if (h.path[h.pathIndex - 1] !== from) return 'not_from_sender'
    if ((h.flags & (FLAG_REPLY | FLAG_REDUNDANT)) !== 0) return 'reply_or_redundant'
    const slot = this.flows.findIndex((f) => f !== undefined && f.ingress === h.path[0] && f.flow === h.flow)
    const f = this.flows[slot]
    if (f === undefined) return 'no_flow'
    if (f.service !== h.service) return 'other_service'
    if (f.path.length !== h.pathLen || f.path.some((n, i) => n !== h.path[i])) return 'other_path'
    if (slot >= this.seen.length || f.serviceSlot >= this.serviceSlots() || f.meterSlot >= this.meterSlots()) return 'slot_out_of_range'
    if (this.meter[f.meterSlot * RECEIVE_FIELDS + ReceiveField.Gen] !== f.meterGen) return 'meter_slot_gone'
    return { slot, flow: f, payloadOffset: off }
  }

  /** After a delivery the table reported: the counters it advanced, exactly, and the payload awaited at the sink. */
  checkDelivered(e: Expectation, plain: Buffer, nowMs: number): string | void {
    if (typeof e === 'string') return `delivered a datagram the exit would not (${e})`
    this.counts.delivered++
    const { slot, flow } = e
    const payload = plain.subarray(e.payloadOffset)
    const fails = flow.origin.closed || payload.length > MAX_UDP4_PAYLOAD
    const sv = flow.serviceSlot * EXIT_SERVICE_FIELDS
    const m = flow.meterSlot * RECEIVE_FIELDS
    const s = this.snap
    if (this.seen[slot] !== nowMs) return `flow slot ${slot} seen at ${this.seen[slot]}, not ${nowMs}`
    s.seen[slot] = nowMs
    if (this.meter[m + ReceiveField.Received] !== s.meter[m + ReceiveField.Received] + 1 || this.meter[m + ReceiveField.LastMs] !== nowMs) return 'meter arrival not counted'
    const stamped = (plain[1] & FLAG_STAMPED) !== 0
    if (this.meter[m + ReceiveField.Samples] !== s.meter[m + ReceiveField.Samples] + (stamped ? 1 : 0)) return 'meter delay sample miscounted'
    // The delay aggregates are PathMeter.onArrival's (held to it by the differential test); here only where they are.
    for (const f of [ReceiveField.Received, ReceiveField.LastMs, ReceiveField.Samples, ReceiveField.Ref, ReceiveField.MinRel, ReceiveField.SumRel]) s.meter[m + f] = this.meter[m + f]
    if (fails) {
      this.counts.delivered_send_failed++
      s.services[sv + ExitServiceStat.SendFailed]++
    } else {
      s.services[sv + ExitServiceStat.TxPackets]++
      s.services[sv + ExitServiceStat.TxBytes] += payload.length
      this.await(flow.origin.port, payload)
    }
    return this.untouched(fails ? 'a failed send' : 'a delivery')
  }

  /** Nothing delivered: the exit's counters must be as they were (or as a delivery left them, after checkDelivered). */
  untouched(what = 'a datagram it did not deliver'): string | void {
    const s = this.snap
    if (!same(s.seen, this.seen) || !same(s.services, this.services) || !same(s.meter, this.meter)) return `the exit's counters changed beyond ${what}`
  }

  private register(rng: Rng): string | void {
    const slot = rng.chance(0.9) ? rng.below(this.seen.length) : this.seen.length + rng.below(2)
    const len = rng.chance(0.9) ? rng.int(2, MAX_PATH_RELAYS) : rng.pick([0, 1, 9, 10, 255])
    const path: number[] = []
    for (let i = 0; i < Math.min(len, MAX_PATH_RELAYS + 2); i++) path.push(relayId(rng))
    const ingress = rng.chance(0.9) ? rng.pick(SENDERS) : relayId(rng)
    if (path.length > 0) path[0] = rng.chance(0.95) ? ingress : relayId(rng)
    if (path.length >= 2) path[path.length - 1] = SELF
    if (path.length >= 3 && rng.chance(0.8)) path[path.length - 2] = rng.pick(SENDERS)
    const given = rng.chance(0.05) ? path.slice(0, Math.max(0, path.length - 1)) : path
    // Sometimes a view into a larger array (as DataHeader.path is, with room for the longest path), at an offset.
    const array = rng.chance(0.8) ? Uint32Array.from(given) : new Uint32Array(given.length + 3).fill(relayId(rng)).subarray(1, 1 + given.length)
    array.set(given)
    const origin = rng.pick(this.origins)
    const meterSlot = inRange(rng, this.meterSlots())
    const gen = this.meter[meterSlot * RECEIVE_FIELDS + ReceiveField.Gen] ?? 0
    const f: ModelFlow = {
      ingress,
      flow: rng.chance(0.9) ? rng.below(4) : rng.u32(),
      service: rng.chance(0.9) ? rng.pick(SERVICES) : rng.u32(),
      serviceSlot: inRange(rng, this.serviceSlots()),
      origin,
      path,
      meterSlot,
      meterGen: rng.chance(0.9) ? gen : gen + 1,
    }
    const handle = origin.sock.nativeHandle()
    const ok = this.table.setExitFlow(slot, {
      ingressNode: f.ingress,
      flowId: f.flow,
      serviceId: f.service,
      serviceSlot: f.serviceSlot,
      socket: handle as object,
      path: array,
      pathLen: len,
      meterSlot,
      meterGen: f.meterGen,
    })
    const taken = this.flows.some((o, i) => i !== slot && o !== undefined && o.ingress === f.ingress && o.flow === f.flow)
    const valid = slot < this.seen.length && len >= 2 && len <= MAX_PATH_RELAYS && array.length >= len && handle !== undefined && !taken
    if (ok !== valid) return `setExitFlow returned ${ok} for a ${valid ? 'valid' : 'invalid'} flow (slot ${slot}, path length ${len} in ${array.length}, socket ${handle === undefined ? 'closed' : 'open'}, key ${taken ? 'taken' : 'free'})`
    if (ok) {
      this.counts.flows_registered++
      this.flows[slot] = f
      return
    }
    // As ExitOffload does when the table refuses: the slot is cleared, JS delivers the flow.
    this.counts.flows_refused++
    this.table.clearExitFlow(slot)
    this.flows[slot] = undefined
  }

  /** Whole entries in the counter arrays, as the table counts them. */
  private serviceSlots(): number {
    return Math.floor(this.services.length / EXIT_SERVICE_FIELDS)
  }

  private meterSlots(): number {
    return Math.floor(this.meter.length / RECEIVE_FIELDS)
  }

  private open(): OriginSocket {
    const sock = new NativeConnectedUdpSocket(HOST, 0, HOST, this.sinkPort)
    // The bound port, now (bound() would give it a microtask later): the sink tells the flows' sockets apart by it.
    const port = (sock as unknown as { local?: { port: number } }).local?.port ?? 0
    return { sock, port, closed: sock.nativeHandle() === undefined }
  }

  private attach(seen: Float64Array, services: Float64Array, meter: Float64Array): void {
    this.seen = seen
    this.services = services
    this.meter = meter
    this.table.attachExit(seen, services, meter)
  }

  private await(port: number, payload: Buffer): void {
    let q = this.waiting.get(port)
    if (q === undefined) this.waiting.set(port, (q = []))
    q.push(Buffer.from(payload))
    if (q.length > MAX_WAITING) {
      q.shift()
      this.counts.sink_unreceived++
    }
  }

  private arrived(m: Buffer, port: number): void {
    const q = this.waiting.get(port)
    const i = q === undefined ? -1 : q.findIndex((p) => p.equals(m))
    if (q === undefined || i < 0) {
      this.sinkBroken ??= `the origin got ${m.length} bytes from port ${port} that no delivery on that flow's socket sent (or out of order)`
      return
    }
    this.counts.sink_received++
    this.counts.sink_unreceived += i
    q.splice(0, i + 1)
  }
}

/** A slot below `slots` mostly, else the first one past them. */
function inRange(rng: Rng, slots: number): number {
  return rng.chance(0.95) ? rng.below(slots) : slots
}

function same(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false
  return true
}

// ---- plaintexts that end at this relay ----------------------------------------------------------

/**
 * A data plaintext addressed to the exit: mostly one of a registered flow's
 * datagrams, with every field the delivery reads drawn off its valid values
 * part of the time (path length and index over 0..255, flags, the stamp bytes,
 * the client-address extension, kind, service, flow, truncation).
 */
export function exitPlain(rng: Rng, flow: ModelFlow | undefined): Buffer {
  const base = flow !== undefined && rng.chance(0.8)
  let path: number[]
  if (base) path = flow.path.slice()
  else {
    path = []
    const len = rng.int(2, MAX_PATH_RELAYS)
    for (let i = 0; i < len; i++) path.push(relayId(rng))
    path[len - 1] = SELF
    if (rng.chance(0.7)) path[len - 2] = rng.pick(SENDERS)
  }
  const plen = rng.chance(0.8) ? path.length : rng.chance(0.5) ? rng.pick([0, 1, 2, 8, 9, 255]) : rng.below(256)
  const pidx = rng.chance(0.8) ? (plen + 255) & 0xff : rng.chance(0.5) ? rng.pick([0, 1, plen & 0xff, (plen + 254) & 0xff, 255]) : rng.below(256)
  let flags = rng.chance(0.7) ? rng.pick([0, FLAG_STAMPED]) : rng.chance(0.6) ? rng.pick([FLAG_REPLY, FLAG_REDUNDANT, FLAG_CLIENT_ADDR]) | (rng.chance(0.5) ? FLAG_STAMPED : 0) : rng.below(256)
  const ext = (flags & FLAG_CLIENT_ADDR) === 0 ? undefined : rng.chance(0.8) ? clientAddr(rng) : rng.chance(0.5) ? Buffer.concat([Buffer.of(rng.below(256)), rng.bytes(rng.int(0, 40))]) : Buffer.alloc(0)
  if (ext === undefined && rng.chance(0.01)) flags |= FLAG_CLIENT_ADDR
  const payload = rng.chance(0.001) ? Buffer.alloc(MAX_UDP4_PAYLOAD + 1, 0x5a) : rng.bytes(rng.chance(0.97) ? rng.int(0, 200) : rng.int(200, 1500))
  const written = Math.min(plen, MAX_PATH_RELAYS + 4)
  const out = Buffer.alloc(OFF_PATH + 4 * written + (ext?.length ?? 0) + payload.length)
  out[0] = rng.chance(0.98) ? KIND_DATA : rng.below(8)
  out[1] = flags
  out[2] = rng.below(256)
  out[3] = plen
  out[4] = pidx
  if ((flags & FLAG_STAMPED) !== 0 || rng.chance(0.1)) out.writeUIntBE(rng.below(0x1000000), 5, 3)
  out.writeUInt32BE(base && rng.chance(0.9) ? flow.service : rng.chance(0.5) ? rng.pick(SERVICES) : rng.u32(), 8)
  out.writeUInt32BE(base && rng.chance(0.9) ? flow.flow : rng.below(4), 12)
  out.writeUInt32BE(rng.u32(), 16)
  for (let i = 0; i < written; i++) out.writeUInt32BE(i < path.length ? path[i] >>> 0 : relayId(rng), OFF_PATH + 4 * i)
  let off = OFF_PATH + 4 * written
  if (ext !== undefined) off += ext.copy(out, off)
  payload.copy(out, off)
  // Cut short, mostly inside the header: every truncation check, and the reads next to each.
  return rng.chance(0.1) ? out.subarray(0, rng.below(Math.min(out.length, OFF_PATH + 4 * written + 40) + 1)) : out
}
