/**
 * The next-deadline tick must not delay anything a tick every 20 ms does.
 * Four real routers behind real bridges (bridge-net.ts) go through fast
 * probing of the edges that carry data, a transit cut on a fast edge (silence
 * deadline), an origin leg that stops answering (misses, failover to the
 * other exit), a flapping edge (flap damping, its release), data stopping
 * (fast edges slowing down) and starting again without replies (an exit
 * that only hears fast probes, then loses them), once with each scheduler.
 * Every plaintext sent and every endpoint check must happen at the same
 * instant with the same bytes: a deadline some part keeps but does not
 * report (Router.nextTickMs, RouterBridge.dueMs) shows up as a difference.
 */
import { describe, expect, it } from 'vitest'
import { DataActivity } from '../../src/control/data-activity.js'
import { RouterCore } from '../../src/route/router.js'
import { KIND_PROBE } from '../../src/wire/data.js'
import { startBridgeNet, type BridgeNet } from './bridge-net.js'

interface Run {
  log: string[]
  /** Per relay, the instants its router was ticked. */
  ticks: Record<string, number[]>
  history: string[]
  /** From each event to the reaction it must cause, ms. */
  marks: Record<string, number>
}

/** Advances until `pred` holds (checked every ms), at most maxMs; returns the ms it took. */
function until(net: BridgeNet, pred: () => boolean, maxMs: number): number {
  const start = net.clock.nowMs()
  while (!pred() && net.clock.nowMs() - start < maxMs) net.clock.advance(1)
  return net.clock.nowMs() - start
}

/** The edge a<->b cut for 600 ms and restored for 1.5 s, three times: damped, then released as its penalty decays. */
function flapThreeTimes(net: BridgeNet, a: string, b: string): void {
  for (let k = 0; k < 3; k++) {
    net.cut.add(`${a}>${b}`).add(`${b}>${a}`)
    net.clock.advance(600)
    net.cut.delete(`${a}>${b}`)
    net.cut.delete(`${b}>${a}`)
    net.clock.advance(1500)
  }
}

const forward = (net: BridgeNet): string => net.bridge('lax').router.forwardPath('game')?.path.join('>') ?? ''

