/**
 * One event loop over some of the relays (all of them in a one-thread run).
 * It runs the real Router of each relay it owns, delivers the messages they
 * emit over simulated directed links (true delay, optional jitter and loss,
 * FIFO per link) and calls each router's tick at its own cadence. Messages
 * to relays of another partition go into an outbox instead; the
 * coordinator (simulator.ts) hands them over between windows.
 *
 * Deterministic whatever the split: every event is ordered by (time,
 * sender's own sequence, sender), jitter and loss are drawn from the
 * sender's own streams, and a router only sees its own inputs in that
 * order, so each relay lives through the same run in one loop or in two.
 *
 * Lean by design (~36M probes per minute for 246 relays): events live in a
 * typed-array heap, their fields in per-slot typed arrays, probe bytes are
 * copied into a per-slot line of one slab. The links are packed too (a
 * delay and a last release time per directed pair in typed arrays), but
 * each packet's fate is decided by the shared link model
 * (io/link-model.ts), like every other emulated link;
 * test/sim/link-model.test.ts checks the packed form against it.
 */
import { DROP, decideRelease, type LinkParams } from '../io/link-model.js'
import type { Router, RouterInit, RouterMessage } from '../route/types.js'
import { PROBE_LEN } from '../probe/probe-codec.js'
import { ORDER_SPAN } from './event-heap.js'
import { EventWheel } from './event-wheel.js'
import { SimConfigError } from './errors.js'
import { deepFreeze } from './freeze.js'
import { streamRng, type Rng } from './prng.js'

export interface PartitionInit {
  names: string[]
  /** Current true delay per directed link (NaN = no link, Infinity = cut); copied. */
  delayMs: Float64Array
  /** Each relay's clock offset: it sees nowMs = simTime x rate[r] + offsetMs[r]. */
  offsetMs: Float64Array
  /** Each relay's clock rate, 1 + its drift (default 1): its timers run on its own clock too. */
  rate?: Float64Array
  /** Partition of each relay; this loop runs the relays with owner[r] === part. */
  owner: Uint8Array
  part: number
  seed: number
  hopCostMs: number
  tickMs: number
  jitterMs: number
  lossPct: number
  freezeMessages: boolean
  createRouter: (init: RouterInit) => Router
}

/**
 * Messages to other partitions sent during one window, as records of doubles:
 * [atMs, order, meta = kind * 2^24 + dst * 2^12 + src, ...], then for a
 * real-length probe its 48 bytes (6 doubles); for a control message the
 * index of its object in `msgs`; for another probe its length and bytes.
 */
export interface Outbox {
  f64: Float64Array
  /** Doubles used. */
  length: number
  /** Control message objects, each once however many relays it went to. */
  msgs: unknown[]
}

export interface PartitionCounters {
  probes: number
  control: number
  dropped_no_link: number
  lost: number
  bad_destination: number
}

const K_TICK = 1
const K_PROBE = 2
const K_CONTROL = 3
/** A probe of another length than the real one (stand-in routers in tests): bytes in `buf[slot]`. */
const K_PROBE_OTHER = 6

const META_KIND = 0x100_0000
const META_DST = 0x1000
/** Relay indices fit 12 bits in `meta`. */
export const MAX_RELAYS = 0x1000

/** Probes of this length (the real encoding) are copied through the slab. */
const SLAB_PROBE_BYTES = PROBE_LEN
const SLAB_PROBE_DOUBLES = SLAB_PROBE_BYTES >> 3
/** Bytes per slot in the slab: one cache line. */
const SLAB_STRIDE = 64
/** Int32 offsets in a slot's line, after the probe's 48 bytes. */
const SLOT_KIND = 12
const SLOT_DST = 13
const SLOT_SRC = 14

export class Partition {
  readonly n: number
  readonly names: string[]
  /** Routers of the relays this partition owns (undefined for the others). */
  readonly routers: (Router | undefined)[]
  readonly counters: PartitionCounters = { probes: 0, control: 0, dropped_no_link: 0, lost: 0, bad_destination: 0 }

