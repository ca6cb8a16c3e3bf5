/**
 * A tiny deterministic network for driving several routers in-process.
 * One FakeClock is "true time"; relay r sees nowMs = true time + offset[r]
 * (offsets of hours are the point). Every directed relay pair has a true
 * one-way delay and loss and can be cut, decided by the shared link model
 * (src/io/link-model.ts, without FIFO, as before), plus optional uniform
 * noise: the damping tests want noise with a known bound ("sub-millisecond"),
 * which the model's exponential jitter has not. Control
 * messages go through the relay's strict codec (control/control-codec.ts). Exits get origin
 * samples (TWAMP with the origin's own clock offset, or ICMP RTT) every 100 ms,
 * or, with `twampProbers`, run the real TWAMP sender (origin/twamp-sender.ts)
 * against a reflector core across a modelled origin leg that can be cut.
 */
import { controlLimits, decodeControl, encodeControl } from '../../../src/control/control-codec.js'
import { FakeClock } from '../../../src/io/fake-clock.js'
import { dropsPacket, releaseAtMs } from '../../../src/io/link-model.js'
import { createRouter } from '../../../src/route/index.js'
import { TwampReflectorCore, TwampSender } from '../../../src/origin/index.js'
import type { Router, RouterInit, RouterMessage, RouterService } from '../../../src/route/index.js'
import { seededRandom } from '../../../src/route/seeded-random.js'

export interface OriginLink {
  method: 'twamp' | 'icmp'
  /** True exit -> origin delay per exit. */
  fwdMs: Record<string, number>
  /** True origin -> exit delay per exit. */
  revMs: Record<string, number>
  /** The origin host's clock offset (twamp timestamps use it). */
  offsetMs?: number
}

export interface NetOptions {
  relays: string[]
  services: RouterService[]
  /** True one-way delay of every directed pair, ms. */
  delayMs: (from: string, to: string) => number
  offsetsMs?: Record<string, number>
  seed?: number
  /** Uniform extra delay in [0, jitterMs) per message. */
  jitterMs?: number
  tickMs?: number
  origins?: Record<string, OriginLink>
  routerInit?: Partial<RouterInit>
  /** How often exits sample their origin links (default 100 ms, jittered +-10% when set). */
  originIntervalMs?: number
  /**
   * Exits probe their origins with the real TWAMP sender at this interval,
   * woken when it is next due, as control/origin-probes.ts does (instead of
   * samples made up every originIntervalMs).
   */
  twampProbers?: { intervalMs: number }
}

export class FakeNet {
  readonly clock = new FakeClock(0)
  readonly routers = new Map<string, Router>()
  readonly delivered = { probe: 0, control: 0 }
  private readonly delay = new Map<string, number>()
  private readonly loss = new Map<string, number>()
  private readonly noise = new Map<string, number>()
  private readonly cut = new Set<string>()
  private readonly rnd: () => number
  private readonly offsets: Record<string, number>
  private readonly origins: Record<string, OriginLink>
  /** Decides per origin sample whether it is taken, reported lost, or never answered ('silent'). */
  tamperOrigin: ((exit: string, service: string) => 'ok' | 'lost' | 'silent') | undefined
  /** twampProbers: per exit>service leg, cut (drops everything) or the chance to drop each probe or reply as it arrives. */
  readonly originLegs = new Map<string, { cut: boolean; lossP: number }>()
  /** Applied to every message before delivery; returning undefined drops it. */
  tamper: ((from: string, m: RouterMessage) => RouterMessage | undefined) | undefined

