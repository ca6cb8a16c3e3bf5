import { describe, expect, it } from 'vitest'
import { CryptoDrop, DEFAULT_QUEUE_LIMIT } from '../../src/crypto/index.js'
import { MAX_HANDSHAKE_ATTEMPTS } from '../../src/crypto/secure-endpoint.js'
import { MSG_HANDSHAKE_INIT, MSG_TRANSPORT, OFF_TYPE, TRANSPORT_OVERHEAD } from '../../src/wire/outer.js'
import { Net, payload, type Datagram } from './harness.js'

const isType = (d: Datagram, type: number): boolean => d.data[OFF_TYPE] === type

/** A net with a session up between 0 and 1 and the wire log cleared. */
function connected(opts: ConstructorParameters<typeof Net>[1] = {}): Net {
  const net = new Net(2, opts)
  net.send(0, 1, payload('warmup'))
  net.run(50, 1)
  net.send(1, 0, payload('warmup'))
  net.run(50, 1)
  net.wire.length = 0
  net.deliveries.length = 0
  return net
}

/** Sends one packet 0 -> 1 with delivery held back; returns the datagram. */
function capture(net: Net, text: string): Datagram {
  const keep = net.filter
  net.filter = () => null
  net.send(0, 1, payload(text))
  net.filter = keep
  return net.wire.at(-1) as Datagram
}

