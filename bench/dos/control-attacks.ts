/**
 * The crafted control messages a hostile member relay sends in `bench:dos`
 * (issue 14, points 1 and 2): each decodes, in a lax msgpack decoder, into
 * something that crashed, hung or misled a relay before the defences.
 */
import { Packr } from 'msgpackr'
import { randomBytes } from 'node:crypto'
import { SIGNATURE_LEN } from '../../src/crypto/index.js'

/** A column claiming to be `origin`'s: a new boot and 0.04 ms edges into it, one of them to a relay it has no edge to. */
export function forgedColumn(origin: string, boot: number): Record<string, unknown> {
  const edge = (from: string) => [from, 0.04, 0.04, 0, 0.08, 0, 0, true]
  return {
    type: 'overpass.map', v: 1, origin, boot, seq: 0,
    edges: ['ing', 'p3', 'atl'].filter((r) => r !== origin).map(edge),
    // The bench's one service has a pinned path, so no relay routes it and columns carry no origin tuples.
    origins: [],
  }
}

/** Each kind of crafted message, encoded; the keys are the names the bench reports. */
export function craftedControlMessages(forgeOrigin: string): Record<string, Uint8Array> {
  const cyclic: Record<string, unknown> = forgedColumn(forgeOrigin, 1)
  cyclic.loop = cyclic
  // 2^40 paths through 40 levels of shared references: tiny on the wire, exponential once walked.
  let bomb: unknown = ['x']
  for (let i = 0; i < 40; i++) bomb = [bomb, bomb]
  // An array32 header that declares a million elements, then a few.
  const manyItems = Buffer.concat([Buffer.from([0xdd, 0x00, 0x10, 0x00, 0x00]), Buffer.alloc(64, 0xc0)])
  return {
    cyclic: new Packr({ structuredClone: true }).pack(cyclic),
    shared_refs: new Packr({ structuredClone: true }).pack({ ...forgedColumn(forgeOrigin, 2), bomb }),
    records: new Packr({ useRecords: true }).pack(forgedColumn(forgeOrigin, 3)),
    // 1,200 nested arrays (the 30,000 do not fit one overlay datagram).
    deep: Buffer.alloc(1_200, 0x91),
    huge_items: manyItems,
    long_string: new Packr({ useRecords: false }).pack({ ...forgedColumn(forgeOrigin, 4), origin: 'x'.repeat(1_000) }),
    forged_unsigned: new Packr({ useRecords: false }).pack(forgedColumn(forgeOrigin, 0xdeadbeef)),
    forged_bad_signature: new Packr({ useRecords: false }).pack({ ...forgedColumn(forgeOrigin, 0xdeadbeee), sig: randomBytes(SIGNATURE_LEN) }),
  }
}
