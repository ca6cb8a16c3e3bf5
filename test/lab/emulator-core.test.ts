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

describe('emulator link events', () => {
  it('scales the delay in force by a degrade factor, on top of an earlier degrade, until restore', () => {
    const t = new LinkTable(['a', 'b'], [link('a', 'b', 10), link('b', 'a', 10)])
    t.apply({ atMs: 0, from: 'a', to: 'b', action: 'degrade', delayFactor: 3 })
    expect(t.decide(0, 1, 0)).toBe(30)
    t.apply({ atMs: 0, from: 'a', to: 'b', action: 'degrade', delayFactor: 0.5, set: { lossPct: 0 } })
    expect(t.get('a', 'b').delayMs).toBe(15)
    t.apply({ atMs: 0, from: 'a', to: 'b', action: 'restore' })
    expect(t.get('a', 'b').delayMs).toBe(10)
    expect(t.get('b', 'a').delayMs).toBe(10)
  })

  it('loses in bursts on a bursty direction: the long-run loss, in runs of the burst length (seeded)', () => {
    const t = new LinkTable(['a', 'b'], [{ ...link('a', 'b', 1, 0, 5), burstPackets: 4 }, link('b', 'a', 1, 0, 5)], seeded(4))
    const runs = (src: number, dst: number): { loss: number; meanRun: number } => {
      let lost = 0
      let count = 0
      let inRun = false
      for (let i = 0; i < 100_000; i++) {
        const drop = t.decide(src, dst, i) === DROP
        if (drop) lost++
        if (drop && !inRun) count++
        inRun = drop
      }
      return { loss: lost / 100_000, meanRun: lost / count }
    }
    const bursty = runs(0, 1)
    const independent = runs(1, 0)
    expect(bursty.loss).toBeGreaterThan(0.044)
    expect(bursty.loss).toBeLessThan(0.056)
    expect(bursty.meanRun).toBeGreaterThan(3.6)
    expect(bursty.meanRun).toBeLessThan(4.4)
    // 5% independent loss: runs of 1 / 0.95 packets.
    expect(independent.meanRun).toBeLessThan(1.1)
  })

  it('makes a direction bursty by a degrade and independent again by restore', () => {
    const t = new LinkTable(['a', 'b'], [link('a', 'b', 1), link('b', 'a', 1)], seeded(8))
    t.apply({ atMs: 0, from: 'a', to: 'b', action: 'degrade', set: { lossPct: 10, burstPackets: 10 } })
    expect(t.get('a', 'b')).toMatchObject({ lossPct: 10, burstPackets: 10 })
    t.apply({ atMs: 0, from: 'a', to: 'b', action: 'restore' })
    expect(t.get('a', 'b').burstPackets).toBeUndefined()
    for (let i = 0; i < 1000; i++) expect(t.decide(0, 1, i)).not.toBe(DROP)
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