  private readonly delayMs: Float64Array
  private readonly offsetMs: Float64Array
  private readonly rate: Float64Array
  private readonly owner: Uint8Array
  private readonly part: number
  private readonly index = new Map<string, number>()
  private readonly heap = new EventWheel()
  /** Slots allocated (the slab holds this many lines). */
  private slots = 1024
  private payload: unknown[] = []
  private buf: (Uint8Array | undefined)[] = []
  /**
   * Each event's line, SLAB_STRIDE bytes per slot, in one array: its kind,
   * receiver and sender (Int32 SLOT_KIND, SLOT_DST, SLOT_SRC) and a probe's
   * bytes. A send writes one line and a delivery reads it, instead of a
   * cold Uint8Array object and its data and three per-field arrays. A delivery copies them into `probeIn`
   * (one hot buffer) and hands that to the router, which decodes it before
   * returning (Router.onProbe does not keep `bytes`).
   */
  private slab = new Int32Array((1024 * SLAB_STRIDE) >> 2)
  private slabBytes = new Uint8Array(this.slab.buffer)
  private readonly probeIn = new Uint8Array(SLAB_PROBE_BYTES)
  private readonly probeIn32 = new Int32Array(this.probeIn.buffer)
  private free: number[] = []
  private nextSlot = 0
  /** Per sender: its next sequence number, its jitter and loss streams. */
  private readonly seq: Float64Array
  private readonly jitterDraw: (() => number)[]
  private readonly lossDraw: (() => number)[]
  /** The link-model parameters of the link being sent on: one object, its delay set per message. */
  private readonly link: LinkParams
  /** Order = seq * srcSpan + sender; seq wraps at seqSpan (see orderOf). */
  private readonly srcSpan: number
  private readonly seqSpan: number
  private readonly lastAtMs: Float64Array
  private readonly tickMs: number
  private readonly freeze: boolean
  private out: Outbox = { f64: new Float64Array(1 << 16), length: 0, msgs: [] }
  private outBytes = new Uint8Array(this.out.f64.buffer)
  private outMsgIndex = new Map<unknown, number>()
  /** The last delivered inbox's buffer, reused for the next outbox (no allocation per window). */
  private spare: Float64Array | undefined
  private readonly seed: number

  constructor(init: PartitionInit) {
    this.n = init.names.length
    if (this.n > MAX_RELAYS) throw new SimConfigError('matrix', `at most ${MAX_RELAYS} relays, got ${this.n}`)
    this.names = init.names
    this.names.forEach((s, i) => this.index.set(s, i))
    this.delayMs = Float64Array.from(init.delayMs)
    this.offsetMs = init.offsetMs
    this.rate = init.rate ?? new Float64Array(init.names.length).fill(1)
    this.owner = init.owner
    this.part = init.part
    this.seed = init.seed
    this.tickMs = init.tickMs
    this.link = { delayMs: 0, jitterMs: init.jitterMs, lossPct: init.lossPct, down: false }
    this.freeze = init.freezeMessages
    this.lastAtMs = new Float64Array(this.n * this.n)
    this.srcSpan = 2 ** Math.max(1, Math.ceil(Math.log2(this.n)))
    this.seqSpan = ORDER_SPAN / this.srcSpan
    this.seq = new Float64Array(this.n)
    const mine = (i: number): boolean => init.owner[i] === init.part
    this.jitterDraw = this.names.map((_, i) => (mine(i) ? draws(streamRng(init.seed, `jitter:${i}`)) : notMine))
    this.lossDraw = this.names.map((_, i) => (mine(i) ? draws(streamRng(init.seed, `loss:${i}`)) : notMine))
    this.routers = this.names.map((self, i) => {
      if (!mine(i)) return undefined
      const rng = streamRng(init.seed, `router:${i}`)
      return init.createRouter({ self, relays: [...this.names], services: [], hopCostMs: init.hopCostMs, random: () => rng.next() })
    })
  }

  /** Schedules every owned relay's first tick (each at its own phase). */
  start(): void {
    // The whole phase stream is drawn, so a relay's phase does not depend on the split.
    const phaseRng = streamRng(this.seed, 'tick-phase')
    for (let r = 0; r < this.n; r++) {
      const at = phaseRng.uniform(0, this.tickMs)
      if (this.owner[r] === this.part) this.schedule(at, this.orderOf(r), K_TICK, r, r)
    }
  }

  /**
   * A unique key among r's events: r's own count of sends. It wraps after
   * seqSpan sends (~33M for 246 relays), which could only reorder two
   * events of one sender at the same time sent that far apart; the order
   * stays the same in every split either way.
   */
  private orderOf(r: number): number {
    const s = this.seq[r]
    this.seq[r] = s + 1 === this.seqSpan ? 0 : s + 1
    return s * this.srcSpan + r
  }

  /** Relay r's own clock at sim time tMs (t x 1 + offset is exact: no drift, no change). */
  private localMs(r: number, tMs: number): number {
    return tMs * this.rate[r] + this.offsetMs[r]
  }

  setDelay(link: number, delayMs: number): void {
    this.delayMs[link] = delayMs
  }

