import { describe, expect, it } from 'vitest'
import { DelayStats } from '../../lab/emulator/delay-stats.js'
import { PacketQueue, SLOT_BYTES } from '../../lab/emulator/packet-queue.js'
import { ReleaseScheduler, type Waker } from '../../lab/emulator/scheduler.js'

/** A waker driven by the test: records what it was armed for and fires on demand. */
function fakeWaker() {
  const w = { onWake: (): void => {}, armedDelays: [] as number[], closed: false }
  const factory = (onWake: () => void): Waker => {
    w.onWake = onWake
    return { arm: (d) => w.armedDelays.push(d), disarm: () => {}, close: () => { w.closed = true } }
  }
  return { w, factory }
}

function setup() {
  let nowMs = 0
  const queue = new PacketQueue(16)
  const written: number[] = []
  const stats = new DelayStats(64)
  const { w, factory } = fakeWaker()
  const s = new ReleaseScheduler(queue, (buf, off) => { written.push(buf[off]); return true }, stats, () => nowMs, factory)
  const push = (tag: number, dueMs: number): void => {
    queue.push(Buffer.from([tag]), 1, nowMs, dueMs)
    s.kick()
  }
  return { s, w, push, written, stats, at: (t: number) => { nowMs = t } }
}

describe('emulator release scheduler', () => {
  it('arms one wake-up for the earliest packet and re-arms when an earlier one arrives', () => {
    const { w, push } = setup()
    push(1, 10)
    push(2, 20) // later: no new arming
    push(3, 5) // earlier: re-armed
    expect(w.armedDelays.map((d) => Math.round(d))).toEqual([10, 5])
  })

  it('releases every due packet in due order when the waker fires, then arms for the next', () => {
    const { w, push, written, at } = setup()
    push(1, 10)
    push(2, 3)
    push(3, 30)
    at(10)
    w.onWake()
    expect(written).toEqual([2, 1])
    expect(Math.round(w.armedDelays.at(-1)!)).toBe(20)
  })

  it('holds a packet that is not due yet when woken early', () => {
    const { w, push, written, at } = setup()
    push(1, 10)
    at(9)
    w.onWake()
    expect(written).toEqual([])
    expect(w.armedDelays.at(-1)!).toBeGreaterThan(0.9)
  })

  it('records each release\'s lateness as the delay error', () => {
    const { w, push, stats, at } = setup()
    push(1, 10)
    at(10.25)
    w.onWake()
    expect(stats.summary().max_ms).toBeCloseTo(0.25, 6)
  })

  it('closes its waker on stop and ignores a late wake-up', () => {
    const { s, w, push, written, at } = setup()
    push(1, 10)
    s.stop()
    at(11)
    w.onWake()
    expect(w.closed).toBe(true)
    expect(written).toEqual([])
  })

  it('writes from the queue slot of the packet', () => {
    const queue = new PacketQueue(4)
    const { factory, w } = fakeWaker()
    const seen: [number, number][] = []
    const s = new ReleaseScheduler(queue, (_b, off, len) => { seen.push([off, len]); return true }, new DelayStats(8), () => 5, factory)
    queue.push(Buffer.alloc(100, 7), 100, 0, 1)
    s.kick()
    w.onWake()
    expect(seen).toHaveLength(1)
    expect(seen[0][0] % SLOT_BYTES).toBe(0)
    expect(seen[0][1]).toBe(100)
  })
})

describe('emulator delay statistics', () => {
  it('counts the samples later than each threshold, so runs can be pooled', () => {
    const s = new DelayStats(100)
    for (const e of [0.1, 0.2, 0.6, 1.5, 1.0, 7]) s.add(e)
    const sum = s.summary()
    expect(sum.samples).toBe(6)
    expect(sum.over_ms).toEqual({ '0.5': 4, '1': 2, '2': 1, '5': 1 })
    expect(sum.max_ms).toBe(7)
  })
})
