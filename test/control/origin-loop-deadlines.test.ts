/**
 * The origin loop sleeps until its next deadline (a probe due, a reply
 * overdue or lost, the reply watch's next read of the data plane's
 * counters) instead of waking every 10 ms. The real TWAMP prober runs over
 * a fake socket to a reflector 1 ms away each way, beside a fake data plane
 * (a flow sending every 20 ms, answered by the origin while it is up), on a
 * fake clock. The same scenario (idle, data starting, the origin going
 * silent and coming back, data stopping) runs with the watch read every
 * 10 ms as before and with its own deadlines: every sample and every probe
 * must come at the same instant with the same values, and an idle exit must
 * arm far fewer timers.
 */
import { EventEmitter } from 'node:events'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { OriginProbes } from '../../src/control/origin-probes.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import type { TimerHandle, Timers } from '../../src/io/index.js'
import { silentLogger } from '../../src/io/log.js'
import { TwampReflectorCore } from '../../src/origin/twamp-reflector.js'
import { FLOWING_POLL_MS, IDLE_POLL_MS, ReplyWatch } from '../../src/origin/reply-watch.js'
import { seededRandom } from '../../src/route/seeded-random.js'
import type { OriginSample, Router } from '../../src/route/types.js'
import { buildConfigs } from '../dataplane/helpers.js'

/** The fake world the mocked UDP socket sends into (set per run). */
const world = vi.hoisted(() => ({ send: (_bytes: Uint8Array, _socket: EventEmitter): void => {} }))

vi.mock('../../src/io/udp.js', async (importOriginal) => {
  const { EventEmitter: Emitter } = await import('node:events')
  return {
    ...(await importOriginal<object>()),
    createLiteralSocket: () => {
      const socket = new Emitter() as EventEmitter & { send(b: Uint8Array): void; bind(): void; close(): void }
      socket.send = (b: Uint8Array) => world.send(Uint8Array.from(b), socket)
      socket.bind = () => {}
      socket.close = () => socket.removeAllListeners()
      return socket
    },
  }
})

const ORIGIN = '127.0.0.1'
const PROBE_PORT = 862
const INTERVAL_MS = 250
/** Exit to origin, one way. */
const LEG_MS = 1
/** The flow's packet interval (VoIP). */
const DATA_EVERY_MS = 20

interface Run {
  /** `instant kind values`, for samples and probes sent, in order. */
  events: string[]
  /** Instants the loop woke up (its timer fired). */
  wakes: number[]
  earlyProbes: number
  marks: Record<string, number>
}

interface World {
  clock: FakeClock
  answering: boolean
  dataOn: boolean
  counters: { packetsOut: number; packetsIn: number }
  events: string[]
  wakes: number[]
  probes: OriginProbes
}

function startWorld(seed: number): World {
  const clock = new FakeClock(10_000)
  const w: World = {
    clock,
    answering: true,
    dataOn: false,
    counters: { packetsOut: 0, packetsIn: 0 },
    events: [],
    wakes: [],
    probes: undefined as unknown as OriginProbes,
  }
  // Probe jitter in whole steps of 1/50: every interval is a whole ms (225..275), as every other delay
  // here, so no deadline falls within the loop's 1 ms least sleep of another.
  const random = seededRandom(seed)
  vi.spyOn(Math, 'random').mockImplementation(() => Math.floor(random() * 50) / 50)
  const reflector = new TwampReflectorCore()
  world.send = (bytes, socket) => {
    w.events.push(`${clock.nowMs()} probe ${bytes.length}`)
    if (!w.answering) return
    clock.setTimeout(() => {
      if (!w.answering) return
      const out = new Uint8Array(bytes.length)
      const n = reflector.reflect(bytes, bytes.length, clock.nowMs(), clock.nowMs(), 64, out)
      clock.setTimeout(() => socket.emit('message', Buffer.from(out.subarray(0, n)), { address: ORIGIN, port: PROBE_PORT }), LEG_MS)
    }, LEG_MS)
  }
  // The data plane: a datagram to the origin every 20 ms while data is on, answered 2 ms later while the origin is up.
  const dataTick = (): void => {
    if (w.dataOn) {
      w.counters.packetsOut++
      if (w.answering) clock.setTimeout(() => w.answering && w.counters.packetsIn++, 2 * LEG_MS)
    }
    clock.setTimeout(dataTick, DATA_EVERY_MS)
  }
  clock.setTimeout(dataTick, 3)
  // Only the loop's own wake-ups are counted: the fake network's timers go to the clock directly.
  const timers: Timers = {
    setTimeout: (fn: () => void, ms: number): TimerHandle =>
      clock.setTimeout(() => {
        w.wakes.push(clock.nowMs())
        fn()
      }, ms),
    clearTimeout: (h: TimerHandle) => clock.clearTimeout(h),
  }
  const configs = buildConfigs({
    relays: ['lax', 'dal'],
    services: [{ exits: ['dal'], origin: { host: ORIGIN, port: 9000 }, originProbe: { method: 'twamp', port: PROBE_PORT, intervalMs: INTERVAL_MS, assumedRttMs: 1 } }],
  })
  const router = {
    onOriginSample: (now: number, s: OriginSample) => {
      const v = s.missed ? 'missed' : s.lost ? 'lost' : `rtt=${s.rttMs} fwd=${s.forwardPseudoMs} rev=${s.reversePseudoMs}`
      w.events.push(`${now} sample ${v}`)
    },
  } as unknown as Router
  w.probes = new OriginProbes(configs.get('dal')!, router, clock, timers, silentLogger, () => w.counters)
  w.probes.start()
  return w
}

