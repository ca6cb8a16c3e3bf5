/**
 * Counters that let an ingress check the map against its own traffic
 * (docs/routing.md, "Path reports"):
 *
 * - sending side (the ingress for forward packets, the exit for replies):
 *   packets sent per relay path, and a send stamp in every data packet
 *   (wire/data.ts, FLAG_STAMPED);
 * - receiving side (the path's last relay): packets received per path and,
 *   per report interval, the minimum and mean of (receive stamp - send
 *   stamp). That difference is the path's pseudo one-way delay: true delay
 *   plus the clock offset between the two ends, the very quantity the map's
 *   summed pseudo delays predict (docs/one-way-latency.md, telescoping), so
 *   the comparison needs no clock sync.
 *
 * Hot path: one map lookup and a few integer operations per packet; slots
 * are made only when a path is first seen. Reports are built and judged off
 * the data path (control/path-reports.ts).
 */
import { sendStamp, stampDiff, writeSendStamp, STAMP_MODULUS, type DataHeader } from '../wire/data.js'
import { NO_DIFF, pathKey, type ReportEntry } from '../wire/path-report.js'

/** A path's slot is forgotten after this long without a packet (either side). */
export const PATH_SLOT_IDLE_MS = 10_000
/** Receive slots an exit keeps (paths are authenticated hop by hop, but a hostile peer could invent many). */
export const MAX_RECEIVE_SLOTS = 256
/** Send slots an ingress keeps (a primary and a backup per service, plus recent ones). */
export const MAX_SEND_SLOTS = 256

/**
 * Map keys are the path key's low 30 bits: a small integer, which V8 hashes
 * several times faster than a u32 above 2^30 (a heap number). The slot
 * keeps the whole key and its path, so a clash is found and not counted.
 */
const SMI_MASK = 0x3fffffff

export class SentSlot {
  sent = 0
  lastMs: number
  constructor(readonly key: number, readonly nodes: Uint32Array, nowMs: number) {
    this.lastMs = nowMs
  }
}

/**
 * A receive slot's fields in PathMeter.receiveCounters (RECEIVE_FIELDS
 * doubles per slot), shared with the exit's native delivery
 * (native/exit-flows.c), which advances them as onArrival does. `Gen` is
 * bumped when a slot is forgotten, so a native entry made for its previous
 * path no longer counts into it.
 */
export const enum ReceiveField {
  Gen = 0,
  Received = 1,
  LastMs = 2,
  Samples = 3,
  /** Delay aggregates of the current interval, relative to `Ref` (stamp units). */
  Ref = 4,
  MinRel = 5,
  SumRel = 6,
}
export const RECEIVE_FIELDS = 7

class ReceiveSlot {
  private readonly at: number
  constructor(readonly key: number, readonly id: number, readonly nodes: Uint32Array, readonly index: number, private readonly c: Float64Array, nowMs: number) {
    this.at = index * RECEIVE_FIELDS
    c.fill(0, this.at + ReceiveField.Received, this.at + RECEIVE_FIELDS)
    this.lastMs = nowMs
  }
  get received(): number {
    return this.c[this.at + ReceiveField.Received]
  }
  set received(v: number) {
    this.c[this.at + ReceiveField.Received] = v
  }
  get lastMs(): number {
    return this.c[this.at + ReceiveField.LastMs]
  }
  set lastMs(v: number) {
    this.c[this.at + ReceiveField.LastMs] = v
  }
  get samples(): number {
    return this.c[this.at + ReceiveField.Samples]
  }
  set samples(v: number) {
    this.c[this.at + ReceiveField.Samples] = v
  }
  get ref(): number {
    return this.c[this.at + ReceiveField.Ref]
  }
  set ref(v: number) {
    this.c[this.at + ReceiveField.Ref] = v
  }
  get minRel(): number {
    return this.c[this.at + ReceiveField.MinRel]
  }
  set minRel(v: number) {
    this.c[this.at + ReceiveField.MinRel] = v
  }
  get sumRel(): number {
    return this.c[this.at + ReceiveField.SumRel]
  }
  set sumRel(v: number) {
    this.c[this.at + ReceiveField.SumRel] = v
  }
}

export class PathMeter {
  private readonly sentByNodes = new Map<Uint32Array, SentSlot>()
  private readonly sentByKey = new Map<number, SentSlot>()
  private readonly received = new Map<number, ReceiveSlot>()
  /** The receive slots' fields (ReceiveField), RECEIVE_FIELDS per slot index; the exit's native delivery advances them too. */
  readonly receiveCounters = new Float64Array(MAX_RECEIVE_SLOTS * RECEIVE_FIELDS)
  /** Receive slot indexes not in use (a stack). */
  private readonly freeReceive = Array.from({ length: MAX_RECEIVE_SLOTS }, (_, i) => MAX_RECEIVE_SLOTS - 1 - i)
  private nextSlotId = 1
  /** Forward packets not counted: receive slots full, or a path-key collision. */
  uncounted = 0

  // --- sending side (hot path) -------------------------------------------

