/**
 * Map updates from a peer that holds a valid overlay key but lies (issue 14,
 * points 1 and 2), at the router: the router must rebuild what it keeps,
 * bound what it stores, and apply a column only with its origin's signature.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Ed25519ColumnAuth, generateKeyPair, signPublicKeyOf } from '../../src/crypto/index.js'
import { canonicalColumn } from '../../src/route/column-signature.js'
import { createRouter, MAP_MSG_TYPE, MAP_MSG_VERSION } from '../../src/route/index.js'
import type { EdgeTuple, MapUpdate, Router, RouterMessage } from '../../src/route/index.js'
import { MAX_CHAIN_DELTAS } from '../../src/route/router.js'
import { relayCopy } from '../../src/route/control-message.js'
import { encodeControl } from '../../src/control/control-codec.js'

const relays = ['x', 'y', 'z']
const services = [{ name: 'svc', ingress: ['x'], exits: ['z'] }]

function update(seq: number, pseudoMs: number, over: Partial<MapUpdate> = {}): MapUpdate {
  const e: EdgeTuple = ['x', pseudoMs, pseudoMs, 5, 10, 0.5, 0, true]
  return { type: MAP_MSG_TYPE, v: MAP_MSG_VERSION, origin: 'y', boot: 7, seq, edges: [e], origins: [], ...over }
}

function edgeXY(r: Router): number | undefined {
  return r.edges().find((e) => e.from === 'x' && e.to === 'y')?.pseudoMs
}

/** The router's per-origin chain of stored updates (private; read to check its bound). */
function chainOf(r: Router, origin: number): unknown[] {
  return (r as unknown as { sinceFull: unknown[][] }).sinceFull[origin]
}

describe('untrusted map updates', () => {
  it('refuses unknown keys instead of keeping them', () => {
    const r = createRouter({ self: 'x', relays, services, random: () => 0.5 })
    r.onControl(0, 'y', { ...update(10, 100), extra: 'kept?' })
    expect(edgeXY(r)).toBeUndefined()
    expect(r.counters!().control_malformed_unknown_key).toBe(1)
  })

  it('keeps a message it built, and relays only copies of checked fields: a cycle hidden in a tuple never goes out', () => {
    const r = createRouter({ self: 'x', relays, services, random: () => 0.5 })
    const u = update(10, 100)
    const tuple = u.edges[0] as unknown as Record<string, unknown>
    tuple.loop = u // an extra property on an array: cycles back to the message
    ;(u as unknown as Record<string, unknown>).edges = Object.assign(u.edges, { extra: u })
    r.onControl(0, 'y', u)
    expect(edgeXY(r)).toBe(100)
    const stored = chainOf(r, 1)[0] as MapUpdate
    expect(stored).not.toBe(u)
    expect(Object.keys(stored).sort()).toEqual(['boot', 'edges', 'origin', 'origins', 'seq', 'type', 'v'])
    const out = relayCopy(stored)
    expect(out.edges).not.toBe(u.edges)
    expect(Object.keys(out.edges)).toEqual(['0'])
    expect(Object.keys(out.edges[0])).toEqual(['0', '1', '2', '3', '4', '5', '6', '7'])
    expect(() => encodeControl(out)).not.toThrow()
    expect(() => JSON.stringify(out)).not.toThrow()
  })

  it('bounds the stored chain when a peer streams deltas without a whole column', () => {
    const r = createRouter({ self: 'x', relays, services, random: () => 0.5 })
    r.onControl(0, 'y', update(0, 100))
    for (let seq = 1; seq <= 1000; seq++) r.onControl(seq, 'y', update(seq, 100 + (seq % 7), { full: false }))
    expect(chainOf(r, 1).length).toBeLessThanOrEqual(MAX_CHAIN_DELTAS + 1)
    expect(r.counters!().control_chain_dropped).toBeGreaterThan(0)
    // The deltas were still applied: only what is kept for relaying is bounded.
    expect(edgeXY(r)).toBe(100 + (1000 % 7))
    // A whole column starts a new chain.
    r.onControl(2000, 'y', update(1001, 50))
    expect(chainOf(r, 1)).toHaveLength(1)
  })
})

