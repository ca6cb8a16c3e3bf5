/**
 * The "timestamp" inside an initiation is only a strictly increasing counter.
 * The responder compares it with the last value it accepted from the same
 * peer, never with its own clock, so clock offsets between relays do not
 * matter. Seeding from wall-clock microseconds makes a restarted process start
 * above every value the previous one used (it would have needed more than one
 * initiation per microsecond to get ahead). This is the one place crypto/
 * reads a wall clock, once per process, and never for timekeeping.
 */

let last = 0

/** Next value of the per-process counter. `seed` (tests) replaces the wall-clock seed on first use. */
export function nextHandshakeTimestamp(seed?: number): number {
  if (last === 0) last = seed ?? Date.now() * 1000
  last += 1
  return last
}
