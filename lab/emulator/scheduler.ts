/**
 * Releases queued packets at their due time. It asks a Waker for one wake-up
 * at the earliest due time and re-arms after each batch. The emulator's
 * waker is a timerfd (io/precise-timer.ts): it sleeps until the hrtimer
 * fires, tens of microseconds late, and burns no CPU. `spinWaker` is the
 * fallback without the addon: setTimeout (a millisecond or more late) to
 * within SPIN_MS, then setImmediate turns. Spinning a SCHED_RR process for
 * long makes the kernel throttle it for ~50 ms a second, so it is a fallback
 * only (docs/lab.md, "Emulator accuracy").
 */
import type { DelayStats } from './delay-stats.js'
import { SLOT_BYTES, type PacketQueue } from './packet-queue.js'

/** Release a packet this early rather than wait another turn for it. */
const EARLY_MS = 0.02
const SPIN_MS = 1.5

/** One re-armable wake-up; `arm` replaces any pending one. */
export interface Waker {
  arm(delayMs: number): void
  disarm(): void
  close(): void
}
export type WakerFactory = (onWake: () => void) => Waker

export class ReleaseScheduler {
  private readonly waker: Waker
  /** Due time the waker is armed for; Infinity when idle. */
  private armedForMs = Infinity
  writeFailures = 0

  constructor(private readonly queue: PacketQueue, private readonly write: (buf: Buffer, off: number, len: number) => boolean, private readonly stats: DelayStats, private readonly now: () => number, makeWaker: WakerFactory) {
    this.waker = makeWaker(this.fire)
  }

  /** Call after pushing: re-arms if the new head is due before the current wake-up. */
  kick(): void {
    const due = this.queue.peekDueMs()
    if (due >= this.armedForMs) return
    this.armedForMs = due
    this.waker.arm(due - this.now() - EARLY_MS)
  }

  stop(): void {
    this.waker.close()
    this.armedForMs = -Infinity // nothing re-arms after stop
  }

  private readonly fire = (): void => {
    if (this.armedForMs === -Infinity) return
    this.armedForMs = Infinity
    const q = this.queue
    let now = this.now()
    while (q.length > 0 && q.peekDueMs() <= now + EARLY_MS) {
      const slot = q.pop()
      if (!this.write(q.pool, slot * SLOT_BYTES, q.lengths[slot])) this.writeFailures++
      now = this.now()
      this.stats.add(now - q.dueMs[slot])
      q.release(slot)
    }
    this.kick()
  }
}

/** setTimeout to within SPIN_MS of the deadline, then setImmediate turns until it. */
export function spinWaker(now: () => number): WakerFactory {
  return (onWake) => {
    let deadline = Infinity
    let timer: NodeJS.Timeout | undefined
    let immediate: NodeJS.Immediate | undefined
    const clear = (): void => {
      if (timer) clearTimeout(timer)
      if (immediate) clearImmediate(immediate)
      timer = undefined
      immediate = undefined
    }
    const step = (): void => {
      timer = undefined
      immediate = undefined
      const wait = deadline - now()
      if (wait > SPIN_MS + 0.5) timer = setTimeout(step, wait - SPIN_MS)
      else if (wait > 0) immediate = setImmediate(step)
      else {
        deadline = Infinity
        onWake()
      }
    }
    const disarm = (): void => {
      clear()
      deadline = Infinity
    }
    return {
      arm(delayMs) {
        clear()
        deadline = now() + delayMs
        step()
      },
      disarm,
      close: disarm,
    }
  }
}
