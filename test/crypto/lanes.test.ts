import { describe, expect, it } from 'vitest'
import { CryptoDrop, LaneEndpoint, type KeypairSnapshot, type LiveKeys, type PeerKeys } from '../../src/crypto/index.js'
import { DEFAULT_REJECT_AFTER_MS, LIVE_KEY_MARGIN_MS } from '../../src/crypto/secure-endpoint.js'
import { MAX_LANES, OFF_COUNTER, OFF_LANE } from '../../src/wire/outer.js'
import { Net, payload, type Datagram } from './harness.js'

/**
 * Node 0 and node 1 with a session; node 1 also has a second worker whose
 * LaneEndpoint gets node 1's keys, as the multi-worker daemon wires it.
 */
function twoWorkers(): { net: Net; lane: LaneEndpoint; laneOut: Buffer[]; confirms: number[] } {
  const laneOut: Buffer[] = []
  const confirms: number[] = []
  const keysOf1: PeerKeys[] = []
  let lane: LaneEndpoint | undefined
  const net = new Net(2, {
    onKeys: (node, peer, keys) => {
      if (node !== 1) return
      keysOf1.push(keys)
      lane?.install(peer, keys)
    },
  })
  lane = new LaneEndpoint({
    peerCount: 2,
    transmit: (_peer, data, length) => laneOut.push(Buffer.from(data.subarray(0, length))),
    onConfirm: (peer, localIndex) => {
      confirms.push(localIndex)
      net.nodes[1].confirm(peer, localIndex, net.clock.nowMs())
    },
  })
  for (const k of keysOf1) lane.install(0, k)
  net.send(0, 1, payload('warmup'))
  net.run(50, 1)
  net.send(1, 0, payload('warmup'))
  net.run(50, 1)
  net.wire.length = 0
  return { net, lane, laneOut, confirms }
}

function held(net: Net, send: () => void): Datagram {
  const keep = net.filter
  net.filter = () => null
  send()
  net.filter = keep
  return net.wire.at(-1) as Datagram
}

const laneOf = (d: Buffer): number => d.readUInt16BE(OFF_COUNTER)
const counterOf = (d: Buffer): number => (d.readUInt32BE(OFF_COUNTER) & 0xffff) * 2 ** 32 + d.readUInt32BE(OFF_COUNTER + 4)

