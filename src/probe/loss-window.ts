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

export class LossWindow {
  /** One bit per slot (seq % LOSS_WINDOW); 16 bytes, so V8 keeps it next to the object. */
  private readonly bits = new Uint32Array((LOSS_WINDOW + 31) >> 5)
  private first = -1
  private hi = -1
  private received = 0

  reset(): void {
    this.bits.fill(0)
    this.first = -1
    this.hi = -1
    this.received = 0
  }

  /** Highest sequence number seen, -1 before the first. */
  get highest(): number {
    return this.hi
  }

  record(seq: number): LossRecord {
    if (this.first < 0) {
      this.first = seq
      this.hi = seq
      this.set(seq % LOSS_WINDOW)
      this.received = 1
      return LossRecord.Fresh
    }
    if (seq > this.hi) {
      this.advanceTo(seq)
      this.set(seq % LOSS_WINDOW)
      this.received++
      return LossRecord.Fresh
    }
    if (this.hi - seq >= LOSS_WINDOW || seq < this.first) return LossRecord.TooOld
    const slot = seq % LOSS_WINDOW
    if (this.has(slot)) return LossRecord.Duplicate
    this.set(slot)
    this.received++
    return LossRecord.Fresh
  }

  /** Moves the window's top to `seq` (exclusive of recording it): the skipped numbers count as lost. */
  advanceTo(seq: number): void {
    if (this.first < 0) {
      this.first = seq
      this.hi = seq
      return
    }
    if (seq <= this.hi) return
    const steps = Math.min(seq - this.hi, LOSS_WINDOW)
    for (let i = 1; i <= steps; i++) {
      const slot = (seq - steps + i) % LOSS_WINDOW
      if (this.has(slot)) {
        this.received--
        this.bits[slot >> 5] &= ~(1 << (slot & 31))
      }
    }
    this.hi = seq
  }

  private has(slot: number): boolean {
    return (this.bits[slot >> 5] & (1 << (slot & 31))) !== 0
  }

  private set(slot: number): void {
    this.bits[slot >> 5] |= 1 << (slot & 31)
  }

  /** Lost fraction in percent over the window (0 before any number was seen). */
  lossPct(): number {
    if (this.first < 0) return 0
    const expected = Math.min(LOSS_WINDOW, this.hi - this.first + 1)
    return (100 * (expected - this.received)) / expected
  }
}
