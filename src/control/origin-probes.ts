/**
 * Origin health checks at an exit: the I/O around the sans-IO probers in
 * origin/. One prober per service this relay is an exit for, chosen by the
 * service's `origin_probe.method`:
 *
 * - twamp: TWAMP-Light test packets to a reflector on the origin host; gives
 *   one-way pseudo delays in both directions.
 * - icmp: echo requests on a raw socket (needs root or CAP_NET_RAW), ICMP
 *   for an IPv4 origin and ICMPv6 for an IPv6 one; gives a round trip only,
 *   so the router assumes a symmetric CNI link (rtt/2).
 * - none: no packets; reports the configured round trip as if measured, so
 *   the exit is always considered up.
 *
 * With the service's origin-side traffic counters (`originTraffic`), a
 * prober also probes early when datagrams keep going to the origin and
 * none come back (origin/reply-watch.ts): the exit's own evidence, used
 * only to start the probes that decide.
 *
 * One timer for all probers, armed for the earliest deadline: a probe due,
 * a reply overdue or lost, or the reply watch's next read of the counters
 * (every 10 ms while data flows, every 100 ms while the service is idle at
 * this exit, reply-watch.ts). It used to wake every 10 ms regardless: 100
 * wake-ups a second on an idle exit (issue 18, docs/performance.md).
 */
import { isIPv6 } from 'node:net'
import type { RelayConfig, ServiceConfig } from '../config/types.js'
import type { Clock, Logger, TimerHandle, Timers } from '../io/index.js'
import { openRawIcmpSocket, type RawIcmpSocket } from '../io/raw-icmp.js'
import { createLiteralSocket } from '../io/udp.js'
import { TwampSender } from '../origin/index.js'
import { ProbePacing } from '../origin/probe-pacing.js'
import { REPLY_QUIET_MS, ReplyWatch } from '../origin/reply-watch.js'
import { buildEcho6Request, buildEchoRequest, parseEcho, parseEcho6Reply, ICMP_ECHO_REPLY } from '../origin/icmp.js'
import type { OriginSample, Router } from '../route/types.js'

const ICMP_LOSS_TIMEOUT_MS = 1000

/** Datagrams to and from a service's origin at this relay (dataplane ServiceState.origin). */
export interface OriginTraffic {
  packetsOut: number
  packetsIn: number
}

/** One spelling per IPv6 address (the addon and the config may write it differently, e.g. zeros or case). */
function canonicalV6(host: string): string {
  try {
    return new URL(`http://[${host}]/`).hostname
  } catch {
    return host
  }
}

interface Prober {
  service: string
  /** Probe at the next tick (the data plane saw the origin go quiet); false when not brought forward. */
  expedite(nowMs: number): boolean
  missDeadlineMs(): number
  /** The data-plane check; none where nothing would come of it (method none probes nothing, so nothing to bring forward). */
  readonly watch?: ReplyWatch
  tick(nowMs: number): void
  /** When tick next has work (a probe or a reply deadline due). */
  nextDueMs(): number
  close(): void
}

export class OriginProbes {
  /** One prober per service this relay is an exit of, by name, with the config it probes. */
  private readonly probers = new Map<string, { cfg: ServiceConfig; prober: Prober }>()
  private services: ServiceConfig[]
  private started = false
  private timer: TimerHandle | undefined
  /** Probes sent early because the data plane saw an origin go quiet. */
  earlyProbes = 0

  constructor(
    private readonly config: RelayConfig,
    private readonly router: Pick<Router, 'onOriginSample'>,
    private readonly clock: Clock,
    private readonly timers: Timers,
    private readonly log: Logger,
    /** The service's origin-side counters on this relay's data plane, if it has them. */
    private readonly originTraffic?: (service: string) => OriginTraffic | undefined,
  ) {
    this.services = config.services
  }

  start(): void {
    this.started = true
    this.sync()
  }

  /**
   * The services changed live (node/live-apply.ts): a new service this
   * relay exits gets a prober, a removed one's stops, and one whose origin
   * or probe settings changed starts again with them.
   */
  setServices(services: ServiceConfig[]): void {
    this.services = services
    if (this.started) this.sync()
  }