  constructor(readonly opts: NetOptions) {
    this.rnd = seededRandom(opts.seed ?? 1)
    this.offsets = opts.offsetsMs ?? {}
    this.origins = opts.origins ?? {}
    for (const a of opts.relays) for (const b of opts.relays) if (a !== b) this.delay.set(key(a, b), opts.delayMs(a, b))
    opts.relays.forEach((self, i) => {
      const r = createRouter({
        self,
        relays: opts.relays,
        services: opts.services,
        random: seededRandom((opts.seed ?? 1) * 1000 + i),
        ...opts.routerInit,
      })
      this.routers.set(self, r)
    })
    const tickMs = opts.tickMs ?? 10
    for (const name of opts.relays) this.every(tickMs, () => this.send(name, this.tick(name)))
    if (opts.twampProbers !== undefined) this.startTwampProbers(opts.twampProbers.intervalMs)
    else if (opts.originIntervalMs === undefined) this.every(100, () => this.sampleOrigins())
    else {
      const loop = (): void => {
        this.sampleOrigins()
        this.clock.setTimeout(loop, opts.originIntervalMs! * (0.9 + 0.2 * this.rnd()))
      }
      this.clock.setTimeout(loop, opts.originIntervalMs)
    }
  }

  router(name: string): Router {
    return this.routers.get(name)!
  }

  /** Relay `name`'s own clock now. */
  local(name: string): number {
    return this.clock.nowMs() + (this.offsets[name] ?? 0)
  }

  setDelay(from: string, to: string, ms: number): void {
    this.delay.set(key(from, to), ms)
  }

  /** Extra per-edge uniform noise in [0, ms). */
  setNoise(from: string, to: string, ms: number): void {
    this.noise.set(key(from, to), ms)
  }

  setLoss(from: string, to: string, p: number): void {
    this.loss.set(key(from, to), p)
  }

  cutEdge(from: string, to: string): void {
    this.cut.add(key(from, to))
  }

  restoreEdge(from: string, to: string): void {
    this.cut.delete(key(from, to))
  }

  run(ms: number): void {
    this.clock.advance(ms)
  }

  /** Runs in `stepMs` steps until `pred` holds or `maxMs` passed; returns the elapsed ms (or Infinity). */
  runUntil(pred: () => boolean, maxMs: number, stepMs = 1): number {
    const start = this.clock.nowMs()
    while (this.clock.nowMs() - start <= maxMs) {
      if (pred()) return this.clock.nowMs() - start
      this.clock.advance(stepMs)
    }
    return Infinity
  }

  /**
   * Ticks relay `name`'s router, and checks Router.nextTickMs on the way: a
   * tick before the time it gave must send nothing, change no path and
   * move no counter (no route computation, no suppression...): the daemon's
   * bridge skips such ticks (control/router-bridge.ts), so a deadline a
   * router keeps but does not report fails every test on this net.
   */
  private tick(name: string): RouterMessage[] {
    const r = this.router(name)
    const now = this.local(name)
    const due = r.nextTickMs?.() ?? -Infinity
    if (!(now < due)) return r.tick(now)
    const before = pathsOf(r)
    const out = r.tick(now)
    const after = pathsOf(r)
    if (out.length > 0 || after !== before) {
      throw new Error(`${name} did work at ${now}, before its nextTickMs ${due}: ${out.length} messages, paths and counters ${before} -> ${after}`)
    }
    return out
  }

  private every(ms: number, fn: () => void): void {
    const loop = (): void => {
      fn()
      this.clock.setTimeout(loop, ms)
    }
    this.clock.setTimeout(loop, ms)
  }

  private send(from: string, msgs: RouterMessage[]): void {
    for (let m of msgs) {
      if (this.tamper) {
        const t = this.tamper(from, m)
        if (t === undefined) continue
        m = t
      }
      const k = key(from, m.to)
      const link = { delayMs: this.delay.get(k) ?? 0, lossPct: 100 * (this.loss.get(k) ?? 0), down: this.cut.has(k) }
      if (dropsPacket(link, this.rnd)) continue
      const d = releaseAtMs(link, 0, -Infinity, this.rnd) + (this.opts.jitterMs ?? 0) * this.rnd() + (this.noise.get(k) ?? 0) * this.rnd()
      const to = m.to
      if (m.kind === 'probe') {
        // The router reuses its probe buffers next round: copy what is in flight.
        const bytes = m.bytes.slice()
        this.clock.setTimeout(() => {
          this.delivered.probe++
          this.send(to, this.router(to).onProbe(this.local(to), from, bytes))
        }, d)
      } else {
        const wire = encodeControl(m.msg)
        const limits = controlLimits(this.opts.relays.length, this.opts.services.length)
        this.clock.setTimeout(() => {
          this.delivered.control++
          this.send(to, this.router(to).onControl(this.local(to), from, decoded(decodeControl(wire, limits))))
        }, d)
      }
    }
  }

