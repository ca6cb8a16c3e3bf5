/**
 * Releases queued packets at their due time. setTimeout fires a millisecond
 * or more late, so it only wakes us ~1.5 ms early; the rest of the wait is
 * spun on setImmediate turns, which still let TUN reads in between.
 */
import type { DelayStats } from './delay-stats.js'
import { SLOT_BYTES, type PacketQueue } from './packet-queue.js'

const SPIN_MS = 1.5
/** Release a packet this early rather than spin another turn for it. */
const EARLY_MS = 0.02

export class ReleaseScheduler {
  private timer: NodeJS.Timeout | undefined
  private immediate: NodeJS.Immediate | undefined
  private wakeAtMs = Infinity
  writeFailures = 0

  constructor(private readonly queue: PacketQueue, private readonly write: (buf: Buffer, off: number, len: number) => boolean, private readonly stats: DelayStats, private readonly now: () => number) {}

  /** Call after pushing: re-arms if the new packet is due before the current wake-up. */
  kick(): void {
    const due = this.queue.peekDueMs()
    if (due === Infinity) return
    if (this.immediate) return
    if (this.timer && due >= this.wakeAtMs + SPIN_MS) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    const wait = due - this.now()
    if (wait > SPIN_MS + 0.5) {
      this.wakeAtMs = due - SPIN_MS
      this.timer = setTimeout(this.fire, wait - SPIN_MS)
    } else {
      this.wakeAtMs = due
      this.immediate = setImmediate(this.fire)
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer)
    if (this.immediate) clearImmediate(this.immediate)
    this.timer = undefined
    this.immediate = undefined
  }

  private readonly fire = (): void => {
    this.timer = undefined
    this.immediate = undefined
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