  private sync(): void {
    const self = this.config.relay.id
    const wanted = new Map(this.services.filter((s) => s.exits.includes(self)).map((s) => [s.name, s]))
    for (const [name, p] of this.probers) {
      const next = wanted.get(name)
      if (next !== undefined && sameProbe(p.cfg, next)) continue
      p.prober.close()
      this.probers.delete(name)
    }
    for (const [name, s] of wanted) {
      if (this.probers.has(name)) continue
      const p = this.create(s)
      if (p) this.probers.set(name, { cfg: s, prober: p })
    }
    // No services exit here (a transit, an ingress): no wake-ups. Each one costs the relay
    // CPU and, when a datagram arrives during it, latency (issue 18's profile: 8% of a transit's CPU at 5k/s).
    // A changed set runs at once: a new prober's first probe is due now.
    this.disarm()
    if (this.probers.size > 0) this.loop()
  }

  /** Reads the counters, ticks every prober, and sleeps until the earliest deadline of any. */
  private readonly loop = (): void => {
    this.timer = undefined
    const now = this.clock.nowMs()
    for (const p of this.probers.values()) {
      this.watchReplies(now, p.prober)
      p.prober.tick(now)
    }
    this.arm(now)
  }

  private arm(nowMs: number): void {
    let due = Infinity
    for (const p of this.probers.values()) {
      due = Math.min(due, p.prober.nextDueMs(), p.prober.watch?.nextDueMs() ?? Infinity)
    }
    if (!Number.isFinite(due)) return
    this.timer = this.timers.setTimeout(this.loop, Math.max(1, due - nowMs))
  }

