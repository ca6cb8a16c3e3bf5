import { describe, expect, it } from 'vitest'
import { encodeProbe, emptyProbeFields, PROBE_LEN } from '../../src/probe/probe-codec.js'
import { createRouter, MAP_MSG_TYPE, MAP_MSG_VERSION, RouterConfigError } from '../../src/route/index.js'
import { FOREIGN_NAMES_TOLERATED } from '../../src/route/control-message.js'
import type { EdgeTuple, MapUpdate, Router, RouterMessage } from '../../src/route/index.js'
import { nameId } from '../../src/wire/ids.js'

const relays = ['x', 'y', 'z']

function router(): Router {
  return createRouter({ self: 'x', relays, services: [{ name: 'svc', ingress: ['x'], exits: ['z'] }], random: () => 0.5 })
}

function update(seq: number, pseudoMs: number, over: Partial<MapUpdate> = {}): MapUpdate {
  const e: EdgeTuple = ['x', pseudoMs, pseudoMs, 5, 10, 0.5, 0, true]
  return { type: MAP_MSG_TYPE, v: MAP_MSG_VERSION, origin: 'y', boot: 7, seq, edges: [e], origins: [], ...over }
}

function edgeXY(r: Router): number | undefined {
  return r.edges().find((e) => e.from === 'x' && e.to === 'y')?.pseudoMs
}

