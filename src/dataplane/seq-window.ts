/**
 * Deduplication for redundant (two-path) flows: remembers which of the last
 * WINDOW sequence numbers were delivered. Sequence numbers are u32 and wrap;
 * distances are taken modulo 2^32. Not a security mechanism (the crypto
 * replay window is): it only stops the second copy of a packet.
 */
import { FLAG_REDUNDANT } from '../wire/data.js'

const WINDOW = 1024
const WORDS = WINDOW / 32

export class SeqWindow {
  private readonly bits = new Uint32Array(WORDS)
  private highest = -1

  /** True the first time `seq` is seen (and inside the window); false for a copy or a stale packet. */
  accept(seq: number): boolean {
    if (this.highest < 0) {
      this.highest = seq
      this.set(seq)
      return true
    }
    const ahead = (seq - this.highest) >>> 0
    if (ahead !== 0 && ahead < 0x80000000) {
      // Newer: clear the slots between the old highest and seq.
      const clear = Math.min(ahead, WINDOW)
      for (let i = 1; i <= clear; i++) this.unset((this.highest + i) >>> 0)
      this.highest = seq
      this.set(seq)
      return true
    }
    const behind = (this.highest - seq) >>> 0
    if (behind >= WINDOW) return false
    if (this.has(seq)) return false
    this.set(seq)
    return true
  }

  /** Forgets every sequence number seen: the window is as new (reused when a flow's replies start coming from another exit). */
  reset(): void {
    this.bits.fill(0)
    this.highest = -1
  }

  private has(seq: number): boolean {
    const slot = seq % WINDOW
    return (this.bits[slot >>> 5] & (1 << (slot & 31))) !== 0
  }

  private set(seq: number): void {
    const slot = seq % WINDOW
    this.bits[slot >>> 5] |= 1 << (slot & 31)
  }

  private unset(seq: number): void {
    const slot = seq % WINDOW
    this.bits[slot >>> 5] &= ~(1 << (slot & 31))
  }
}

/**
 * For packets of a flow sent over two paths (FLAG_REDUNDANT): true when this
 * sequence number was already delivered, so the caller drops the copy.
 */
export function isRedundantCopy(flow: { seen: SeqWindow | undefined }, hdr: { flags: number; seq: number }): boolean {
  if ((hdr.flags & FLAG_REDUNDANT) === 0) return false
  if (flow.seen === undefined) flow.seen = new SeqWindow()
  return !flow.seen.accept(hdr.seq)
}
