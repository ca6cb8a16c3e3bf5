import dgram from 'node:dgram'
import { DelayStats, type DelayErrorSummary } from '../emulator/delay-stats.js'
import { spinWaker, type Waker, type WakerFactory } from '../emulator/scheduler.js'
import { openPreciseTimer, preciseTimerAvailable } from '../../src/io/precise-timer.js'
import { dropsPacket, newLossChain, releaseAtMs, type LinkParams, type LossChain } from '../../src/io/link-model.js'

/** One direction of a link: the shared link model's parameters (src/io/link-model.ts). */
export type LinkSpec = LinkParams

/** Lets a test see each datagram of a direction and return what to deliver instead. */
export type Tap = (data: Buffer) => Buffer[]

export interface LinkEnds {
  /** Port on the emulator host that A sends to in order to reach B (put it in A's config as B's endpoint). */
  portForA: number
  /** Port that B sends to in order to reach A. */
  portForB: number
}

interface Direction {
  spec: LinkSpec
  /** Socket the sender sends to; also the socket replies in the other direction leave from. */
  inbound: dgram.Socket
  outbound: dgram.Socket
  srcPort: number
  dst: { host: string; port: number }
  queue: { at: number; data: Buffer }[]
  /** Wakes the direction at its head's release time; armedFor is that time (Infinity when idle). */
  waker: Waker
  armedFor: number
  lastAt: number
  /** Gilbert-Elliott state, used when the spec has `gilbertElliott`. */
  chain: LossChain
  tap: Tap | undefined
  delivered: number
  dropped: number
  /** The link's (both directions') delay error: send time minus scheduled release time. */
  lateness: DelayStats
}

/** Release a datagram this early rather than wait another wake-up for it. */
const EARLY_MS = 0.02

/**
 * How the emulator wakes up at release times: a timerfd (io/precise-timer.ts)
 * when the addon is built, which sleeps until tens of microseconds after the
 * due time and burns no CPU; otherwise setTimeout to within 1.5 ms and
 * setImmediate turns (lab/emulator/scheduler.ts). The spinning fallback
 * keeps a CPU busy in the process that also runs the demo's flows and
 * origin, next to five relays on two cores: its p99 lateness was 5.6 ms per
 * link traversal (docs/lab.md). OVERPASS_LINKEMU_WAKER=spin forces it (to
 * compare).
 */
function defaultWaker(): { kind: 'timerfd' | 'spin'; make: WakerFactory } {
  const now = (): number => performance.now()
  if (process.env.OVERPASS_LINKEMU_WAKER === 'spin') return { kind: 'spin', make: spinWaker(now) }
  return preciseTimerAvailable().ok ? { kind: 'timerfd', make: openPreciseTimer } : { kind: 'spin', make: spinWaker(now) }
}

/** Delay-error samples kept per link (most recent; a 64 Hz demo flow sends ~500 per direction in 8 s). */
const LATENESS_SAMPLES_PER_LINK = 32_768

/**
 * A bidirectional UDP link between two endpoints A and B, emulated in user
 * space. A sends to `portForA`; the emulator holds the datagram for the
 * configured delay and sends it to B from `portForB`, so B sees a stable
 * source address for A (and vice versa). Releases wake on a timerfd when
 * the native addon is built (tens of microseconds late), else on Node timers
 * (~0.1 ms late when idle, much more on a busy machine): the emulator is for
 * demos and functional tests, the netns lab is for measurements.
 */
export class UdpLinkEmulator {
  private readonly sockets: dgram.Socket[] = []
  private readonly directions = new Map<string, Direction>()
  private readonly lateness = new Map<string, DelayStats>()
  /** Every link's delay error, pooled. */
  private readonly allLateness = new DelayStats(LATENESS_SAMPLES_PER_LINK * 4)
  private readonly waker = defaultWaker()
  /** How releases wake up: 'timerfd' (precise) or 'spin' (Node timers). */
  readonly wakerKind = this.waker.kind

  constructor(private readonly host = '127.0.0.1', private readonly random: () => number = Math.random) {}

  async addLink(name: string, a: { host: string; port: number }, b: { host: string; port: number }, ab: LinkSpec, ba: LinkSpec): Promise<LinkEnds> {
    const sa = await this.bind()
    const sb = await this.bind()
    const portForA = sa.address().port
    const portForB = sb.address().port
    const lateness = new DelayStats(LATENESS_SAMPLES_PER_LINK)
    this.lateness.set(name, lateness)
    const dirAB = this.direction(ab, sa, sb, a.port, b, lateness)
    const dirBA = this.direction(ba, sb, sa, b.port, a, lateness)
    this.directions.set(`${name}:ab`, dirAB)
    this.directions.set(`${name}:ba`, dirBA)
    sa.on('message', (msg, rinfo) => {
      if (rinfo.port === a.port) this.accept(dirAB, msg)
    })
    sb.on('message', (msg, rinfo) => {
      if (rinfo.port === b.port) this.accept(dirBA, msg)
    })
    return { portForA, portForB }
  }