  /** Processes every event due before `endMs` (sim time). */
  runUntil(endMs: number): void {
    const heap = this.heap
    while (heap.size > 0 && heap.peekTimeMs() < endMs) {
      const t = heap.peekTimeMs()
      const slot = heap.pop()
      const line = (slot * SLAB_STRIDE) >> 2
      const slab = this.slab
      const k = slab[line + SLOT_KIND]
      const to = slab[line + SLOT_DST]
      const router = this.routers[to]!
      if (k === K_TICK) {
        this.send(to, router.tick(this.localMs(to, t)), t)
        // tickMs of the relay's own clock (x 1 exactly without drift).
        this.heap.push(t + this.tickMs / this.rate[to], slot, this.orderOf(to))
        continue
      }
      if (k === K_PROBE || k === K_PROBE_OTHER) {
        this.counters.probes++
        let bytes: Uint8Array
        if (k === K_PROBE) {
          for (let j = 0; j < SLAB_PROBE_BYTES >> 2; j++) this.probeIn32[j] = slab[line + j]
          bytes = this.probeIn
        } else bytes = this.buf[slot]!
        const out = router.onProbe(this.localMs(to, t), this.names[slab[line + SLOT_SRC]], bytes)
        this.free.push(slot)
        if (out.length > 0) this.send(to, out, t)
      } else if (k === K_CONTROL) {
        this.counters.control++
        const msg = this.payload[slot]
        this.payload[slot] = undefined
        const out = router.onControl(this.localMs(to, t), this.names[slab[line + SLOT_SRC]], msg)
        this.free.push(slot)
        if (out.length > 0) this.send(to, out, t)
      }
    }
  }

  private send(from: number, out: RouterMessage[], tMs: number): void {
    const n = this.n
    for (let i = 0; i < out.length; i++) {
      const m = out[i]
      const to = this.index.get(m.to)
      if (to === undefined || to === from) {
        this.counters.bad_destination++
        continue
      }
      const link = from * n + to
      const d = this.delayMs[link]
      if (!(d === d) || d === Infinity) {
        this.counters.dropped_no_link++
        continue
      }
      this.link.delayMs = d
      // One link is a FIFO: a late packet holds back the ones behind it.
      const at = decideRelease(this.link, tMs, this.lastAtMs[link], this.lossDraw[from], this.jitterDraw[from])
      if (at === DROP) {
        this.counters.lost++
        continue
      }
      this.lastAtMs[link] = at
      const order = this.orderOf(from)
      if (this.owner[to] !== this.part) this.post(at, order, to, from, m)
      else if (m.kind === 'probe' && m.bytes.length === SLAB_PROBE_BYTES) {
        const slot = this.schedule(at, order, K_PROBE, to, from)
        this.slabBytes.set(m.bytes, slot * SLAB_STRIDE)
      } else if (m.kind === 'probe') {
        this.scheduleOtherProbe(at, order, to, from, m.bytes)
      } else {
        const slot = this.schedule(at, order, K_CONTROL, to, from)
        this.payload[slot] = this.freeze ? deepFreeze(m.msg) : m.msg
      }
    }
  }

  private scheduleOtherProbe(at: number, order: number, to: number, from: number, bytes: Uint8Array): void {
    const slot = this.schedule(at, order, K_PROBE_OTHER, to, from)
    let b = this.buf[slot]
    if (b === undefined || b.length !== bytes.length) b = this.buf[slot] = new Uint8Array(bytes.length)
    b.set(bytes)
  }

  /** Appends a message for another partition to the outbox. */
  private post(at: number, order: number, to: number, from: number, m: RouterMessage): void {
    const real = m.kind === 'probe' && m.bytes.length === SLAB_PROBE_BYTES
    const extra = real ? SLAB_PROBE_DOUBLES : m.kind === 'probe' ? 1 + Math.ceil(m.bytes.length / 8) : 1
    this.reserve(3 + extra)
    const ob = this.out
    let p = ob.length
    const kind = real ? K_PROBE : m.kind === 'probe' ? K_PROBE_OTHER : K_CONTROL
    ob.f64[p++] = at
    ob.f64[p++] = order
    ob.f64[p++] = kind * META_KIND + to * META_DST + from
    if (m.kind === 'probe') {
      if (!real) ob.f64[p++] = m.bytes.length
      this.outBytes.set(m.bytes, p * 8)
    } else {
      // A flood goes to every relay: its object crosses once per window.
      let idx = this.outMsgIndex.get(m.msg)
      if (idx === undefined) {
        idx = ob.msgs.push(m.msg) - 1
        this.outMsgIndex.set(m.msg, idx)
      }
      ob.f64[p] = idx
    }
    ob.length += 3 + extra
  }

  private reserve(doubles: number): void {
    const ob = this.out
    if (ob.length + doubles <= ob.f64.length) return
    const next = new Float64Array(Math.max(2 * ob.f64.length, ob.length + doubles))
    next.set(ob.f64.subarray(0, ob.length))
    ob.f64 = next
    this.outBytes = new Uint8Array(next.buffer)
  }

