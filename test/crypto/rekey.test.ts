import { describe, expect, it } from 'vitest'
import { CryptoDrop } from '../../src/crypto/index.js'
import { MSG_HANDSHAKE_INIT, MSG_TRANSPORT, OFF_TYPE } from '../../src/wire/outer.js'
import { Net } from './harness.js'

interface FlowResult {
  net: Net
  inits: number
  sessionUps: number
}

/**
 * Both nodes send numbered packets every millisecond for `durationMs` while
 * the network delays each datagram 5-9 ms (so packets are in flight both ways
 * and reorder). Returns after everything in flight has landed.
 */
function flow(durationMs: number, perMs: number, opts: ConstructorParameters<typeof Net>[1]): FlowResult {
  const net = new Net(2, { latencyMs: 5, jitterMs: 4, ...opts })
  let seq = 0
  for (let t = 0; t < durationMs; t++) {
    for (let k = 0; k < perMs; k++) {
      const s = seq++
      const a = Buffer.alloc(8)
      a.writeUInt32BE(0xa, 0)
      a.writeUInt32BE(s, 4)
      expect(net.send(0, 1, a)).toBe(true)
      const b = Buffer.alloc(8)
      b.writeUInt32BE(0xb, 0)
      b.writeUInt32BE(s, 4)
      expect(net.send(1, 0, b)).toBe(true)
    }
    net.clock.advance(1)
    if (t % 100 === 0) for (const n of net.nodes) n.tick(net.clock.nowMs())
  }
  net.run(100, 10)
  const refused = net.deliveries.filter((d) => d.type === MSG_TRANSPORT && d.result < 0)
  expect(refused).toEqual([])
  const inits = net.wire.filter((d) => d.data[OFF_TYPE] === MSG_HANDSHAKE_INIT).length
  return { net, inits, sessionUps: net.sessionUps.length }
}

/** Every sequence number exactly once, from the right sender. */
function expectExactlyOnce(net: Net, to: number, from: number, tag: number, count: number): void {
  const got = net.received(to, from).map((p) => {
    expect(p.readUInt32BE(0)).toBe(tag)
    return p.readUInt32BE(4)
  })
  expect(got).toHaveLength(count)
  expect(new Set(got).size).toBe(count)
  expect(Math.min(...got)).toBe(0)
  expect(Math.max(...got)).toBe(count - 1)
}

describe('rekey under load', () => {
  it('loses nothing and duplicates nothing across packet-count rekeys', () => {
    const { net, inits } = flow(3_000, 2, { endpoint: { rekeyAfterPackets: 500 } })
    // 6000 packets each way at 500 per keypair: many rekeys happened.
    expect(inits).toBeGreaterThanOrEqual(10)
    expectExactlyOnce(net, 1, 0, 0xa, 6_000)
    expectExactlyOnce(net, 0, 1, 0xb, 6_000)
    // No transport packet was refused. (A response to an initiation its sender
    // abandoned in a simultaneous rekey may be, harmlessly.)
    const refused = net.deliveries.filter((d) => d.type === MSG_TRANSPORT && d.result < 0)
    expect(refused).toEqual([])
  })

  it('loses nothing across age rekeys driven by the clock', () => {
    const { net, inits } = flow(12_000, 1, { endpoint: { rekeyAfterMs: 1_000 } })
    expect(inits).toBeGreaterThanOrEqual(8)
    expectExactlyOnce(net, 1, 0, 0xa, 12_000)
    expectExactlyOnce(net, 0, 1, 0xb, 12_000)
  })

  it('loses nothing with both sides rekeying at once on packet count, across seeds', () => {
    for (let seed = 1; seed <= 4; seed++) {
      // Symmetric traffic: both sides cross rekeyAfterPackets together and initiate simultaneously.
      const { net } = flow(1_000, 3, { seed, endpoint: { rekeyAfterPackets: 300 } })
      expectExactlyOnce(net, 1, 0, 0xa, 3_000)
      expectExactlyOnce(net, 0, 1, 0xb, 3_000)
      expect(net.nodes[0].stats().total.simultaneousInitiations + net.nodes[1].stats().total.simultaneousInitiations).toBeGreaterThan(0)
    }
  })

  it('keeps working after many reject ages: expired keys are replaced, not reused', () => {
    const net = new Net(2, { endpoint: { rekeyAfterMs: 2_000, rejectAfterMs: 3_000 } })
    let n = 0
    for (let i = 0; i < 40; i++) {
      const p = Buffer.alloc(4)
      p.writeUInt32BE(n++, 0)
      net.send(0, 1, p)
      net.run(500, 100)
    }
    expect(net.received(1, 0)).toHaveLength(40)
    expect(net.nodes[0].stats().total.drops.expired).toBe(0)
  })
})
