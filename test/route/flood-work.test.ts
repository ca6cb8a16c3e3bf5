import { describe, expect, it } from 'vitest'
import { JITTER_WARMUP } from '../../src/probe/delay-filter.js'
import { emptyProbeFields, encodeProbe, PROBE_LEN } from '../../src/probe/probe-codec.js'
import { createRouter, MAP_MSG_TYPE, MAP_MSG_VERSION } from '../../src/route/index.js'
import type { EdgeTuple, MapUpdate, RouterMessage, RouterService } from '../../src/route/index.js'
import { E_JITTER, E_UP } from '../../src/route/control-message.js'
import { nameId } from '../../src/wire/ids.js'

// How much work map changes cause: what goes into deltas, what triggers a route computation.

function probe(seq: number, txMs: number): Uint8Array {
  const b = new Uint8Array(PROBE_LEN)
  encodeProbe(b, { ...emptyProbeFields(), senderId: nameId('y'), bootId: 1, seq, txMs })
  return b
}

function deltasTo(out: RouterMessage[], to: string): MapUpdate[] {
  const d: MapUpdate[] = []
  for (const m of out) if (m.kind === 'control' && m.to === to && (m.msg as MapUpdate).full === false) d.push(m.msg as MapUpdate)
  return d
}

describe('deltas while an edge warms up', () => {
  it('sends the edge when it comes up and again with the measured jitter, not the fading prior in between', () => {
    const r = createRouter({ self: 'x', relays: ['x', 'y'], services: [], random: () => 0.5, floodIntervalMs: 300 })
    const sent: { atMs: number; jitterMs: number }[] = []
    let floods = 0
    // y's probes every 100 ms, constant 20 ms transit (y's clock 1 h behind); x ticks every 10 ms.
    for (let t = 0, seq = 0; t <= 4000; t += 10) {
      if (t % 100 === 20) r.onProbe(t, 'y', probe(seq++, t - 20 - 3_600_000))
      const d = deltasTo(r.tick(t), 'y')
      floods += d.length
      for (const u of d) for (const e of u.edges) sent.push({ atMs: t, jitterMs: e[E_JITTER] })
    }
    expect(floods).toBeGreaterThan(10)
    // Up after 3 probes (jitter still mostly the prior), then once more when the
    // prior is dropped after JITTER_WARMUP differences: jitter 0 on a steady edge.
    expect(sent.length).toBe(2)
    expect(sent[0].jitterMs).toBeGreaterThan(1)
    expect(sent[1].jitterMs).toBe(0)
    expect(sent[1].atMs).toBeGreaterThanOrEqual(JITTER_WARMUP * 100 + 20)
  })
})

describe('announcing a new edge', () => {
  it('leaves a heard edge out of the column until it comes up', () => {
    const r = createRouter({ self: 'x', relays: ['x', 'y'], services: [], random: () => 0.5, floodIntervalMs: 50 })
    const entries: { atMs: number; up: boolean }[] = []
    const fulls: boolean[] = []
    for (let t = 0, seq = 0; t <= 600; t += 10) {
      if (t % 100 === 20) r.onProbe(t, 'y', probe(seq++, t - 20))
      for (const m of r.tick(t)) {
        if (m.kind !== 'control' || m.to !== 'y') continue
        const u = m.msg as MapUpdate
        if (u.full === false) for (const e of u.edges) entries.push({ atMs: t, up: e[E_UP] })
        else fulls.push(...u.edges.map((e) => e[E_UP]))
      }
    }
    // Up with the third consecutive probe (t = 220): never announced as down before.
    expect(entries.length).toBeGreaterThan(0)
    expect(entries.every((e) => e.up)).toBe(true)
    expect(entries[0].atMs).toBeGreaterThanOrEqual(220)
    expect(fulls.every((up) => up)).toBe(true)
  })
})

describe('route computations', () => {
  const relays = ['x', 'y', 'z']
  function column(seq: number, jitterMs: number, rttMs = 10): MapUpdate {
    const e: EdgeTuple = ['x', 100, 100, 5, rttMs, jitterMs, 0, true]
    return { type: MAP_MSG_TYPE, v: MAP_MSG_VERSION, origin: 'y', boot: 7, seq, full: seq === 1 ? undefined : false, edges: [e], origins: [] }
  }
  function computations(services: RouterService[]): number[] {
    const r = createRouter({ self: 'x', relays, services, random: () => 0.5 })
    const counts: number[] = []
    r.onControl(0, 'y', column(1, 1))
    r.tick(1000)
    counts.push(r.counters!().route_computations)
    r.onControl(1100, 'y', column(2, 3)) // jitter only
    r.tick(1300)
    counts.push(r.counters!().route_computations)
    r.onControl(1400, 'y', column(3, 3, 12)) // RTT only
    r.tick(1600)
    counts.push(r.counters!().route_computations)
    r.onControl(1700, 'y', column(4, 3, 14)) // RTT only, potentials fresh
    r.tick(1900)
    counts.push(r.counters!().route_computations)
    return counts
  }

  it('skips recomputing for a jitter change when no profile in use weighs jitter; RTT changes only refresh stale potentials', () => {
    const [first, afterJitter, afterRtt, afterRtt2] = computations([])
    expect(first).toBeGreaterThan(0)
    expect(afterJitter).toBe(first)
    // Potentials were last estimated at 0 ms: an RTT change refreshes them
    // (one computation), then not again within POTENTIAL_REFRESH_MS.
    expect(afterRtt).toBe(first + 1)
    expect(afterRtt2).toBe(afterRtt)
  })

  it('recomputes for a jitter change when a service of this relay uses the gaming profile', () => {
    const [first, afterJitter, afterRtt] = computations([{ name: 'g', ingress: ['x'], exits: ['z'], profile: 'gaming' }])
    expect(afterJitter).toBe(first + 1)
    expect(afterRtt).toBe(afterJitter)
  })
})
