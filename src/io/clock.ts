import type { Clock, TimerHandle, Timers } from './index.js'

/** The real monotonic clock: performance.now() never jumps with NTP or the wall clock. */
export const monotonicClock: Clock = {
  nowMs: () => performance.now(),
}

/** Event-loop timers; unref'd handles are the caller's choice. */
export const realTimers: Timers = {
  setTimeout: (fn, delayMs) => setTimeout(fn, delayMs),
  clearTimeout: (handle: TimerHandle) => clearTimeout(handle as NodeJS.Timeout),
}