describe('lanes', () => {
  it('writes the lane in the counter top bits, in the byte the kernel steers by, with a counter per lane', () => {
    const { net } = twoWorkers()
    const a = held(net, () => net.send(0, 1, payload('a'), 3))
    const b = held(net, () => net.send(0, 1, payload('b'), 0))
    const c = held(net, () => net.send(0, 1, payload('c'), 3))
    expect([laneOf(a.data), a.data[OFF_LANE], laneOf(b.data), laneOf(c.data)]).toEqual([3, 3, 0, 3])
    expect(counterOf(c.data)).toBe(counterOf(a.data) + 1)
    expect(counterOf(a.data)).toBe(0)
  })

  it("opens another worker's lane with the keys worker 0 handed over, and reports the lane", () => {
    const { net, lane } = twoWorkers()
    const d = held(net, () => net.send(0, 1, payload('to worker 1'), 1))
    const n = lane.receive(0, net.clock.nowMs(), d.data, d.data.length)
    expect(lane.plaintext().subarray(0, n).toString()).toBe('to worker 1')
    expect(lane.receivedLane).toBe(1)
  })

  it('keeps one replay window per lane: far-apart lanes both pass, a replay on a lane does not', () => {
    const { net } = twoWorkers()
    for (let i = 0; i < 20_000; i++) net.nodes[0].send(1, net.clock.nowMs(), payload('x'), 1, 0)
    const onLane2 = held(net, () => net.send(0, 1, payload('lane 2'), 2))
    const onLane0 = held(net, () => net.send(0, 1, payload('lane 0'), 0))
    expect(net.deliver(onLane2)).toBe(6)
    expect(net.deliver(onLane0)).toBe(6)
    expect(net.deliver(onLane2)).toBe(CryptoDrop.Replay)
  })

  it("seals a worker's lane so worker 0 of the peer opens it, never reusing worker 0's nonces", () => {
    const { net, lane, laneOut } = twoWorkers()
    const nonces = new Set<string>()
    for (let i = 0; i < 5; i++) {
      expect(lane.send(0, net.clock.nowMs(), payload(`w1 ${i}`), 4, 1)).toBe(true)
      net.send(1, 0, payload(`w0 ${i}`))
    }
    const fromMain = net.wire.filter((d) => d.from === 1).map((d) => d.data)
    for (const d of [...laneOut, ...fromMain]) nonces.add(d.subarray(0, 16).toString('hex'))
    expect(nonces.size).toBe(10)
    for (const d of laneOut) expect(net.nodes[0].receive(1, net.clock.nowMs(), d, d.length)).toBe(4)
    expect(net.nodes[0].receivedLane).toBe(1)
  })

  it('reports a first packet on an unconfirmed keypair so worker 0 switches sending to it', () => {
    const { net, lane, confirms } = twoWorkers()
    // Node 0 rekeys on age; node 1 answers and holds the new keypair as `next`
    // until node 0 uses it. Node 0's first packet on it is held back from
    // node 1's worker 0 and handed to the other worker instead.
    let answered = false
    let firstOnNew: Datagram | undefined
    net.filter = (d) => {
      if (d.from === 1 && d.data[1] === 2) answered = true
      if (d.from === 0 && d.data[1] === 3 && answered && firstOnNew === undefined) {
        firstOnNew = d
        return null
      }
      return d
    }
    net.run(125_000, 100)
    expect(firstOnNew).toBeDefined()
    const sendingBefore = net.nodes[1].stats().peers[0].sessionsUp
    expect(lane.receive(0, net.clock.nowMs(), firstOnNew!.data, firstOnNew!.data.length)).toBe(0)
    expect(confirms).toHaveLength(1)
    expect(net.nodes[1].stats().peers[0].sessionsUp).toBe(sendingBefore + 1)
    expect(lane.hasSession(0)).toBe(true)
  })

  it('drops and counts, without a handshake, when it has no keys; handshakes are not its business', () => {
    const lane = new LaneEndpoint({ peerCount: 1, transmit: () => {} })
    expect(lane.send(0, 0, payload('x'), 1, 1)).toBe(false)
    const init = Buffer.alloc(128)
    init[0] = 1
    init[1] = 1
    expect(lane.receive(0, 0, init, init.length)).toBe(CryptoDrop.Malformed)
    expect(lane.stats().total).toMatchObject({ queueDrops: 1, drops: { malformed: 1 } })
  })

  it('refuses a lane beyond MAX_LANES on send and on receive', () => {
    const { net } = twoWorkers()
    expect(net.send(0, 1, payload('x'), MAX_LANES)).toBe(false)
    const d = held(net, () => net.send(0, 1, payload('x'), 1))
    const bad = Buffer.from(d.data)
    bad.writeUInt16BE(MAX_LANES, OFF_COUNTER)
    expect(net.deliver({ ...d, data: bad })).toBe(CryptoDrop.Malformed)
  })

  it("hands a worker's native transit table its live keypairs: current and previous to receive, current to send, never next", () => {
    const live: LiveKeys[] = []
    const lane = new LaneEndpoint({ peerCount: 1, transmit: () => {}, onLiveKeys: (_peer, keys) => live.push(keys), rekeyAfterPackets: 99 })
    const snap = (localIndex: number, createdMs: number): KeypairSnapshot => ({
      localIndex, remoteIndex: localIndex + 100, sendKey: new Uint8Array(32).fill(localIndex), receiveKey: new Uint8Array(32).fill(localIndex + 1), isInitiator: true, createdMs,
    })
    lane.install(0, { current: snap(1, 5_000), next: snap(2, 6_000), previous: [snap(3, 1_000)] })
    const first = live.at(-1)!
    expect(first.receive.map((r) => r.kp.localIndex).sort()).toEqual([1, 3])
    expect(first.receive.find((r) => r.kp.localIndex === 3)!.untilMs).toBe(1_000 + DEFAULT_REJECT_AFTER_MS - LIVE_KEY_MARGIN_MS)
    expect(first.send?.kp.localIndex).toBe(1)
    expect(first.send?.untilMs).toBe(5_000 + DEFAULT_REJECT_AFTER_MS - LIVE_KEY_MARGIN_MS)
    expect(first.rekeyAfterPackets).toBe(99)
    // The previous keypair expires here: the table is told at once, not only when worker 0's word comes.
    lane.tick(1_000 + DEFAULT_REJECT_AFTER_MS)
    expect(live.at(-1)!.receive.map((r) => r.kp.localIndex)).toEqual([1])
    lane.install(0, { current: null, next: null, previous: [] })
    expect(live.at(-1)).toMatchObject({ receive: [], send: null })
  })

  it('counts what the native transit table forwarded in its peer counters', () => {
    const lane = new LaneEndpoint({ peerCount: 1, transmit: () => {} })
    lane.addTransitCounts(0, 3, 2)
    expect(lane.stats().peers[0]).toMatchObject({ rxPackets: 3, txPackets: 2 })
  })
})