describe('map updates', () => {
  it('ignores an update with a lower or equal seq', () => {
    const r = router()
    r.onControl(0, 'y', update(10, 100))
    r.onControl(1, 'y', update(5, 999))
    r.onControl(2, 'y', update(10, 555))
    expect(edgeXY(r)).toBe(100)
    expect(r.counters!().control_stale).toBe(2)
    r.onControl(3, 'y', update(11, 200))
    expect(edgeXY(r)).toBe(200)
  })

  it('accepts a new boot and then ignores late updates from the old one', () => {
    const r = router()
    r.onControl(0, 'y', update(50, 100))
    r.onControl(1, 'y', update(0, 300, { boot: 8 }))
    expect(edgeXY(r)).toBe(300)
    r.onControl(2, 'y', update(51, 999))
    expect(edgeXY(r)).toBe(300)
    expect(r.counters!().control_stale).toBe(1)
  })

  it('ignores our own column coming back', () => {
    const r = router()
    const mine = r.tick(0).find((m) => m.kind === 'control')!
    expect(r.onControl(1, 'y', mine.msg)).toEqual([])
    expect(r.counters!().control_own_update).toBe(1)
    expect(r.counters!().control_own_forged).toBeUndefined()
  })

  it('applies a delta only right after the update it holds, and asks for a whole column after a gap', () => {
    const r = router()
    r.onControl(0, 'y', update(10, 100))
    expect(r.onControl(1, 'y', update(11, 150, { full: false }))).toEqual([])
    expect(edgeXY(r)).toBe(150)
    const out = r.onControl(2, 'y', update(13, 999, { full: false }))
    expect(edgeXY(r)).toBe(150)
    expect(r.counters!().control_delta_gap).toBe(1)
    expect(out).toEqual([{ to: 'y', kind: 'control', msg: { type: 'overpass.resync', v: 1, origin: 'x' } }])
    // At most one request per second per origin.
    expect(r.onControl(3, 'y', update(14, 999, { full: false }))).toEqual([])
    // The whole column repairs the gap; the delta of the same seq is then stale.
    r.onControl(4, 'y', update(15, 300, { full: true }))
    r.onControl(5, 'y', update(15, 301, { full: false }))
    expect(edgeXY(r)).toBe(300)
    r.onControl(6, 'y', update(16, 350, { full: false }))
    expect(edgeXY(r)).toBe(350)
  })

  it('skips a whole column when in sync and applies the delta that follows it', () => {
    const r = router()
    r.onControl(0, 'y', update(10, 100))
    r.onControl(1, 'y', update(11, 999, { full: true }))
    expect(edgeXY(r)).toBe(100)
    expect(r.counters!().control_full_skipped).toBe(1)
    r.onControl(2, 'y', update(11, 120, { full: false }))
    expect(edgeXY(r)).toBe(120)
  })

  it('sends the whole column to a relay that asked for it, deltas to the others', () => {
    const r = router()
    const controls = (out: RouterMessage[]) => out.filter((m) => m.kind === 'control').map((m) => `${m.to}:${(m.msg as MapUpdate).full}`)
    expect(controls(r.tick(0))).toEqual(['y:true', 'y:false', 'z:true', 'z:false'])
    expect(controls(r.tick(1200))).toEqual(['y:false', 'z:false'])
    r.onControl(1300, 'y', { type: 'overpass.resync', v: 1, origin: 'y' })
    r.onControl(1300, 'y', { type: 'overpass.resync', v: 1, origin: 'z' })
    expect(r.counters!().control_malformed_resync).toBe(1)
    expect(controls(r.tick(2400))).toEqual(['y:true', 'y:false', 'z:false'])
  })

  const good = update(1, 100)
  const malformed: [string, unknown][] = [
    ['null', null],
    ['a string', 'hello'],
    ['an array', [good]],
    ['wrong type', { ...good, type: 'other' }],
    ['wrong version', { ...good, v: 2 }],
    ['unknown origin', { ...good, origin: 'nope' }],
    ['negative seq', { ...good, seq: -1 }],
    ['fractional seq', { ...good, seq: 1.5 }],
    ['boot out of range', { ...good, boot: 2 ** 32 }],
    ['edges not an array', { ...good, edges: {} }],
    ['too many edges', { ...good, edges: [good.edges[0], good.edges[0], good.edges[0]] }],
    ['duplicate edge', { ...good, edges: [good.edges[0], good.edges[0]] }],
    ['edge from itself', { ...good, edges: [['y', 1, 1, null, null, 0, 0, true]] }],
    ['short edge tuple', { ...good, edges: [['x', 1, 1]] }],
    ['NaN delay', { ...good, edges: [['x', NaN, 1, null, null, 0, 0, true]] }],
    ['string delay', { ...good, edges: [['x', '1', 1, null, null, 0, 0, true]] }],
    ['infinite theta', { ...good, edges: [['x', 1, 1, Infinity, null, 0, 0, true]] }],
    ['negative rtt', { ...good, edges: [['x', 1, 1, null, -1, 0, 0, true]] }],
    ['negative jitter', { ...good, edges: [['x', 1, 1, null, null, -1, 0, true]] }],
    ['loss over 100', { ...good, edges: [['x', 1, 1, null, null, 0, 101, true]] }],
    ['up not boolean', { ...good, edges: [['x', 1, 1, null, null, 0, 0, 1]] }],
    ['origin edge of a non-exit', { ...good, origins: [['svc', 'twamp', 1, 1, 0, 2, 0, 0, true]] }],
    ['origin edge with bad method', { ...good, origin: 'z', origins: [['svc', 'ping', 1, 1, 0, 2, 0, 0, true]] }],
  ]
  it.each(malformed)('ignores and counts a malformed update: %s', (_name, msg) => {
    const r = router()
    expect(r.onControl(0, 'y', msg)).toEqual([])
    expect(r.counters!().control_malformed).toBe(1)
    expect(r.edges()).toEqual([])
  })

  it('takes the known part of a column from another network version: a relay or service it does not know is skipped, not refused', () => {
    const r = router()
    r.onControl(0, 'z', { ...good, origin: 'z', edges: [...good.edges, ['q', 1, 1, null, null, 0, 0, true]], origins: [['nope', 'twamp', 1, 1, 0, 2, 0, 0, true]] })
    expect(r.counters!().control_malformed ?? 0).toBe(0)
    expect(r.edges().some((e) => e.to === 'z')).toBe(true)
    expect(r.edges().some((e) => e.from === 'q' || e.to === 'origin:nope')).toBe(false)
  })

  it('still refuses a column carrying more unknown names than FOREIGN_NAMES_TOLERATED', () => {
    const r = router()
    const edges = Array.from({ length: FOREIGN_NAMES_TOLERATED + 3 }, (_, i) => [`q${i}`, 1, 1, null, null, 0, 0, true])
    r.onControl(0, 'z', { ...good, origin: 'z', edges })
    expect(r.counters!().control_malformed_edges).toBe(1)
  })

  it('accepts a valid exit column with an origin edge', () => {
    const r = router()
    r.onControl(0, 'z', { ...good, origin: 'z', origins: [['svc', 'twamp', 1, 1, 0, 2, 0, 0, true]] })
    expect(r.counters!().control_malformed ?? 0).toBe(0)
    expect(r.edges().some((e) => e.to === 'origin:svc')).toBe(true)
  })
})

