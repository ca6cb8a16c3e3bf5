/**
 * One of two partitions running in different threads, kept in step by
 * their published progress instead of a barrier per window (a barrier made
 * each loop wait ~10% of the time: the work per 28 ms window varies
 * 30-65 ms with floods, route computations and GC).
 *
 * Each loop publishes P, the sim time before which it has processed every
 * event, after first posting what it sent meanwhile to the other loop. A
 * message from the other loop sent at or after its P arrives at or after
 * P + L (L = the lookahead, the smallest delay between the halves), so
 * after reading the other's P and draining its messages a loop may process
 * every event before P + L. It advances in steps of at most L / 4, so the
 * other never waits long for its next P; it waits (Atomics.wait) only when
 * it is a whole lookahead ahead. The heap orders events by (time, order)
 * whenever they were inserted, so the result is the one of the windowed
 * run (and of one loop).
 *
 * Shared memory: Int32 counters at [SIG_PUBLISHED + part] (one per loop,
 * bumped after each publish) and Float64 progress at [PROGRESS_F64 + part].
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads'
import type { Outbox, Partition } from './partition.js'

export const SIG_PUBLISHED = 2
export const PROGRESS_F64 = 2
/** Bytes of the shared signal buffer: four Int32 counters, then two Float64 progress values. */
export const SIGNAL_BYTES = 32
/** Steps per lookahead: each loop publishes its progress at least this often. */
const STEPS_PER_LOOKAHEAD = 4
/** How long to wait between checks that the other loop is still alive, ms. */
const WAIT_SLICE_MS = 1000
/**
 * No progress from the other thread for this long means it is gone: a
 * worker that dies (out of memory, say) cannot deliver its exit event to a
 * thread blocked in Atomics.wait, so without this the run would hang.
 */
export const STALL_MS = 120_000

export class SimLoopStalledError extends Error {
  override readonly name = 'SimLoopStalledError'
  constructor(what: string, stallMs = STALL_MS) {
    super(`${what} showed no progress for ${stallMs / 1000} s (did it run out of memory?); fix: run with --workers 1, or fewer relays`)
  }
}

/** Watches a counter the other thread bumps; `check` throws once it has not moved for `stallMs`. */
export class StallWatch {
  private last = NaN
  private sinceMs = 0

  constructor(private readonly what: string, readonly stallMs = STALL_MS) {}

  /** Start a new wait: the time without progress counts from now. */
  reset(): void {
    this.last = NaN
    this.sinceMs = performance.now()
  }

  saw(value: number): void {
    if (value === this.last) return
    this.last = value
    this.sinceMs = performance.now()
  }

  check(): void {
    if (performance.now() - this.sinceMs > this.stallMs) throw new SimLoopStalledError(this.what, this.stallMs)
  }
}

export class SyncedLoop {
  /** Wall time spent processing events, and waiting for the other loop, ms. */
  busyMs = 0
  waitMs = 0
  private readonly sig: Int32Array
  private readonly progress: Float64Array
  private readonly other: number
  private readonly stepMs: number

  constructor(
    readonly partition: Partition,
    private readonly part: number,
    private readonly data: MessagePort,
    signal: SharedArrayBuffer,
    private readonly lookaheadMs: number,
    /** Checked while waiting: false = the other loop is gone. */
    private readonly otherAlive: () => boolean = () => true,
    /** No progress from the other loop for this long ends the run (tests shorten it). */
    stallMs = STALL_MS,
  ) {
    this.stall = new StallWatch('the other simulator loop', stallMs)
    this.sig = new Int32Array(signal, 0, 4)
    this.progress = new Float64Array(signal, 16, 2)
    this.other = 1 - part
    this.stepMs = lookaheadMs / STEPS_PER_LOOKAHEAD
  }

  private readonly stall: StallWatch

  /** Processes every event before `endMs`, in step with the other loop (which must run to the same `endMs`). */
  runTo(endMs: number): void {
    this.stall.reset()
    const me = this.part
    for (;;) {
      // Read the other's counter and progress first: every message it sent before that progress is in the port now.
      const seen = Atomics.load(this.sig, SIG_PUBLISHED + this.other)
      this.stall.saw(seen)
      const otherMs = this.progress[this.other]
      this.drain()
      const mine = this.progress[me]
      if (mine >= endMs) return
      const limit = Math.min(otherMs + this.lookaheadMs, endMs)
      if (mine < limit) {
        const step = Math.min(limit, mine + this.stepMs)
        const t0 = performance.now()
        this.partition.runUntil(step)
        if (this.partition.outboxLength > 0) {
          const ob = this.partition.takeOutbox()
          this.data.postMessage(ob, [ob.f64.buffer as ArrayBuffer])
        }
        this.progress[me] = step
        Atomics.add(this.sig, SIG_PUBLISHED + me, 1)
        Atomics.notify(this.sig, SIG_PUBLISHED + me)
        this.busyMs += performance.now() - t0
        continue
      }
      const t0 = performance.now()
      if (Atomics.wait(this.sig, SIG_PUBLISHED + this.other, seen, Math.min(WAIT_SLICE_MS, this.stall.stallMs)) === 'timed-out') {
        if (!this.otherAlive()) throw new Error('the other simulator loop stopped')
        this.stall.check()
      }
      this.waitMs += performance.now() - t0
    }
  }

  /** Delivers every outbox the other loop has posted. */
  private drain(): void {
    for (;;) {
      const m = receiveMessageOnPort(this.data)
      if (m === undefined) return
      this.partition.deliver(m.message as Outbox)
    }
  }
}