describe('transport packets', () => {
  it('lays out header, counter and tag as src/wire/outer.ts says', () => {
    const net = connected()
    const a = capture(net, 'abc')
    const b = capture(net, 'abcd')
    expect(a.data[0]).toBe(1)
    expect(a.data[1]).toBe(MSG_TRANSPORT)
    expect(a.data.readUInt16BE(2)).toBe(0)
    expect(a.data.length).toBe(3 + TRANSPORT_OVERHEAD)
    expect(b.data.readUInt32BE(4)).toBe(a.data.readUInt32BE(4))
    const counterA = a.data.readUInt32BE(8) * 2 ** 32 + a.data.readUInt32BE(12)
    expect(b.data.readUInt32BE(8) * 2 ** 32 + b.data.readUInt32BE(12)).toBe(counterA + 1)
  })

  it('opens datagrams that arrive in one reused receive buffer (as the batched socket delivers them), and fails a tampered one there', () => {
    const net = connected()
    const slot = Buffer.alloc(2048)
    const texts = ['first', 'a longer second one', 'x', 'fourth at a new length', 'first again']
    const sealed = texts.map((t) => capture(net, t))
    // Every datagram is copied to the start of the same buffer and handed over as a view of its length.
    const inSlot = (d: Datagram, data = d.data): Datagram => {
      data.copy(slot, 0)
      return { ...d, data: slot.subarray(0, data.length) }
    }
    for (let i = 0; i < 3; i++) {
      expect(net.deliver(inSlot(sealed[i]))).toBe(texts[i].length)
      expect(net.nodes[1].plaintext().subarray(0, texts[i].length).toString()).toBe(texts[i])
    }
    // The views are cached by now: a flipped tag bit in the reused buffer still fails, and the window does not move.
    const bad = Buffer.from(sealed[3].data)
    bad[bad.length - 1] ^= 1
    expect(net.deliver(inSlot(sealed[3], bad))).toBe(CryptoDrop.AuthFailed)
    expect(net.deliver(inSlot(sealed[3]))).toBe(texts[3].length)
    expect(net.nodes[1].plaintext().subarray(0, texts[3].length).toString()).toBe(texts[3])
    // A fresh Buffer per datagram (node:dgram) opens the same way.
    expect(net.deliver({ ...sealed[4], data: Buffer.from(sealed[4].data) })).toBe(texts[4].length)
    expect(net.deliver(inSlot(sealed[4]))).toBe(CryptoDrop.Replay)
  })

  it('fails on a flipped bit anywhere in the packet, header or body', () => {
    const net = connected()
    const d = capture(net, 'the quick brown fox')
    const accepted = [CryptoDrop.AuthFailed, CryptoDrop.Malformed, CryptoDrop.BadVersion, CryptoDrop.UnknownReceiver, CryptoDrop.Expired, CryptoDrop.HandshakeInvalid, CryptoDrop.Replay]
    for (let bit = 0; bit < d.data.length * 8; bit++) {
      const bad = Buffer.from(d.data)
      bad[bit >> 3] ^= 1 << (bit & 7)
      const r = net.deliver({ ...d, data: bad })
      expect({ bit, ok: r < 0 && accepted.includes(r), r }).toMatchObject({ bit, ok: true })
      // Tag and ciphertext bits reach the tag check and fail it. (A counter bit
      // may instead name an already-seen counter and be dropped as a replay.)
      if (bit >= 16 * 8) expect({ bit, r }).toEqual({ bit, r: CryptoDrop.AuthFailed })
    }
    // Nothing was delivered, and the untouched packet still is (the window was not moved).
    expect(net.deliveries.every((x) => x.plain === null)).toBe(true)
    expect(net.deliver(d)).toBe(19)
    expect(net.nodes[1].plaintext().subarray(0, 19).toString()).toBe('the quick brown fox')
  })

  it('drops a duplicate', () => {
    const net = connected()
    const d = capture(net, 'once')
    expect(net.deliver(d)).toBe(4)
    expect(net.deliver(d)).toBe(CryptoDrop.Replay)
    expect(net.nodes[1].stats().peers[0].drops.replay).toBe(1)
  })

  it('accepts packets reordered within the window', () => {
    const net = connected()
    const ds = Array.from({ length: 100 }, (_, i) => capture(net, `p${i}`))
    for (const d of [...ds].reverse()) expect(net.deliver(d)).toBeGreaterThan(0)
    expect(net.received(1, 0)).toHaveLength(100)
  })

  it('reports WrongPeer for a packet sealed for another peer’s session', () => {
    const net = new Net(3)
    net.send(0, 1, payload('x'))
    net.send(2, 1, payload('y'))
    net.run(50, 1)
    net.filter = () => null
    net.send(0, 1, payload('from 0'))
    const d = net.wire.at(-1) as Datagram
    expect(net.deliver({ ...d, from: 2 })).toBe(CryptoDrop.WrongPeer)
    expect(net.deliver(d)).toBe(6)
  })

  it('refuses packets on keys past the reject age', () => {
    const net = connected()
    const d = capture(net, 'late')
    net.clock.advance(180_001) // no tick: the keypair is still indexed
    expect(net.deliver(d)).toBe(CryptoDrop.Expired)
    expect(net.nodes[1].stats().peers[0].drops.expired).toBe(1)
  })

  it('returns the same preallocated plaintext buffer every time', () => {
    const net = connected()
    const buf = net.nodes[1].plaintext()
    net.deliver(capture(net, 'one'))
    net.deliver(capture(net, 'two'))
    expect(net.nodes[1].plaintext()).toBe(buf)
  })

  it('queues packets sent before the session, bounded, and flushes them in order', () => {
    const net = new Net(2)
    const sent: boolean[] = []
    for (let i = 0; i < DEFAULT_QUEUE_LIMIT + 44; i++) sent.push(net.send(0, 1, payload(`q${i}`)))
    expect(sent.filter(Boolean)).toHaveLength(DEFAULT_QUEUE_LIMIT)
    expect(net.nodes[0].stats().peers[0].queued).toBe(DEFAULT_QUEUE_LIMIT)
    expect(net.nodes[0].stats().peers[0].queueDrops).toBe(44)
    expect(net.wire.filter((d) => isType(d, MSG_HANDSHAKE_INIT))).toHaveLength(1)
    net.run(50, 1)
    expect(net.received(1, 0).map(String)).toEqual(Array.from({ length: DEFAULT_QUEUE_LIMIT }, (_, i) => `q${i}`))
  })

  it('retries an unanswered initiation with jitter, gives up, and starts again on the next send', () => {
    const net = new Net(2)
    net.filter = () => null
    net.send(0, 1, payload('lost'))
    net.run(30_000, 100)
    const inits = net.wire.filter((d) => isType(d, MSG_HANDSHAKE_INIT))
    expect(inits).toHaveLength(MAX_HANDSHAKE_ATTEMPTS)
    const st = net.nodes[0].stats().peers[0]
    expect(st.handshakeTimeouts).toBe(1)
    expect(st.queued).toBe(0)
    expect(st.handshakeInProgress).toBe(false)
    net.filter = (d) => d
    net.send(0, 1, payload('later'))
    net.run(50, 1)
    expect(net.received(1, 0).map(String)).toEqual(['later'])
  })

  it('sends a keepalive so the responder can switch when the initiator has nothing queued', () => {
    const net = connected({ endpoint: { rekeyAfterMs: 5_000 } })
    // Idle: the initiator (node 0) rekeys on age from tick, with no data queued.
    net.run(5_200, 100)
    const keepalives = net.deliveries.filter((d) => d.type === MSG_TRANSPORT && d.result === 0)
    expect(keepalives.length).toBeGreaterThanOrEqual(1)
    expect(net.nodes[1].stats().peers[0].sessionAgeMs).toBeLessThan(1_000)
  })
})