describe('probes', () => {
  function probeFrom(sender: string, seq: number, mutate?: (b: Uint8Array) => void): Uint8Array {
    const b = new Uint8Array(PROBE_LEN)
    encodeProbe(b, { ...emptyProbeFields(), senderId: nameId(sender), bootId: 1, seq, txMs: seq * 100 })
    mutate?.(b)
    return b
  }

  it('ignores and counts malformed, misattributed and unknown-peer probes', () => {
    const r = router()
    r.onProbe(5, 'y', probeFrom('y', 0, (b) => (b[0] = 2)))
    r.onProbe(5, 'y', probeFrom('y', 0).subarray(1))
    r.onProbe(5, 'y', 'not bytes' as unknown as Uint8Array)
    r.onProbe(5, 'y', probeFrom('z', 0))
    r.onProbe(5, 'q', probeFrom('y', 0))
    r.onProbe(5, 'x', probeFrom('x', 0))
    const c = r.counters!()
    expect(c.probeMalformed).toBe(3)
    expect(c.probeWrongSender).toBe(1)
    expect(c.probeUnknownPeer).toBe(2)
    expect(c.probesReceived).toBe(0)
  })

  it('counts duplicates without measuring them twice', () => {
    const r = router()
    r.onProbe(5, 'y', probeFrom('y', 0))
    r.onProbe(6, 'y', probeFrom('y', 0))
    expect(r.counters!().probeDuplicate).toBe(1)
    expect(r.counters!().probesReceived).toBe(1)
  })

  it('sends a fixed-size probe to every other relay on the first tick', () => {
    const out = router().tick(0)
    const probes = out.filter((m) => m.kind === 'probe')
    expect(probes.map((m) => m.to).sort()).toEqual(['y', 'z'])
    for (const p of probes) if (p.kind === 'probe') expect(p.bytes.byteLength).toBe(PROBE_LEN)
  })
})

describe('createRouter', () => {
  it.each([
    [{ self: 'nope' }, 'self'],
    [{ probeIntervalMs: 300 }, 'probeIntervalMs'],
    [{ lossDownAfter: 0 }, 'lossDownAfter'],
    [{ services: [{ name: 's', ingress: ['x'], exits: ['w'] }] }, 'services[0].exits'],
  ])('rejects an inconsistent init (%o)', (over, field) => {
    const base = { self: 'x', relays, services: [] }
    try {
      createRouter({ ...base, ...over })
      expect.unreachable()
    } catch (err) {
      expect((err as Error).name).toBe('RouterConfigError')
      expect((err as RouterConfigError).field).toBe(field)
    }
  })
})

describe('restart without a fresh boot id', () => {
  it('takes a lower seq again once the old column has gone stale', () => {
    const r = router()
    r.onControl(0, 'y', update(500, 100))
    r.onControl(1000, 'y', update(0, 200))
    expect(edgeXY(r)).toBe(100)
    r.onControl(5000, 'y', update(1, 300))
    expect(edgeXY(r)).toBe(300)
  })
})