function scenario(): Run {
  const net = startBridgeNet()
  const ticks: Record<string, number[]> = {}
  for (const n of ['lax', 'sea', 'dal', 'atl']) {
    const r = net.bridge(n).router
    const tick = r.tick.bind(r)
    ticks[n] = []
    r.tick = (now: number) => {
      ticks[n].push(now)
      return tick(now)
    }
  }
  const marks: Record<string, number> = {}
  try {
    net.data.on = true
    net.clock.advance(6000)
    marks.settled = forward(net) === 'lax>sea>dal' ? 1 : 0
    // A transit cut on an edge that carries data: sea stops hearing dal (and dal sea).
    net.cut.add('sea>dal').add('dal>sea')
    marks.transitCut = until(net, () => !net.bridge('lax').router.forwardPath('game')?.path.includes('sea') || forward(net) !== 'lax>sea>dal', 3000)
    net.clock.advance(3000)
    net.cut.delete('sea>dal')
    net.cut.delete('dal>sea')
    net.clock.advance(5000)
    // The exit's origin stops answering: misses take the leg down, flows move to atl.
    const exitBefore = forward(net).split('>').pop()
    net.originDown.add(exitBefore!)
    marks.originFailover = until(net, () => forward(net).split('>').pop() !== exitBefore, 3000)
    net.clock.advance(3000)
    net.originDown.clear()
    net.clock.advance(4000)
    // A flapping edge: damped, then released as its penalty decays.
    flapThreeTimes(net, 'lax', 'sea')
    net.clock.advance(25_000)
    // Data stops (fast edges announce and slow down): the ingress and the transit now tick sparsely.
    net.data.on = false
    net.clock.advance(3000)
    marks.quietFromMs = net.clock.nowMs()
    net.clock.advance(2000)
    marks.quietToMs = net.clock.nowMs()
    // A silent peer (normal silence deadline) on an edge without data.
    net.cut.add('lax>atl').add('atl>lax')
    marks.silentPeer = until(net, () => net.bridge('lax').router.edges().some((e) => e.from === 'lax' && e.to === 'atl' && !e.up), 3000)
    net.clock.advance(1500)
    net.cut.delete('lax>atl')
    net.cut.delete('atl>lax')
    net.clock.advance(2000)
    // The exit's origin prober goes quiet: the router's silence backstop takes the leg down.
    // Three times, at different phases of its probe rounds (a round's tick may find it by luck).
    for (let k = 0; k < 3; k++) {
      net.originSilent.add('dal')
      marks[`originSilence${k}`] = until(net, () => forward(net).split('>').pop() !== 'dal', 3000)
      net.clock.advance(2000)
      net.originSilent.clear()
      net.clock.advance(4000 + 37 * k)
    }
    // atl's control messages are lost, its probes are not: its column is held at the others, then
    // its probes stop too and it is dropped.
    for (const n of ['lax', 'sea', 'dal']) net.controlCut.add(`atl>${n}`)
    net.clock.advance(5000)
    for (const n of ['lax', 'sea', 'dal']) net.cut.add(`atl>${n}`)
    net.clock.advance(1000)
    net.controlCut.clear()
    net.cut.clear()
    net.clock.advance(4000)
    // A relay cut off from everyone: its column goes stale at the others.
    for (const n of ['lax', 'sea', 'dal']) net.cut.add(`atl>${n}`).add(`${n}>atl`)
    net.clock.advance(6000)
    for (const n of ['lax', 'sea', 'dal']) for (const k of [`atl>${n}`, `${n}>atl`]) net.cut.delete(k)
    net.clock.advance(4000)
    // An edge without data flapping: damped, then released as its penalty decays.
    flapThreeTimes(net, 'sea', 'atl')
    net.clock.advance(25_000)
    // A path demoted for a while (as a path report does; the bridge re-arms after it, as onPathReport does).
    const lax = net.bridge('lax')
    lax.router.demotePath?.(net.clock.nowMs(), ['lax', 'sea', 'dal'], net.clock.nowMs() + 1500)
    ;(lax as unknown as { rearm(): void }).rearm()
    net.clock.advance(4000)
    // A transit edge slows down: the ingress waits out its switch hold, then moves.
    net.setDelay('sea', 'dal', 60.5)
    marks.slowSwitch = until(net, () => forward(net) !== 'lax>sea>dal', 5000)
    net.clock.advance(3000)
    net.setDelay('sea', 'dal', 10.5)
    net.clock.advance(5000)
    // Data again, without replies: the exit hears fast probes and sends no data (it ticks sparsely),
    // then the transit's probes stop reaching it: the fast silence deadline at a relay that sleeps.
    net.data.replies = false
    net.data.on = true
    net.clock.advance(4000)
    net.cut.add('sea>dal')
    marks.fastSilenceAtExit = until(net, () => net.bridge('dal').router.edges().some((e) => e.from === 'sea' && e.to === 'dal' && !e.up), 3000)
    net.clock.advance(2000)
    net.cut.delete('sea>dal')
    net.data.replies = true
    net.clock.advance(3000)
  } finally {
    net.stop()
  }
  const history = ['lax', 'sea', 'dal', 'atl'].flatMap((n) => net.bridge(n).history.map((h) => `${h.atMs} ${n} ${h.direction} ${h.path.join('>')}`))
  return { log: net.log, ticks, history, marks }
}

/** The scenario with a tick every 20 ms, as before the next-deadline tick (a Router without nextTickMs). */
function fixedTickScenario(): Run {
  const nextTickMs = Object.getOwnPropertyDescriptor(RouterCore.prototype, 'nextTickMs')!
  delete (RouterCore.prototype as { nextTickMs?: unknown }).nextTickMs
  try {
    return scenario()
  } finally {
    Object.defineProperty(RouterCore.prototype, 'nextTickMs', nextTickMs)
  }
}

