import { describe, expect, it } from 'vitest'
import { DROP, LinkTable } from '../../lab/emulator/link-table.js'
import { PacketQueue, SLOT_BYTES } from '../../lab/emulator/packet-queue.js'
import type { DirectedLink } from '../../lab/scenario/index.js'
import { seededRandom as seeded } from '../../src/route/seeded-random.js'


const link = (from: string, to: string, delayMs: number, jitterMs = 0, lossPct = 0): DirectedLink => ({ from, to, delayMs, jitterMs, lossPct, down: false })

describe('emulator link table', () => {
  it('delays each direction by its own one-way delay', () => {
    const t = new LinkTable(['a', 'b'], [link('a', 'b', 10), link('b', 'a', 30)])
    expect(t.decide(0, 1, 100)).toBe(110)
    expect(t.decide(1, 0, 100)).toBe(130)
  })

  it('never lets a jittered packet overtake an earlier one', () => {
    const t = new LinkTable(['a', 'b'], [link('a', 'b', 10, 5), link('b', 'a', 10)], seeded(1))
    let last = 0
    for (let i = 0; i < 2000; i++) {
      const due = t.decide(0, 1, i * 0.5)
      expect(due).toBeGreaterThanOrEqual(last)
      expect(due).toBeGreaterThanOrEqual(i * 0.5 + 10)
      last = due
    }
  })

  it('drops about the configured share and counts it', () => {
    const t = new LinkTable(['a', 'b'], [link('a', 'b', 1, 0, 10), link('b', 'a', 1)], seeded(7))
    let dropped = 0
    for (let i = 0; i < 10_000; i++) if (t.decide(0, 1, i) === DROP) dropped++
    expect(dropped).toBeGreaterThan(800)
    expect(dropped).toBeLessThan(1200)
    expect(t.dropped[1]).toBe(dropped)
  })

  it('cuts, degrades and restores one direction only', () => {
    const t = new LinkTable(['a', 'b'], [link('a', 'b', 10), link('b', 'a', 10)])
    t.apply({ atMs: 0, from: 'a', to: 'b', action: 'cut' })
    expect(t.decide(0, 1, 0)).toBe(DROP)
    expect(t.decide(1, 0, 0)).toBe(10)
    t.apply({ atMs: 0, from: 'a', to: 'b', action: 'restore' })
    expect(t.decide(0, 1, 100)).toBe(110)
    t.apply({ atMs: 0, from: 'a', to: 'b', action: 'degrade', set: { delayMs: 50 } })
    expect(t.get('a', 'b')).toMatchObject({ delayMs: 50, down: false })
  })
})

describe('emulator packet queue', () => {
  it('pops in due order, matching a sort (seeded)', () => {
    const rnd = seeded(3)
    const q = new PacketQueue(512)
    const pkt = Buffer.alloc(64)
    const pushed: number[] = []
    const popped: number[] = []
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 8; i++) {
        const due = Math.floor(rnd() * 1000)
        pkt.writeUInt32BE(due, 0)
        expect(q.push(pkt, 64, 0, due)).toBe(true)
        pushed.push(due)
      }
      for (let i = 0; i < 5; i++) {
        const slot = q.pop()
        popped.push(q.pool.readUInt32BE(slot * SLOT_BYTES))
        q.release(slot)
      }
    }
    while (q.length > 0) {
      const slot = q.pop()
      popped.push(q.pool.readUInt32BE(slot * SLOT_BYTES))
      q.release(slot)
    }
    expect(popped.length).toBe(pushed.length)
    expect([...popped].sort((a, b) => a - b)).toEqual([...pushed].sort((a, b) => a - b))
    // Within each drain the order is non-decreasing.
    expect(popped.slice(-150)).toEqual([...popped.slice(-150)].sort((a, b) => a - b))
  })

  it('counts an overflow instead of growing', () => {
    const q = new PacketQueue(2)
    const pkt = Buffer.alloc(10)
    expect(q.push(pkt, 10, 0, 1)).toBe(true)
    expect(q.push(pkt, 10, 0, 2)).toBe(true)
    expect(q.push(pkt, 10, 0, 3)).toBe(false)
    expect(q.overflows).toBe(1)
  })
})