  /** Changes one direction ('ab' or 'ba') of a named link, e.g. to degrade or cut it. */
  setLink(name: string, dir: 'ab' | 'ba', spec: Partial<LinkSpec>): void {
    const d = this.get(name, dir)
    d.spec = { ...d.spec, ...spec }
  }

  tap(name: string, dir: 'ab' | 'ba', tap: Tap | undefined): void {
    this.get(name, dir).tap = tap
  }

  counters(name: string, dir: 'ab' | 'ba'): { delivered: number; dropped: number } {
    const d = this.get(name, dir)
    return { delivered: d.delivered, dropped: d.dropped }
  }

  /**
   * How late the emulator itself released datagrams (send time minus the
   * release time the link model scheduled), per packet: of one link (both
   * directions), or of every link pooled. This is delay the emulator adds
   * on top of the configured delay; it does not see time a datagram spent
   * in the kernel before the emulator's loop read it (the loop delay does).
   */
  delayError(name?: string): DelayErrorSummary {
    const stats = name === undefined ? this.allLateness : this.lateness.get(name)
    if (stats === undefined) throw new Error(`no link ${name}`)
    return stats.summary()
  }

  /** Starts the delay-error statistics afresh, e.g. when the measurement starts. */
  resetDelayError(): void {
    for (const s of this.lateness.values()) s.reset()
    this.allLateness.reset()
  }

  close(): void {
    for (const d of this.directions.values()) {
      d.armedFor = -Infinity // nothing re-arms after close
      d.waker.close()
    }
    for (const s of this.sockets) s.close()
    this.sockets.length = 0
    this.directions.clear()
  }

  private get(name: string, dir: 'ab' | 'ba'): Direction {
    const d = this.directions.get(`${name}:${dir}`)
    if (!d) throw new Error(`no link ${name}`)
    return d
  }

  private async bind(): Promise<dgram.Socket> {
    const s = dgram.createSocket('udp4')
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject)
      s.bind(0, this.host, () => resolve())
    })
    // Bursts from many flows must not overflow the default ~208 KB buffer while
    // this process is busy; the kernel caps the request at net.core.rmem_max.
    s.setRecvBufferSize(4 << 20)
    s.setSendBufferSize(4 << 20)
    this.sockets.push(s)
    return s
  }

  private direction(spec: LinkSpec, inbound: dgram.Socket, outbound: dgram.Socket, srcPort: number, dst: { host: string; port: number }, lateness: DelayStats): Direction {
    const d: Direction = { spec, inbound, outbound, srcPort, dst, queue: [], waker: undefined as unknown as Waker, armedFor: Infinity, lastAt: 0, chain: newLossChain(), tap: undefined, delivered: 0, dropped: 0, lateness }
    d.waker = this.waker.make(() => this.release(d))
    return d
  }

  private accept(d: Direction, msg: Buffer): void {
    const spec = d.spec
    // Loss is decided per datagram sent, before the tap: a tap that
    // duplicates a packet duplicates a delivered one.
    if (dropsPacket(spec, this.random, d.chain)) {
      d.dropped++
      return
    }
    const packets = d.tap ? d.tap(msg) : [msg]
    const now = performance.now()
    for (const data of packets) {
      const at = releaseAtMs(spec, now, d.lastAt, this.random)
      d.lastAt = at
      d.queue.push({ at, data })
    }
    this.schedule(d)
  }

  /** Arms the direction's waker for its head, unless it is already armed for an earlier time. */
  private schedule(d: Direction): void {
    if (d.queue.length === 0) return
    const due = d.queue[0].at
    if (due >= d.armedFor) return
    d.armedFor = due
    d.waker.arm(due - performance.now() - EARLY_MS)
  }

  private release(d: Direction): void {
    if (d.armedFor === -Infinity) return
    d.armedFor = Infinity
    let now = performance.now()
    while (d.queue.length > 0 && d.queue[0].at <= now + EARLY_MS) {
      const p = d.queue.shift()!
      d.outbound.send(p.data, d.dst.port, d.dst.host)
      d.delivered++
      now = performance.now()
      const late = now - p.at
      d.lateness.add(late)
      this.allLateness.add(late)
    }
    this.schedule(d)
  }
}