/** Gaps between consecutive probes from `from` to `to` in [fromMs, toMs). */
function probeGaps(log: string[], from: string, to: string, fromMs: number, toMs: number): number[] {
  const probe = KIND_PROBE.toString(16).padStart(2, '0')
  const times = log
    .map((l) => l.split(' '))
    .filter(([t, pair, hex]) => pair === `${from}>${to}` && hex?.startsWith(probe) && Number(t) >= fromMs && Number(t) < toMs)
    .map(([t]) => Number(t))
  return times.slice(1).map((t, i) => t - times[i])
}

describe('next-deadline tick: every deadline of a tick every 20 ms is kept', () => {
  const fixed = fixedTickScenario()
  const deadline = scenario()

  it('the scenario exercises what it must: settled routes, a transit cut, an origin failover, route changes', () => {
    expect(fixed.marks.settled).toBe(1)
    expect(fixed.marks.transitCut).toBeLessThan(3000)
    expect(fixed.marks.originFailover).toBeLessThan(3000)
    expect(fixed.marks.silentPeer).toBeLessThan(3000)
    expect(fixed.marks.slowSwitch).toBeLessThan(5000)
    for (let k = 0; k < 3; k++) expect(fixed.marks[`originSilence${k}`]).toBeLessThan(3000)
    expect(fixed.marks.fastSilenceAtExit).toBeLessThan(1000)
    expect(fixed.history.length).toBeGreaterThan(3)
    console.log('fixed-tick figures', fixed.marks)
  })

  it('sends the same bytes at the same instants and checks endpoints at the same instants as the fixed tick', () => {
    // Relays ticking at the same instant may take turns in another order: compared as sets of (instant, line).
    const a = [...deadline.log].sort()
    const b = [...fixed.log].sort()
    expect(a.length).toBe(b.length)
    const firstDiff = a.findIndex((l, i) => l !== b[i])
    expect(firstDiff === -1 ? undefined : { deadline: a[firstDiff], fixed: b[firstDiff] }).toBeUndefined()
  })

  it('changes routes at the same instants: the transit cut and the origin failover react as soon', () => {
    expect(deadline.history).toEqual(fixed.history)
    expect(deadline.marks).toEqual(fixed.marks)
  })

  it('probes an edge that carries data every 20 ms slot or so, and others at the normal interval', () => {
    const start = 5_000_000 + 2000
    const fast = probeGaps(deadline.log, 'lax', 'sea', start, start + 3000)
    expect(fast.length).toBeGreaterThan(100)
    expect(Math.max(...fast)).toBeLessThanOrEqual(40)
    const normal = probeGaps(deadline.log, 'lax', 'atl', start, start + 3000)
    expect(Math.min(...normal)).toBeGreaterThanOrEqual(80)
  })

  it('without data, relays tick far less often than every 20 ms', () => {
    const inQuiet = (r: Run, n: string) => r.ticks[n].filter((t) => t >= r.marks.quietFromMs && t < r.marks.quietToMs).length
    for (const n of ['lax', 'sea', 'dal', 'atl']) expect(inQuiet(fixed, n)).toBeGreaterThanOrEqual(99)
    console.log('ticks in 2 s without data', Object.fromEntries(['lax', 'sea', 'dal', 'atl'].map((n) => [n, inQuiet(deadline, n)])))
    // Probe rounds (~10/s), silence deadlines, data-activity samples (5/s), floods, endpoint checks.
    expect(inQuiet(deadline, 'lax')).toBeLessThan(60)
    expect(inQuiet(deadline, 'sea')).toBeLessThan(60)
    expect(inQuiet(deadline, 'dal')).toBeLessThan(60)
  })

  it('would notice a forgotten deadline: without the data-activity sample in it, the runs differ', () => {
    const d = Object.getOwnPropertyDescriptor(DataActivity.prototype, 'nextDueMs')!
    Object.defineProperty(DataActivity.prototype, 'nextDueMs', { get: () => Infinity, configurable: true })
    let broken: Run
    try {
      broken = scenario()
    } finally {
      Object.defineProperty(DataActivity.prototype, 'nextDueMs', d)
    }
    expect([...broken.log].sort()).not.toEqual([...fixed.log].sort())
  })
})