describe('own column claimed by another relay', () => {
  it('fights back at once with a newer whole column when a peer claims our column with a higher seq', () => {
    const r = createRouter({ self: 'x', relays, services, random: () => 0.25, bootId: 5 })
    r.tick(0)
    const claim: MapUpdate = { type: MAP_MSG_TYPE, v: MAP_MSG_VERSION, origin: 'x', boot: 5, seq: 40, edges: [], origins: [] }
    r.onControl(10, 'y', claim)
    expect(r.counters!().control_own_forged).toBe(1)
    expect(r.counters!().control_fight_back).toBe(1)
    const out = r.tick(20).filter((m) => m.kind === 'control').map((m) => m.msg as MapUpdate)
    const full = out.find((m) => m.full === true && m.seq > 40)
    expect(full).toBeDefined()
    expect(full!.boot).toBe(5)
    expect(new Set(out.filter((m) => m.full === true).map((m) => JSON.stringify(m)))).toHaveProperty('size', 1)
  })

  it('starts a new boot when a peer claims our column under another boot', () => {
    const r = createRouter({ self: 'x', relays, services, random: () => 0.25, bootId: 5 })
    r.tick(0)
    r.onControl(10, 'y', { type: MAP_MSG_TYPE, v: MAP_MSG_VERSION, origin: 'x', boot: 99, seq: 0, edges: [], origins: [] })
    const out = r.tick(20).filter((m) => m.kind === 'control').map((m) => m.msg as MapUpdate)
    expect(out.some((m) => m.full === true && m.boot !== 5 && m.boot !== 99)).toBe(true)
    // Rate-limited: a stream of claims costs one fight-back per second.
    for (let t = 30; t < 900; t += 10) r.onControl(t, 'y', { type: MAP_MSG_TYPE, v: MAP_MSG_VERSION, origin: 'x', boot: 100 + t, seq: 0, edges: [], origins: [] })
    expect(r.counters!().control_fight_back).toBe(1)
  })
})

/** Three routers with real Ed25519 column signing, messages delivered by hand. */
function signedTrio() {
  const keys = Object.fromEntries(relays.map((n) => [n, generateKeyPair()]))
  const signKeys = new Map(relays.map((n) => [n, signPublicKeyOf(keys[n].privateKey)]))
  const routers = Object.fromEntries(relays.map((n, i) => [
    n, createRouter({ self: n, relays, services, random: () => 0.1 * (i + 1), columnAuth: new Ed25519ColumnAuth(keys[n].privateKey, signKeys) }),
  ])) as Record<string, Router>
  return { keys, signKeys, routers }
}

describe('own column after a fight-back', () => {
  /** What the router's own map holds for its own column, and what it last flooded. */
  function ownState(r: Router, sent: MapUpdate[]): { held: [number, number]; sent: [number, number] } {
    const map = (r as unknown as { map: { colSeq: Float64Array; colBoot: Float64Array } }).map
    const last = sent[sent.length - 1]
    return { held: [map.colBoot[0], map.colSeq[0]], sent: [last.boot, last.seq] }
  }
  const floods = (r: Router, t: number) => r.tick(t).filter((m) => m.kind === 'control').map((m) => (m as { msg: unknown }).msg as MapUpdate)

  it('keeps our own map in step with what we flood, whether the claim restarted our column or only got a refresh', () => {
    const { keys, signKeys } = signedTrio()
    const plain = createRouter({ self: 'x', relays, services, random: () => 0.25, bootId: 5 })
    const signed = createRouter({ self: 'x', relays, services, random: () => 0.25, bootId: 5, columnAuth: new Ed25519ColumnAuth(keys.x.privateKey, signKeys) })
    const lastSent = new Map<Router, MapUpdate[]>()
    for (const r of [plain, signed]) {
      floods(r, 0)
      r.onControl(10, 'y', { type: MAP_MSG_TYPE, v: MAP_MSG_VERSION, origin: 'x', boot: 5, seq: 40, edges: [], origins: [] })
      let sent: MapUpdate[] = []
      for (let t = 20; t < 5000; t += 10) {
        const out = floods(r, t)
        if (out.length > 0) sent = out
      }
      const s = ownState(r, sent)
      expect(s.held).toEqual(s.sent)
      lastSent.set(r, sent)
    }
    // Only the claim a receiver could take (no signing) moved our seq past it.
    expect(ownState(plain, lastSent.get(plain)!).sent[1]).toBeGreaterThan(40)
    expect(ownState(signed, lastSent.get(signed)!).sent[1]).toBeLessThan(40)
  })
})

