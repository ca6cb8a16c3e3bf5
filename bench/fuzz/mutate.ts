/**
 * Mutations of a valid message, shared by the fuzz runner (which draws them
 * from its seeded Rng) and the property tests (which draw them with
 * fast-check, so a failure shrinks to the fewest, smallest mutations).
 * Starting from a valid encoding lets the fuzzer get past the first length
 * and version checks and reach the deeper branches of a parser.
 */
import type { Rng } from './rng.js'

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'truncate'; length: number }
  | { op: 'extend'; bytes: Uint8Array }
  | { op: 'splice'; at: number; bytes: Uint8Array }

/** Applies `ops` in order to a copy of `msg`; positions wrap modulo the current length. */
export function mutate(msg: Uint8Array, ops: readonly Mutation[]): Buffer {
  let out = Buffer.from(msg)
  for (const m of ops) {
    switch (m.op) {
      case 'flip':
        if (out.length > 0) out[m.at % out.length] ^= 1 << (m.bit & 7)
        break
      case 'set':
        if (out.length > 0) out[m.at % out.length] = m.value & 0xff
        break
      case 'truncate':
        out = out.subarray(0, out.length === 0 ? 0 : m.length % out.length)
        break
      case 'extend':
        out = Buffer.concat([out, m.bytes])
        break
      case 'splice': {
        const at = out.length === 0 ? 0 : m.at % (out.length + 1)
        out = Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)])
        break
      }
    }
  }
  return out
}

/** Interesting byte values: boundaries of u8/u16 fields, version and type numbers. */
const SPECIAL = [0, 1, 2, 3, 4, 5, 6, 7, 8, 0x0f, 0x10, 0x3f, 0x40, 0x45, 0x60, 0x7f, 0x80, 0xc0, 0xfe, 0xff]

/** 1 to 4 random mutations, weighted towards the small ones that keep most of the structure. */
export function randomMutations(rng: Rng, length: number): Mutation[] {
  const count = 1 + (rng.chance(0.5) ? 0 : rng.below(4))
  const ops: Mutation[] = []
  const len = Math.max(1, length)
  for (let i = 0; i < count; i++) {
    const r = rng.below(100)
    if (r < 40) ops.push({ op: 'flip', at: rng.below(len), bit: rng.below(8) })
    else if (r < 65) ops.push({ op: 'set', at: rng.below(len), value: rng.chance(0.5) ? rng.pick(SPECIAL) : rng.below(256) })
    else if (r < 80) ops.push({ op: 'truncate', length: rng.below(len) })
    else if (r < 92) ops.push({ op: 'extend', bytes: rng.bytes(rng.chance(0.7) ? rng.int(1, 8) : rng.int(9, 300)) })
    else ops.push({ op: 'splice', at: rng.below(len + 1), bytes: rng.bytes(rng.int(1, 16)) })
  }
  return ops
}

/** A mutated copy of `msg` drawn from `rng` (no mutation at all with probability `keep`). */
export function randomVariant(rng: Rng, msg: Uint8Array, keep = 0.02): Buffer {
  return rng.chance(keep) ? Buffer.from(msg) : mutate(msg, randomMutations(rng, msg.length))
}
