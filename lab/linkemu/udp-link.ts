import dgram from 'node:dgram'
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
  timer: NodeJS.Timeout | undefined
  immediate: NodeJS.Immediate | undefined
  lastAt: number
  /** Gilbert-Elliott state, used when the spec has `gilbertElliott`. */
  chain: LossChain
  tap: Tap | undefined
  delivered: number
  dropped: number
}

/**
 * A bidirectional UDP link between two endpoints A and B, emulated in user
 * space. A sends to `portForA`; the emulator holds the datagram for the
 * configured delay and sends it to B from `portForB`, so B sees a stable
 * source address for A (and vice versa). Timers have ~1 ms resolution: the
 * emulator is for demos and functional tests, the netns lab is for
 * measurements.
 */
export class UdpLinkEmulator {
  private readonly sockets: dgram.Socket[] = []
  private readonly directions = new Map<string, Direction>()

  constructor(private readonly host = '127.0.0.1', private readonly random: () => number = Math.random) {}

  async addLink(name: string, a: { host: string; port: number }, b: { host: string; port: number }, ab: LinkSpec, ba: LinkSpec): Promise<LinkEnds> {
    const sa = await this.bind()
    const sb = await this.bind()
    const portForA = sa.address().port
    const portForB = sb.address().port
    const dirAB = this.direction(ab, sa, sb, a.port, b)
    const dirBA = this.direction(ba, sb, sa, b.port, a)
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

  close(): void {
    for (const d of this.directions.values()) {
      if (d.timer) clearTimeout(d.timer)
      if (d.immediate) clearImmediate(d.immediate)
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

  private direction(spec: LinkSpec, inbound: dgram.Socket, outbound: dgram.Socket, srcPort: number, dst: { host: string; port: number }): Direction {
    return { spec, inbound, outbound, srcPort, dst, queue: [], timer: undefined, immediate: undefined, lastAt: 0, chain: newLossChain(), tap: undefined, delivered: 0, dropped: 0 }
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

  private schedule(d: Direction): void {
    if (d.timer || d.immediate || d.queue.length === 0) return
    // setTimeout fires a millisecond or more late, so wake up early and
    // finish the wait on setImmediate turns: delay error stays ~0.1 ms.
    const wait = d.queue[0].at - performance.now()
    const fire = (): void => {
      d.timer = undefined
      d.immediate = undefined
      const now = performance.now()
      if (d.queue[0].at > now + 0.05) {
        this.schedule(d)
        return
      }
      while (d.queue.length > 0 && d.queue[0].at <= now + 0.05) {
        const p = d.queue.shift()!
        d.outbound.send(p.data, d.dst.port, d.dst.host)
        d.delivered++
      }
      this.schedule(d)
    }
    if (wait > 2) d.timer = setTimeout(fire, wait - 1.5)
    else d.immediate = setImmediate(fire)
  }
}
