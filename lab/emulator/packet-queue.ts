/**
 * Packets waiting for their release time: a preallocated slot pool (one
 * Buffer cut into MTU-sized slots) and a binary min-heap of slot numbers
 * keyed by release time. Enqueue copies the packet into a free slot (the
 * TUN read buffer is reused); nothing is allocated per packet. A full pool
 * drops the packet and counts it.
 */
export const SLOT_BYTES = 2048

export class PacketQueue {
  readonly pool: Buffer
  readonly lengths: Int32Array
  readonly dueMs: Float64Array
  /** Read time of each slot, for the delay-error measurement. */
  readonly readMs: Float64Array
  private readonly heap: Int32Array
  private size = 0
  private readonly free: Int32Array
  private freeCount: number
  overflows = 0

  constructor(readonly capacity = 8192) {
    this.pool = Buffer.alloc(capacity * SLOT_BYTES)
    this.lengths = new Int32Array(capacity)
    this.dueMs = new Float64Array(capacity)
    this.readMs = new Float64Array(capacity)
    this.heap = new Int32Array(capacity)
    this.free = new Int32Array(capacity)
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i
    this.freeCount = capacity
  }

  get length(): number {
    return this.size
  }

  /** Earliest release time, or Infinity when empty. */
  peekDueMs(): number {
    return this.size > 0 ? this.dueMs[this.heap[0]] : Infinity
  }

  push(packet: Buffer, length: number, readMs: number, dueMs: number): boolean {
    if (this.freeCount === 0 || length > SLOT_BYTES) {
      this.overflows++
      return false
    }
    const slot = this.free[--this.freeCount]
    packet.copy(this.pool, slot * SLOT_BYTES, 0, length)
    this.lengths[slot] = length
    this.dueMs[slot] = dueMs
    this.readMs[slot] = readMs
    let i = this.size++
    // Sift up; ties keep insertion order well enough for equal due times of one direction.
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (this.dueMs[this.heap[parent]] <= dueMs) break
      this.heap[i] = this.heap[parent]
      i = parent
    }
    this.heap[i] = slot
    return true
  }

  /** Removes the earliest slot and returns its number; call release(slot) after using it. */
  pop(): number {
    const top = this.heap[0]
    const last = this.heap[--this.size]
    let i = 0
    const due = this.dueMs[last]
    for (;;) {
      const l = 2 * i + 1
      if (l >= this.size) break
      const r = l + 1
      const c = r < this.size && this.dueMs[this.heap[r]] < this.dueMs[this.heap[l]] ? r : l
      if (this.dueMs[this.heap[c]] >= due) break
      this.heap[i] = this.heap[c]
      i = c
    }
    if (this.size > 0) this.heap[i] = last
    return top
  }

  release(slot: number): void {
    this.free[this.freeCount++] = slot
  }
}
