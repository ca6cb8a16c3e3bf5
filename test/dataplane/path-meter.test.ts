/** Per-path counters behind path reports (dataplane/path-meter.ts): what the exit reports, from what the ingress sent. */
import { describe, expect, it } from 'vitest'
import { PathMeter, MAX_RECEIVE_SLOTS, PATH_SLOT_IDLE_MS } from '../../src/dataplane/path-meter.js'
import { DataHeader, decodeDataHeader, encodeDataHeader } from '../../src/wire/data.js'
import { NO_DIFF, pathKey } from '../../src/wire/path-report.js'

const A = 0xa, B = 0xb, E = 0xe
const path = Uint32Array.of(A, B, E)

/** The ingress meter stamps and counts a packet sent at sentMs; the exit meter receives it at rxMs. */
function carry(ingress: PathMeter, exit: PathMeter, nodes: Uint32Array, sentMs: number, rxMs: number): void {
  const b = Buffer.alloc(64)
  const len = encodeDataHeader(b, 0, 8, 1, 2, 3, nodes, nodes.length)
  ingress.onSend(b, nodes, sentMs)
  const h = new DataHeader()
  expect(decodeDataHeader(b, len, h)).toBe(len)
  exit.onArrival(h, true, rxMs)
}

describe('path meter', () => {
  it('counts sent packets per path and reports received counts with the min and mean pseudo delay', () => {
    const ingress = new PathMeter()
    const exit = new PathMeter()
    // The exit's clock is an hour ahead: the reported delays are pseudo delays (offset included).
    for (let i = 0; i < 10; i++) carry(ingress, exit, path, 1000 + i * 20, 3_601_000 + i * 20 + 30 + (i % 2) * 10)
    const slots = [...ingress.sendSlots()]
    expect(slots).toHaveLength(1)
    expect([slots[0].sent, slots[0].key]).toEqual([10, pathKey(path, 3)])
    const [e] = exit.takeEntries(A, 16)
    expect([e.pathKey, e.received, e.samples]).toEqual([pathKey(path, 3), 10, 10])
    const pseudoMin = Math.round(3_600_030 * 100) % 0x1000000
    expect(e.minDiff).toBe(pseudoMin)
    expect(e.meanDiff).toBe((pseudoMin + 500) % 0x1000000)
    // A new interval: the count stays, the delay samples start again.
    const [again] = exit.takeEntries(A, 16)
    expect([again.received, again.samples, again.minDiff, again.meanDiff]).toEqual([10, 0, NO_DIFF, NO_DIFF])
    expect(exit.takeEntries(B, 16)).toEqual([])
  })

  it('allocates no slot per packet: one per path, found by the snapshot array or the path key', () => {
    const ingress = new PathMeter()
    const b = Buffer.alloc(64)
    const copy = Uint32Array.from(path)
    encodeDataHeader(b, 0, 8, 1, 2, 3, path, 3)
    for (let i = 0; i < 100; i++) ingress.onSend(b, i % 2 ? path : copy, i)
    expect([...ingress.sendSlots()].map((s) => s.sent)).toEqual([100])
  })

  it('counts a reused scratch array under the path it holds at each send', () => {
    const ingress = new PathMeter()
    const b = Buffer.alloc(64)
    const scratch = Uint32Array.of(E, B, A)
    encodeDataHeader(b, 0, 8, 1, 2, 3, scratch, 3)
    ingress.onSend(b, scratch, 0)
    scratch[1] = 0xc
    ingress.onSend(b, scratch, 1)
    ingress.onSend(b, scratch, 2)
    expect([...ingress.sendSlots()].map((s) => [[...s.nodes], s.sent])).toEqual([[[E, B, A], 1], [[E, 0xc, A], 2]])
  })

  it('forgets idle paths and caps the receive slots (a peer inventing paths)', () => {
    const ingress = new PathMeter()
    const exit = new PathMeter()
    for (let i = 0; i < MAX_RECEIVE_SLOTS + 10; i++) carry(ingress, exit, Uint32Array.of(A, 100 + i, E), 0, 10)
    expect(exit.takeEntries(A, 1000)).toHaveLength(MAX_RECEIVE_SLOTS)
    expect(exit.uncounted).toBe(10)
    exit.sweep(PATH_SLOT_IDLE_MS + 11)
    ingress.sweep(PATH_SLOT_IDLE_MS + 11)
    expect(exit.takeEntries(A, 1000)).toEqual([])
    expect([...ingress.sendSlots()]).toEqual([])
  })
})