/** Samples the prober reported missed in a row from `fromMs`: when the third came (the leg is then down, ORIGIN_DOWN_AFTER_MISSED). */
function thirdMissMs(events: string[], fromMs: number): number {
  let run = 0
  for (const e of events) {
    const [t, kind, v] = e.split(' ')
    if (kind !== 'sample' || Number(t) < fromMs) continue
    run = v === 'missed' ? run + 1 : 0
    if (run === 3) return Number(t)
  }
  return NaN
}

function scenario(seed: number): Run {
  const w = startWorld(seed)
  const { clock } = w
  const marks: Record<string, number> = {}
  try {
    clock.advance(3000)
    marks.idleFromMs = clock.nowMs()
    clock.advance(2000)
    marks.idleToMs = clock.nowMs()
    // Data starts (at an odd phase), then the origin stops answering everything, then comes back.
    clock.advance(7)
    w.dataOn = true
    clock.advance(2000 + seed * 13)
    w.answering = false
    marks.silentAtMs = clock.nowMs()
    clock.advance(1500)
    w.answering = true
    clock.advance(2000)
    w.dataOn = false
    clock.advance(3000)
    marks.idleAgainFromMs = clock.nowMs()
    clock.advance(2000)
    marks.idleAgainToMs = clock.nowMs()
    // The origin goes silent while no data flows: only the scheduled probes see it (misses, then losses).
    w.answering = false
    marks.silentIdleAtMs = clock.nowMs()
    clock.advance(1500)
    w.answering = true
    clock.advance(1000)
  } finally {
    w.probes.stop()
  }
  marks.downAfterMs = thirdMissMs(w.events, marks.silentAtMs) - marks.silentAtMs
  marks.idleDownAfterMs = thirdMissMs(w.events, marks.silentIdleAtMs) - marks.silentIdleAtMs
  return { events: w.events, wakes: w.wakes, earlyProbes: w.probes.earlyProbes, marks }
}

/** The origin fails while no data flows, and a flow starts `startAfterMs` later: from the failure to the third miss. */
function failsWhileIdle(seed: number, startAfterMs: number): number {
  const w = startWorld(seed)
  try {
    w.clock.advance(3000 + seed * 17)
    const failedMs = w.clock.nowMs()
    w.answering = false
    w.clock.advance(startAfterMs)
    w.dataOn = true
    w.clock.advance(1500)
    return thirdMissMs(w.events, failedMs) - failedMs
  } finally {
    w.probes.stop()
  }
}

/** Runs `f` with the reply watch read every 10 ms whatever the traffic, as the loop's fixed 10 ms wake did. */
function withTenMsReads<T>(f: () => T): T {
  const d = Object.getOwnPropertyDescriptor(ReplyWatch.prototype, 'nextDueMs')!
  Object.defineProperty(ReplyWatch.prototype, 'nextDueMs', {
    value(this: { observedMs: number }) {
      return this.observedMs === -Infinity ? Infinity : this.observedMs + FLOWING_POLL_MS
    },
    configurable: true,
  })
  try {
    return f()
  } finally {
    Object.defineProperty(ReplyWatch.prototype, 'nextDueMs', d)
  }
}