  private disarm(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer)
    this.timer = undefined
  }

  /** A reply came: a prober's deadlines moved (a reply answers a pending probe, a new RTT can shorten the miss deadline). */
  private rearm(): void {
    if (this.timer === undefined) return
    this.disarm()
    this.arm(this.clock.nowMs())
  }

  stop(): void {
    this.started = false
    this.disarm()
    for (const p of this.probers.values()) p.prober.close()
    this.probers.clear()
  }

  private watchReplies(nowMs: number, p: Prober): void {
    if (p.watch === undefined) return
    const t = this.originTraffic?.(p.service)
    if (t === undefined) return
    if (p.watch.observe(nowMs, t.packetsOut, t.packetsIn, Math.max(REPLY_QUIET_MS, p.missDeadlineMs())) && p.expedite(nowMs)) this.earlyProbes++
  }

  /** Every sample says the prober's regular interval (OriginSample.intervalMs): the router's silence deadline is taken from it. */
  private sample(s: OriginSample): void {
    const cfg = this.probers.get(s.service)?.cfg ?? this.services.find((x) => x.name === s.service)
    this.router.onOriginSample(this.clock.nowMs(), cfg === undefined ? s : { ...s, intervalMs: cfg.originProbe.intervalMs })
  }

  private create(s: ServiceConfig): Prober | undefined {
    const m = s.originProbe
    if (m.method === 'twamp') return this.twamp(s)
    if (m.method === 'icmp') {
      const p = this.icmp(s)
      if (p) return p
      this.log.warn('ICMP origin probe unavailable; assuming the origin is up (origin_probe: none)', { service: s.name })
    }
    let next = 0
    return {
      service: s.name,
      expedite: () => false,
      missDeadlineMs: () => m.intervalMs,
      tick: (now) => {
        if (now < next) return
        next = now + m.intervalMs
        this.sample({ service: s.name, method: 'icmp', rttMs: m.assumedRttMs })
      },
      nextDueMs: () => next,
      close: () => {},
    }
  }

  private twamp(s: ServiceConfig): Prober {
    const sender = new TwampSender({ service: s.name, intervalMs: s.originProbe.intervalMs })
    const socket = createLiteralSocket(isIPv6(s.origin.host) ? 'udp6' : 'udp4')
    socket.on('error', (err) => this.log.warn('TWAMP socket error', { service: s.name, error: err.message }))
    socket.on('message', (msg, rinfo) => {
      if (rinfo.address !== s.origin.host || rinfo.port !== s.originProbe.port) return
      const sample = sender.onReply(this.clock.nowMs(), msg)
      if (sample === undefined) return
      this.sample(sample)
      this.rearm()
    })
    socket.bind(0)
    return {
      service: s.name,
      watch: new ReplyWatch(),
      expedite: (now) => sender.expedite(now),
      missDeadlineMs: () => sender.missDeadlineMs(),
      tick: (now) => {
        const t = sender.tick(now)
        for (const lost of t.losses) this.sample(lost)
        if (t.packet) socket.send(t.packet, s.originProbe.port, s.origin.host)
      },
      nextDueMs: () => sender.nextDueMs(),
      close: () => socket.close(),
    }
  }

  private icmp(s: ServiceConfig): Prober | undefined {
    const v6 = isIPv6(s.origin.host)
    let socket: RawIcmpSocket
    try {
      socket = openRawIcmpSocket(v6 ? 6 : 4)
    } catch (err) {
      this.log.warn('cannot open ICMP raw socket (needs root or CAP_NET_RAW)', { service: s.name, error: (err as Error).message })
      return undefined
    }
    const id = process.pid & 0xffff
    // Outstanding echoes by seq: when sent, and whether already reported missed (probe-pacing.ts).
    const pending = new Map<number, { sentMs: number; missed: boolean }>()
    const pacing = new ProbePacing(s.originProbe.intervalMs, ICMP_LOSS_TIMEOUT_MS, Math.random)
    const buf = Buffer.alloc(64)
    let seq = 0
    socket.on('error', (err: Error) => this.log.warn('ICMP socket error', { service: s.name, error: err.message }))
    const origin = v6 ? canonicalV6(s.origin.host) : s.origin.host
    socket.on('message', (msg: Buffer, source: string) => {
      if ((v6 ? canonicalV6(source) : source) !== origin) return
      const m = v6 ? parseEcho6Reply(msg) : parseEcho(msg)
      if (!m || (!v6 && m.type !== ICMP_ECHO_REPLY) || m.id !== id) return
      const p = pending.get(m.seq)
      if (p === undefined) return
      pending.delete(m.seq)
      const rttMs = this.clock.nowMs() - p.sentMs
      pacing.onReply(rttMs)
      this.sample({ service: s.name, method: 'icmp', rttMs })
      this.rearm()
    })
    return {
      service: s.name,
      watch: new ReplyWatch(),
      expedite: (now) => pacing.expedite(now),
      missDeadlineMs: () => pacing.missDeadlineMs(),
      tick: (now) => {
        const missAfter = pacing.missDeadlineMs()
        // Map order is send order.
        for (const [q, p] of pending) {
          if (now - p.sentMs >= ICMP_LOSS_TIMEOUT_MS) {
            pending.delete(q)
            this.sample({ service: s.name, method: 'icmp', lost: true })
          } else if (!p.missed && now - p.sentMs >= missAfter) {
            p.missed = true
            pacing.onMiss(now)
            this.sample({ service: s.name, method: 'icmp', missed: true })
          }
        }
        if (!pacing.due(now)) return
        seq = (seq + 1) & 0xffff
        const len = v6 ? buildEcho6Request(buf, id, seq) : buildEchoRequest(buf, id, seq)
        pending.set(seq, { sentMs: now, missed: false })
        socket.send(buf, 0, len, s.origin.host, () => {})
      },
      nextDueMs: () => {
        let due = pacing.nextDueMs()
        for (const p of pending.values()) due = Math.min(due, p.sentMs + (p.missed ? ICMP_LOSS_TIMEOUT_MS : pacing.missDeadlineMs()))
        return due
      },
      close: () => socket.close(),
    }
  }
}

/** Same origin and probe settings: the prober carries on. */
function sameProbe(a: ServiceConfig, b: ServiceConfig): boolean {
  return a.origin.host === b.origin.host && a.origin.port === b.origin.port && JSON.stringify(a.originProbe) === JSON.stringify(b.originProbe)
}
