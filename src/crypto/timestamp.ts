/**
 * The "timestamp" inside an initiation: wall-clock microseconds, bumped when
 * needed so it is strictly greater than the previous one of this process.
 * The responder never compares it with its own clock (clock offsets between
 * relays do not matter); it only requires each peer's timestamps to
 * increase, and keeps the highest one across restarts (daemon/
 * handshake-state.ts). Following the wall clock, rather than counting up
 * from a value seeded once, means a relay whose clock was set back and then
 * corrected is accepted again as soon as the clock passes its old
 * timestamps. This is the one place crypto/ reads a wall clock, once per
 * initiation, and never for timekeeping.
 */

let last = 0

/** Next initiation timestamp; `wallUs` (tests) replaces the wall clock. */
export function nextHandshakeTimestamp(wallUs: number = Date.now() * 1000): number {
  last = Math.max(last + 1, Math.floor(wallUs))
  return last
}