  /** An exit's origin leg of `service` (twampProbers): cut or lossy. */
  originLeg(exit: string, service: string): { cut: boolean; lossP: number } {
    const k = `${exit}>${service}`
    let leg = this.originLegs.get(k)
    if (leg === undefined) this.originLegs.set(k, (leg = { cut: false, lossP: 0 }))
    return leg
  }

  private startTwampProbers(intervalMs: number): void {
    const reflector = new TwampReflectorCore()
    const out = new Uint8Array(2048)
    for (const [service, link] of Object.entries(this.origins)) {
      for (const exit of Object.keys(link.fwdMs)) {
        const sender = new TwampSender({ service, intervalMs, random: this.rnd })
        const leg = this.originLeg(exit, service)
        const crosses = (): boolean => !leg.cut && !(leg.lossP > 0 && this.rnd() < leg.lossP)
        const originNow = (): number => this.clock.nowMs() + (link.offsetMs ?? 0)
        const loop = (): void => {
          const now = this.local(exit)
          const t = sender.tick(now)
          for (const l of t.losses) this.router(exit).onOriginSample(now, l)
          if (t.packet !== undefined) {
            const req = t.packet.slice()
            // The leg's state when each packet crosses it (at its arrival).
            this.clock.setTimeout(() => {
              if (!crosses()) return
              const n = reflector.reflect(req, req.length, originNow(), originNow(), 64, out)
              const reply = out.slice(0, n)
              this.clock.setTimeout(() => {
                if (!crosses()) return
                const sample = sender.onReply(this.local(exit), reply)
                if (sample !== undefined) this.router(exit).onOriginSample(this.local(exit), sample)
              }, link.revMs[exit])
            }, link.fwdMs[exit])
          }
          this.clock.setTimeout(loop, Math.min(50, Math.max(1, sender.nextDueMs() - this.local(exit))))
        }
        this.clock.setTimeout(loop, this.rnd() * intervalMs)
      }
    }
  }

  private sampleOrigins(): void {
    for (const [service, link] of Object.entries(this.origins)) {
      for (const exit of Object.keys(link.fwdMs)) {
        const r = this.router(exit)
        const fate = this.tamperOrigin?.(exit, service)
        if (fate === 'silent') continue
        if (fate === 'lost') {
          r.onOriginSample(this.local(exit), { service, method: link.method, lost: true })
          continue
        }
        const fwd = link.fwdMs[exit]
        const rev = link.revMs[exit]
        if (link.method === 'icmp') {
          r.onOriginSample(this.local(exit), { service, method: 'icmp', rttMs: fwd + rev })
        } else {
          const skew = (link.offsetMs ?? 0) - (this.offsets[exit] ?? 0)
          r.onOriginSample(this.local(exit), {
            service, method: 'twamp', forwardPseudoMs: fwd + skew, reversePseudoMs: rev - skew, rttMs: fwd + rev,
          })
        }
      }
    }
  }
}

/** A router's paths and counters (route computations, suppressions, ...), for comparing before and after a tick. */
function pathsOf(r: Router): string {
  const { forward, reply } = r.routes()
  return [...forward, ...reply].map((c) => `${c.service}:${c.path.join('>')}`).join(' ') + ' ' + JSON.stringify(r.counters?.())
}

function key(a: string, b: string): string {
  return `${a}>${b}`
}

/** A delay matrix from a table of undirected or directed entries, with a default for the rest. */
export function delays(table: Record<string, number>, defaultMs: number): (from: string, to: string) => number {
  return (a, b) => table[`${a}>${b}`] ?? table[`${a}-${b}`] ?? table[`${b}-${a}`] ?? defaultMs
}

/** A router's own message must decode as the real relay decodes it; a refusal is a bug under test. */
function decoded(d: ReturnType<typeof decodeControl>): unknown {
  if (!d.ok) throw new Error(`control message refused by the relay's codec: ${d.reason}`)
  return d.value
}
