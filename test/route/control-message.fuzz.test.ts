/**
 * Property tests of the control-message parser (route/control-message.ts)
 * on what msgpack can decode from a peer: any value, valid map updates, and
 * byte mutations of packed ones. The control path is a typed-reason parser:
 * it returns a reason string and never throws. (The decode step itself, in
 * RouterBridge.onControl, is fed whole by test/bench/fuzz-runner.test.ts.)
 */
import fc from 'fast-check'
import { Packr } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { RelayIndex } from '../../src/probe/relay-index.js'
import { checkEdges, MAP_MSG_TYPE, MAP_MSG_VERSION, parseMapUpdate, type MapSchema, type MapUpdate } from '../../src/route/control-message.js'
import { mutate, mutations, RUNS } from '../bench/mutations.js'

const RELAYS = ['lax', 'dal', 'sea', 'fuz']
const index = new RelayIndex(RELAYS)
const schema: MapSchema = { relays: index, exits: new Map([['game', new Set(['dal', 'fuz'])], ['dc', new Set(['fuz'])]]) }
// Packs as a peer would; decodes with records and extensions off, as a strict relay should.
const packr = new Packr({ useRecords: false, mapsAsObjects: true })
const REASON = /^[a-z_]+$/

// msgpack writes -0 as the integer 0: the round trip is exact for every other double.
const noNegZero = (x: number): number => (x === 0 ? 0 : x)
const num = fc.double({ min: -1e6, max: 1e6, noNaN: true }).map(noNegZero)
const nonNeg = fc.double({ min: 0, max: 1e6, noNaN: true }).map(noNegZero)
const edge = (origin: string) =>
  fc.tuple(
    fc.constantFrom(...RELAYS.filter((r) => r !== origin)),
    num, num, fc.option(num, { nil: null }), fc.option(nonNeg, { nil: null }), nonNeg, fc.double({ min: 0, max: 100, noNaN: true }).map(noNegZero), fc.boolean(),
  )
const update: fc.Arbitrary<MapUpdate> = fc.constantFrom('dal', 'fuz').chain((origin) =>
  fc.record({
    type: fc.constant(MAP_MSG_TYPE),
    v: fc.constant(MAP_MSG_VERSION),
    origin: fc.constant(origin),
    boot: fc.nat(0xffffffff),
    seq: fc.nat(2 ** 40),
    full: fc.constantFrom(true, false),
    edges: fc.uniqueArray(edge(origin), { maxLength: RELAYS.length - 1, selector: (e) => e[0] }),
    origins: fc.constant([]),
  }) as fc.Arbitrary<MapUpdate>,
)

function parseAll(msg: unknown): MapUpdate | string {
  const u = parseMapUpdate(msg, schema)
  if (typeof u === 'string') return u
  const bad = checkEdges(u, index, new Uint32Array(RELAYS.length), 1, new Int32Array(RELAYS.length))
  return bad === '' ? u : bad
}

describe('control message parser under fuzzing', () => {
  it('never throws on any value and names what it refuses', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 4, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withNullPrototype: true }), (v) => {
        const r = parseAll(v)
        if (typeof r === 'string') expect(r).toMatch(REASON)
      }),
      { numRuns: RUNS },
    )
  })

  it('round-trips valid updates through msgpack (parse of decode of encode is the identity)', () => {
    fc.assert(
      fc.property(update, (u) => {
        const r = parseAll(packr.unpack(packr.pack(u)))
        expect(r).toEqual(u)
      }),
      { numRuns: RUNS },
    )
  })

  it('a byte-mutated update does not decode, or is refused by name, or is accepted as a well-formed update', () => {
    fc.assert(
      fc.property(update, mutations, (u, ops) => {
        let decoded: unknown
        try {
          decoded = packr.unpack(mutate(packr.pack(u), ops))
        } catch {
          return // RouterBridge counts it as control_malformed
        }
        const r = parseAll(decoded)
        if (typeof r === 'string') {
          expect(r).toMatch(REASON)
          return
        }
        expect(r.type).toBe(MAP_MSG_TYPE)
        expect(RELAYS).toContain(r.origin)
        expect(Array.isArray(r.edges) && r.edges.length < RELAYS.length).toBe(true)
      }),
      { numRuns: RUNS },
    )
  })
})
