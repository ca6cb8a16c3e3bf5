/**
 * fast-check arbitraries for the property tests of every parser of untrusted
 * bytes: mutation lists (bench/fuzz/mutate.ts, shared with `npm run fuzz`)
 * that shrink to the fewest and smallest changes, and a bounded run count so
 * the whole fuzz suite stays within a few seconds of `npm test`.
 */
import fc from 'fast-check'
import { mutate, type Mutation } from '../../bench/fuzz/mutate.js'

export { mutate }

/** Cases per property in `npm test`; `npm run fuzz` runs a million inputs per input path. */
export const RUNS = 300
/** For properties that do X25519 or run a whole relay per case. */
export const SLOW_RUNS = 60

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at: fc.nat(2000), bit: fc.nat(7) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(2000), value: fc.nat(255) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), length: fc.nat(2000) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('splice' as const), at: fc.nat(2000), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }) },
)

/** One to four mutations: at least one, so the result differs in structure or content from the valid message. */
export const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 })

/** Any bytes, up to `max` long. */
export function bytes(max = 300): fc.Arbitrary<Buffer> {
  return fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b))
}
