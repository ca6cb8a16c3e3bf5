/**
 * Loss over the last LOSS_WINDOW sequence numbers. A probe (or origin
 * sample) is counted as received when its sequence number is recorded; every
 * sequence number the window has moved past without a record is a loss. Late
 * (reordered) arrivals inside the window still count as received; duplicates
 * and arrivals older than the window are reported so the caller can count them.
 *
 * Until the window has seen LOSS_WINDOW numbers, loss is over the numbers seen
 * so far (from the first one recorded), so a fresh edge's loss is meaningful
 * after a handful of probes. Sequence numbers are u32 and are assumed not to
 * wrap (2^32 probes at 10/s is 13 years).
 */

export const LOSS_WINDOW = 100

export const enum LossRecord {
  Fresh = 0,
  Duplicate = 1,
  TooOld = 2,
}

// State offsets in doubles from the window's base (see DelayFilter).
const FIRST = 0
const HI = 1
const RECEIVED = 2
/** One bit per slot (seq % LOSS_WINDOW), 32 to a double (held as an exact u32). */
const BITS_AT = 3
const WORDS = (LOSS_WINDOW + 31) >> 5
/** Doubles one LossWindow takes in a shared store. */
export const LOSS_WINDOW_DOUBLES = BITS_AT + WORDS

/**
 * All state lives in `store` at [base, base + LOSS_WINDOW_DOUBLES): its own
 * array by default, or one block of a caller's shared store (see DelayFilter).
 */
export class LossWindow {
  private readonly s: Float64Array
  private readonly b: number

  constructor(store?: Float64Array, base = 0) {
    this.s = store ?? new Float64Array(LOSS_WINDOW_DOUBLES)
    this.b = base
    this.reset()
  }

  reset(): void {
    const s = this.s
    const b = this.b
    for (let w = 0; w < WORDS; w++) s[b + BITS_AT + w] = 0
    s[b + FIRST] = -1
    s[b + HI] = -1
    s[b + RECEIVED] = 0
  }

  /** Highest sequence number seen, -1 before the first. */
  get highest(): number {
    return this.s[this.b + HI]
  }

  record(seq: number): LossRecord {
    const s = this.s
    const b = this.b
    if (s[b + FIRST] < 0) {
      s[b + FIRST] = seq
      s[b + HI] = seq
      this.set(seq % LOSS_WINDOW)
      s[b + RECEIVED] = 1
      return LossRecord.Fresh
    }
    const hi = s[b + HI]
    if (seq > hi) {
      this.advanceTo(seq)
      this.set(seq % LOSS_WINDOW)
      s[b + RECEIVED]++
      return LossRecord.Fresh
    }
    if (hi - seq >= LOSS_WINDOW || seq < s[b + FIRST]) return LossRecord.TooOld
    const slot = seq % LOSS_WINDOW
    if (this.has(slot)) return LossRecord.Duplicate
    this.set(slot)
    s[b + RECEIVED]++
    return LossRecord.Fresh
  }

  /** Moves the window's top to `seq` (exclusive of recording it): the skipped numbers count as lost. */
  advanceTo(seq: number): void {
    const s = this.s
    const b = this.b
    if (s[b + FIRST] < 0) {
      s[b + FIRST] = seq
      s[b + HI] = seq
      return
    }
    const hi = s[b + HI]
    if (seq <= hi) return
    const steps = Math.min(seq - hi, LOSS_WINDOW)
    for (let i = 1; i <= steps; i++) {
      const slot = (seq - steps + i) % LOSS_WINDOW
      if (this.has(slot)) {
        s[b + RECEIVED]--
        const w = b + BITS_AT + (slot >> 5)
        s[w] = (s[w] & ~(1 << (slot & 31))) >>> 0
      }
    }
    s[b + HI] = seq
  }

  /** Whether `seq` was recorded (false for a number the window has moved past or never reached). */
  holds(seq: number): boolean {
    const s = this.s
    const b = this.b
    const hi = s[b + HI]
    if (seq > hi || hi - seq >= LOSS_WINDOW || seq < s[b + FIRST]) return false
    return this.has(seq % LOSS_WINDOW)
  }

  private has(slot: number): boolean {
    return (this.s[this.b + BITS_AT + (slot >> 5)] & (1 << (slot & 31))) !== 0
  }

  private set(slot: number): void {
    const w = this.b + BITS_AT + (slot >> 5)
    this.s[w] = (this.s[w] | (1 << (slot & 31))) >>> 0
  }

  /** Lost fraction in percent over the window (0 before any number was seen). */
  lossPct(): number {
    const s = this.s
    const b = this.b
    const first = s[b + FIRST]
    if (first < 0) return 0
    const expected = Math.min(LOSS_WINDOW, s[b + HI] - first + 1)
    return (100 * (expected - s[b + RECEIVED])) / expected
  }
}