describe('signed map columns', () => {
  it('signs every column it floods, and applies a peer column only with its origin signature', () => {
    const { routers } = signedTrio()
    const fromY = routers.y.tick(0).filter((m): m is Extract<RouterMessage, { kind: 'control' }> => m.kind === 'control' && m.to === 'x')
    expect(fromY.length).toBeGreaterThan(0)
    for (const m of fromY) expect((m.msg as MapUpdate).sig).toHaveLength(64)
    for (const m of fromY) routers.x.onControl(1, 'y', m.msg)
    expect(routers.x.counters!().control_accepted).toBeGreaterThan(0)
    expect(routers.x.counters!().control_forged).toBeUndefined()
  })

  it('refuses a column claiming another origin, unsigned or signed by the sender, and counts it', () => {
    const { keys, signKeys, routers } = signedTrio()
    const forged = update(0, 0.04, { origin: 'y', boot: 1234 })
    routers.x.onControl(0, 'z', forged)
    const zAuth = new Ed25519ColumnAuth(keys.z.privateKey, signKeys)
    const bySelf = { ...update(0, 0.04, { origin: 'y', boot: 1235 }) }
    bySelf.sig = zAuth.sign(canonicalColumn(bySelf))
    routers.x.onControl(1, 'z', bySelf)
    expect(edgeXY(routers.x)).toBeUndefined()
    expect(routers.x.counters!().control_forged_unsigned).toBe(1)
    expect(routers.x.counters!().control_forged_signature).toBe(1)
  })

  // A whole column that arrives in sync is not applied (the delta of the
  // same seq is), but it is kept as the start of the chain we relay and
  // relayed around failed edges: it must pass the same checks first.
  it('keeps an in-sync whole column for relaying only with its origin signature', () => {
    const { keys, signKeys, routers } = signedTrio()
    const toX = (t: number) => routers.y.tick(t).filter((m) => m.kind === 'control' && m.to === 'x').map((m) => (m as { msg: unknown }).msg as MapUpdate)
    for (const m of toX(0)) routers.x.onControl(1, 'y', m)
    const held = (routers.x as unknown as { map: { colSeq: Float64Array } }).map.colSeq[1]
    const zAuth = new Ed25519ColumnAuth(keys.z.privateKey, signKeys)
    const forged = update(held + 1, 0.04, { origin: 'y', boot: (routers.y as unknown as { own: { boot: number } }).own.boot, full: true })
    forged.sig = zAuth.sign(canonicalColumn(forged))
    routers.x.onControl(2, 'z', forged)
    expect(routers.x.counters!().control_forged_signature).toBe(1)
    expect(chainOf(routers.x, 1).map((u) => (u as MapUpdate).seq)).not.toContain(held + 1)
    // y's own next whole column, arriving in sync, is skipped and starts the chain.
    let genuine: MapUpdate | undefined
    for (let t = 1000; genuine === undefined && t < 20_000; t += 100) {
      for (const m of toX(t)) {
        routers.x.onControl(t + 1, 'y', m)
        if (m.full === true && genuine === undefined) {
          genuine = m
          expect(routers.x.counters!().control_full_skipped).toBe(1)
          expect(chainOf(routers.x, 1)[0]).toMatchObject({ seq: m.seq, full: true })
        }
      }
    }
    expect(genuine).toBeDefined()
  })

  it('refuses a genuine column whose values were changed in transit by a relaying peer', () => {
    const { routers } = signedTrio()
    const fromY = routers.y.tick(0).filter((m) => m.kind === 'control' && m.to === 'x').map((m) => (m as { msg: unknown }).msg as MapUpdate)
    const first = structuredClone(fromY[0])
    first.edges = first.edges.map((e) => [e[0], 0.04, 0.04, e[3], e[4], e[5], e[6], e[7]] as EdgeTuple)
    first.edges.push(['z', 0.04, 0.04, null, null, 0, 0, true])
    routers.x.onControl(1, 'z', first)
    expect(routers.x.counters!().control_forged_signature).toBe(1)
  })
})

describe('onControl on arbitrary input (fuzzed)', () => {
  const valid = (): Record<string, unknown> => ({ ...update(10, 100), full: false, edges: [['x', 1, 1, null, 2, 0, 0, true], ['z', 3, 3, 0.5, null, 1, 2, false]] })

  it('never throws on any value, and never applies one that is not a well-formed update', () => {
    const r = createRouter({ self: 'x', relays, services, random: () => 0.5 })
    fc.assert(
      fc.property(fc.anything({ maxDepth: 4, withMap: true, withTypedArray: true, withNullPrototype: true }), (v) => {
        r.onControl(0, 'y', v)
      }),
      { numRuns: 3000, seed: 14 },
    )
    expect(r.counters!().control_accepted).toBeUndefined()
  })

  it('never throws on real updates with one field replaced by anything', () => {
    const keys = ['type', 'v', 'origin', 'boot', 'seq', 'full', 'edges', 'origins', 'sig', 'edge', 'cell']
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.nat(7), fc.anything({ maxDepth: 2 }), (key, cell, value) => {
        const r = createRouter({ self: 'x', relays, services, random: () => 0.5 })
        const m = valid()
        if (key === 'edge') (m.edges as unknown[])[cell % 2] = value
        else if (key === 'cell') ((m.edges as unknown[][])[0])[cell] = value
        else m[key] = value
        r.onControl(0, 'y', m)
        r.tick(1)
      }),
      { numRuns: 2000, seed: 14 },
    )
  })
})