const wakesIn = (r: Run, fromMs: number, toMs: number): number => r.wakes.filter((t) => t >= fromMs && t < toMs).length

describe('origin loop: sleeps until its next deadline, and keeps every one of the 10 ms loop', () => {
  beforeEach(() => {
    vi.restoreAllMocks()
  })
  afterEach(() => {
    vi.restoreAllMocks()
  })

  for (const seed of [1, 2, 3]) {
    it(`sends the same probes and reports the same samples at the same instants as reading every 10 ms (seed ${seed})`, () => {
      const fixed = withTenMsReads(() => scenario(seed))
      const deadline = scenario(seed)
      // The scenario does what it must: an early probe from the data plane, the leg down well within the budget.
      expect(fixed.earlyProbes).toBeGreaterThan(0)
      expect(fixed.marks.downAfterMs).toBeLessThan(250)
      expect(fixed.events.filter((e) => e.includes('missed')).length).toBeGreaterThanOrEqual(3)
      expect(fixed.events.filter((e) => Number(e.split(' ')[0]) > fixed.marks.silentIdleAtMs && e.includes('lost')).length).toBeGreaterThan(0)
      expect(fixed.marks.idleDownAfterMs).toBeLessThan(1.1 * INTERVAL_MS + 3 * 30 + 2 * LEG_MS)
      const firstDiff = deadline.events.findIndex((e, i) => e !== fixed.events[i])
      expect(firstDiff === -1 ? undefined : { deadline: deadline.events[firstDiff], fixed: fixed.events[firstDiff] }).toBeUndefined()
      expect(deadline.events.length).toBe(fixed.events.length)
      expect(deadline.earlyProbes).toBe(fixed.earlyProbes)
      expect(deadline.marks).toEqual(fixed.marks)
      console.log(`seed ${seed}: leg down ${deadline.marks.downAfterMs} ms after the origin went silent under a flow, ${deadline.marks.idleDownAfterMs} ms while idle; ${deadline.earlyProbes} early probes`)
    })
  }

  it('an idle exit wakes at most ~15 times a second (reads every 100 ms, probes every ~250 ms), not 100', () => {
    const fixed = withTenMsReads(() => scenario(1))
    const deadline = scenario(1)
    for (const [from, to] of [['idleFromMs', 'idleToMs'], ['idleAgainFromMs', 'idleAgainToMs']]) {
      const seconds = (deadline.marks[to] - deadline.marks[from]) / 1000
      const perSecond = wakesIn(deadline, deadline.marks[from], deadline.marks[to]) / seconds
      const before = wakesIn(fixed, fixed.marks[from], fixed.marks[to]) / seconds
      console.log(`origin loop wake-ups of an idle exit: ${perSecond}/s (10 ms reads: ${before}/s)`)
      expect(before).toBeGreaterThanOrEqual(100)
      // Counter reads, plus one probe per 0.9 x interval at most, plus one.
      expect(perSecond).toBeLessThanOrEqual(1000 / IDLE_POLL_MS + 1000 / (0.9 * INTERVAL_MS) + 1)
    }
  })

  it('a flow starting towards an origin that failed while idle: the leg goes down at most one idle read later than with 10 ms reads', () => {
    const figures: string[] = []
    for (const seed of [1, 2, 3, 4]) {
      for (const startAfterMs of [5, 30, 55, 80, 120]) {
        const fixed = withTenMsReads(() => failsWhileIdle(seed, startAfterMs))
        const deadline = failsWhileIdle(seed, startAfterMs)
        figures.push(`${deadline - fixed}`)
        expect(deadline).toBeLessThanOrEqual(fixed + IDLE_POLL_MS)
        // And never past the scheduled probes' own budget: 1.1 intervals plus three miss deadlines (30 ms each here).
        expect(deadline).toBeLessThanOrEqual(1.1 * INTERVAL_MS + 3 * 30 + 2 * LEG_MS)
      }
    }
    console.log(`leg down later than with 10 ms reads, ms: ${figures.join(', ')}`)
  })
})