  /** Doubles in the outbox so far. */
  get outboxLength(): number {
    return this.out.length
  }

  /** What this window sent to other partitions; the next window starts a new outbox. */
  takeOutbox(): Outbox {
    const ob = this.out
    const spare = this.spare
    this.spare = undefined
    const f64 = spare !== undefined && spare.length >= ob.length ? spare : new Float64Array(Math.max(1 << 12, Math.ceil(1.25 * ob.length)))
    this.out = { f64, length: 0, msgs: [] }
    this.outBytes = new Uint8Array(this.out.f64.buffer)
    this.outMsgIndex = new Map()
    return ob
  }

  /** Schedules the messages of another partition's outbox (its `msgs` must already be this thread's copies). */
  deliver(ob: Outbox): void {
    const f = ob.f64
    const bytes = new Uint8Array(f.buffer, f.byteOffset, f.byteLength)
    const msgs = this.freeze ? ob.msgs.map((x) => deepFreeze(x)) : ob.msgs
    let p = 0
    while (p < ob.length) {
      const at = f[p]
      const order = f[p + 1]
      const meta = f[p + 2]
      const kind = Math.floor(meta / META_KIND)
      const to = Math.floor(meta / META_DST) % (META_KIND / META_DST)
      const from = meta % META_DST
      p += 3
      if (kind === K_PROBE) {
        const slot = this.schedule(at, order, K_PROBE, to, from)
        this.slabBytes.set(bytes.subarray(p * 8, p * 8 + SLAB_PROBE_BYTES), slot * SLAB_STRIDE)
        p += SLAB_PROBE_DOUBLES
      } else if (kind === K_PROBE_OTHER) {
        const len = f[p]
        this.scheduleOtherProbe(at, order, to, from, bytes.subarray((p + 1) * 8, (p + 1) * 8 + len))
        p += 1 + Math.ceil(len / 8)
      } else {
        const slot = this.schedule(at, order, K_CONTROL, to, from)
        this.payload[slot] = msgs[f[p]]
        p += 1
      }
    }
    this.spare = f
  }

  private schedule(atMs: number, order: number, kind: number, to: number, from: number): number {
    let slot = this.free.pop()
    if (slot === undefined) {
      slot = this.nextSlot++
      if (slot >= this.slots) this.growSlots()
    }
    const line = (slot * SLAB_STRIDE) >> 2
    this.slab[line + SLOT_KIND] = kind
    this.slab[line + SLOT_DST] = to
    this.slab[line + SLOT_SRC] = from
    this.heap.push(atMs, slot, order)
    return slot
  }

  private growSlots(): void {
    const cap = this.slots * 2
    this.slots = cap
    const slab = new Int32Array((cap * SLAB_STRIDE) >> 2)
    slab.set(this.slab)
    this.slab = slab
    this.slabBytes = new Uint8Array(slab.buffer)
  }

  /**
   * The chosen paths at sim time `tMs` of the listed pairs (s * n + t, all
   * pairs when undefined) whose source this partition owns, as records
   * [pair, length, relay indices...]; length -1 = no path.
   */
  paths(tMs: number, pairs: Int32Array | undefined): Int32Array {
    const n = this.n
    const out: number[] = []
    const count = pairs === undefined ? n * n : pairs.length
    for (let i = 0; i < count; i++) {
      const p = pairs === undefined ? i : pairs[i]
      const s = Math.floor(p / n)
      const t = p % n
      const r = this.routers[s]
      if (r === undefined || s === t) continue
      const c = r.pathTo(this.localMs(s, tMs), this.names[t])
      out.push(p)
      const at = out.length
      out.push(-1)
      if (c === undefined) continue
      let ok = true
      for (const name of c.path) {
        const j = this.index.get(name)
        if (j === undefined) ok = false
        else out.push(j)
      }
      if (ok) out[at] = c.path.length
      else out.length = at + 1
    }
    return Int32Array.from(out)
  }

  /** Sum over the owned routers of Router.counters(). */
  routerCounters(): Record<string, number> {
    const sum: Record<string, number> = {}
    for (const r of this.routers) {
      const c = r?.counters?.()
      if (c === undefined) continue
      for (const k of Object.keys(c)) sum[k] = (sum[k] ?? 0) + c[k]
    }
    return sum
  }
}

/** A stream's next() as the link model's random source. */
function draws(rng: Rng): () => number {
  return () => rng.next()
}

/** The random source of a relay another partition owns: this loop never sends for it. */
function notMine(): number {
  throw new Error('partition: a send for a relay this loop does not own')
}
