/**
 * Sliding replay window for transport counters, one per keypair. It remembers
 * which of the last WINDOW_SIZE counters were seen in a ring of u32 bitmap
 * words. Moving the window forward only clears the words it passes over, so
 * a jump costs at most RING_WORDS word writes and a normal packet costs one.
 *
 * Counters are JS numbers (exact up to 2^53), so word and bit indexes use
 * division and modulo instead of shifts, which would truncate to 32 bits.
 *
 * Usage: `check` before decrypting (cheap early reject), `update` only after
 * the tag verified, so forged packets can never move the window.
 */

const WORD_BITS = 32
/** Ring size in u32 words; a power of two. 256 words = 8192 bits = 1 KiB per keypair. */
export const RING_WORDS = 256
const RING_MASK = RING_WORDS - 1
/**
 * Counters accepted behind the highest one seen. One word of the ring is the
 * word being filled, so the guaranteed window is one word short of the ring.
 */
export const WINDOW_SIZE = (RING_WORDS - 1) * WORD_BITS
/** Largest counter the window accepts: JS numbers stop being exact above this. */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER

export class ReplayWindow {
  /**
   * The ring, and head[0]: the highest counter accepted so far (with nothing
   * accepted, 0 and the ring is empty). Typed arrays rather than fields so
   * the native transit fast path (native/transit.c) advances the very same
   * window: one state, never two that a replay could slip between.
   */
  readonly ring = new Uint32Array(RING_WORDS)
  readonly head = new Float64Array(1)

  private get last(): number {
    return this.head[0]
  }

  private set last(counter: number) {
    this.head[0] = counter
  }

  /** Forget everything, as for a fresh keypair. */
  reset(): void {
    this.ring.fill(0)
    this.last = 0
  }

  /** True if `counter` could still be accepted (not too old, not seen). Does not modify state. */
  check(counter: number): boolean {
    if (!(counter >= 0 && counter <= MAX_COUNTER)) return false
    if (counter > this.last) return true
    if (this.last - counter > WINDOW_SIZE) return false
    const word = this.ring[Math.floor(counter / WORD_BITS) & RING_MASK]
    return (word & (1 << (counter % WORD_BITS))) === 0
  }

  /** Marks `counter` as seen. Returns false (and changes nothing) if it is a replay or too old. */
  update(counter: number): boolean {
    if (!(counter >= 0 && counter <= MAX_COUNTER)) return false
    const block = Math.floor(counter / WORD_BITS)
    if (counter > this.last) {
      // Advance: clear every word between the old head and the new one (at most the whole ring).
      const current = Math.floor(this.last / WORD_BITS)
      let clear = Math.min(block - current, RING_WORDS)
      for (let i = current + 1; clear > 0; i++, clear--) this.ring[i & RING_MASK] = 0
      this.last = counter
    } else if (this.last - counter > WINDOW_SIZE) {
      return false
    }
    const index = block & RING_MASK
    const bit = 1 << (counter % WORD_BITS)
    const old = this.ring[index]
    if ((old & bit) !== 0) return false
    this.ring[index] = old | bit
    return true
  }

  /** Highest counter accepted so far (for stats and tests). */
  highest(): number {
    return this.last
  }
}