  /**
   * Stamps the header encodeDataHeader wrote in buf and counts the packet on
   * `nodes`: usually a snapshot's array, found by identity; its contents are
   * compared too, because static reply paths reuse one scratch array.
   */
  onSend(buf: Buffer, nodes: Uint32Array, nowMs: number): void {
    writeSendStamp(buf, sendStamp(nowMs))
    let slot = this.sentByNodes.get(nodes)
    if (slot === undefined || !sameNodes(slot.nodes, nodes, nodes.length)) slot = this.sendSlot(nodes, nowMs)
    slot.sent = (slot.sent + 1) >>> 0
    slot.lastMs = nowMs
  }

  private sendSlot(nodes: Uint32Array, nowMs: number): SentSlot {
    const key = pathKey(nodes, nodes.length)
    let slot = this.sentByKey.get(key & SMI_MASK)
    if (slot !== undefined && !sameNodes(slot.nodes, nodes, nodes.length)) {
      // Two paths whose keys share 30 bits: the newer one takes the slot over.
      this.sentByKey.delete(key & SMI_MASK)
      slot = undefined
    }
    if (slot === undefined) {
      // Full: forget what has been idle for a second (a slot is made only when a path changes).
      if (this.sentByKey.size >= MAX_SEND_SLOTS) this.sweep(nowMs, 1000)
      slot = new SentSlot(key, Uint32Array.from(nodes), nowMs)
      this.sentByKey.set(key & SMI_MASK, slot)
    }
    this.sentByNodes.set(nodes, slot)
    return slot
  }

  /** Paths this relay sent on in the last PATH_SLOT_IDLE_MS. */
  sendSlots(): IterableIterator<SentSlot> {
    return this.sentByKey.values()
  }

  // --- receiving side (hot path) -----------------------------------------

  /** An L4 data packet reached this relay as the end of its path (header in hdr). */
  onArrival(hdr: DataHeader, stamped: boolean, nowMs: number): void {
    const key = pathKey(hdr.path, hdr.pathLen)
    let slot = this.received.get(key & SMI_MASK)
    if (slot === undefined) {
      if (this.received.size >= MAX_RECEIVE_SLOTS) {
        this.uncounted++
        return
      }
      slot = new ReceiveSlot(key, this.nextSlotId, hdr.path.slice(0, hdr.pathLen), this.freeReceive.pop()!, this.receiveCounters, nowMs)
      this.nextSlotId = (this.nextSlotId + 1) >>> 0 || 1
      this.received.set(key & SMI_MASK, slot)
    } else if (!sameNodes(slot.nodes, hdr.path, hdr.pathLen)) {
      this.uncounted++
      return
    }
    slot.received = (slot.received + 1) >>> 0
    slot.lastMs = nowMs
    if (!stamped) return
    const diff = (sendStamp(nowMs) - hdr.stamp) & (STAMP_MODULUS - 1)
    if (slot.samples === 0) {
      slot.ref = diff
      slot.minRel = 0
      slot.sumRel = 0
    } else {
      const rel = stampDiff(diff, slot.ref)
      if (rel < slot.minRel) slot.minRel = rel
      slot.sumRel += rel
    }
    slot.samples++
  }

  /** The receive slot index of a path (as onArrival found or made it), or -1 (none: full, or a key clash). */
  receiveSlotOf(path: Uint32Array, pathLen: number): number {
    const slot = this.received.get(pathKey(path, pathLen) & SMI_MASK)
    return slot !== undefined && sameNodes(slot.nodes, path, pathLen) ? slot.index : -1
  }

  /**
   * The report entries for paths that start at `ingressNode` (the relay the
   * report goes to: an ingress, or an exit for its replies), and a new
   * delay interval for each of them. At most `max` entries, most recently
   * used first.
   */
  takeEntries(ingressNode: number, max: number): ReportEntry[] {
    const out: ReceiveSlot[] = []
    for (const s of this.received.values()) if (s.nodes[0] === ingressNode) out.push(s)
    out.sort((a, b) => b.lastMs - a.lastMs)
    return out.slice(0, max).map((s) => {
      const e: ReportEntry = { pathKey: s.key, slotId: s.id, received: s.received, samples: s.samples, minDiff: NO_DIFF, meanDiff: NO_DIFF }
      if (s.samples > 0) {
        e.minDiff = (s.ref + s.minRel) & (STAMP_MODULUS - 1)
        e.meanDiff = (s.ref + Math.round(s.sumRel / s.samples)) & (STAMP_MODULUS - 1)
      }
      s.samples = 0
      return e
    })
  }

  /** Forgets slots idle for longer than idleMs (both sides). */
  sweep(nowMs: number, idleMs = PATH_SLOT_IDLE_MS): void {
    for (const [k, s] of this.sentByKey) if (nowMs - s.lastMs > idleMs) this.sentByKey.delete(k)
    for (const [n, s] of this.sentByNodes) if (this.sentByKey.get(s.key & SMI_MASK) !== s) this.sentByNodes.delete(n)
    for (const [k, s] of this.received) {
      if (nowMs - s.lastMs <= idleMs) continue
      this.received.delete(k)
      this.receiveCounters[s.index * RECEIVE_FIELDS + ReceiveField.Gen]++
      this.freeReceive.push(s.index)
    }
  }
}

function sameNodes(a: Uint32Array, b: Uint32Array, len: number): boolean {
  if (a.length !== len) return false
  for (let i = 0; i < len; i++) if (a[i] !== b[i]) return false
  return true
}
