/**
 * Handshake floods (issue 14, point 4), performed against the endpoint:
 * an attacker who knows a relay's public key (it is in every peer's config)
 * can compute mac1, and can spoof a peer's source address, but cannot read
 * what is sent to that address and does not hold any relay's private key.
 */
import { describe, expect, it } from 'vitest'
import { CryptoDrop, INIT_LEN, RESP_LEN, sodiumDh, tweetnaclDh, type Dh } from '../../src/crypto/index.js'
import { INIT_OFF_MAC1, INIT_OFF_MAC2, RESP_OFF_MAC1, RESP_OFF_RECEIVER } from '../../src/crypto/handshake.js'
import { PREAUTH_DH_BURST, PREAUTH_DH_PER_SECOND } from '../../src/crypto/handshake-load.js'
import { hash, mac1 } from '../../src/crypto/kdf.js'
import { MSG_HANDSHAKE_INIT, MSG_HANDSHAKE_RESP, OFF_TYPE } from '../../src/wire/outer.js'
import { Net, payload, seededBytes, type Datagram } from './harness.js'

const isType = (d: Datagram, type: number): boolean => d.data[OFF_TYPE] === type

/** X25519 that counts its scalar multiplications with a peer's key (the expensive, attacker-inducible ones). */
function countingDh(): { dh: Dh; count: () => number } {
  const inner = sodiumDh() ?? tweetnaclDh
  let n = 0
  return {
    dh: { name: inner.name, publicFromPrivate: (p) => inner.publicFromPrivate(p), shared: (a, b) => (n++, inner.shared(a, b)) },
    count: () => n,
  }
}

function remac(msg: Buffer, macOff: number, recipientPublic: Uint8Array): void {
  mac1(hash(Buffer.from('mac1----', 'ascii'), recipientPublic), msg, macOff).copy(msg, macOff)
}

/** Random fields, the right header and a valid mac1: all an attacker without a private key can build. */
function forgedInitiation(rand: (n: number) => Uint8Array, responderPublic: Uint8Array): Buffer {
  const msg = Buffer.from(rand(INIT_LEN))
  msg[0] = 1
  msg[OFF_TYPE] = MSG_HANDSHAKE_INIT
  msg[2] = msg[3] = 0
  remac(msg, INIT_OFF_MAC1, responderPublic)
  return msg
}

function forgedResponse(rand: (n: number) => Uint8Array, receiverIndex: number, initiatorPublic: Uint8Array): Buffer {
  const msg = Buffer.from(rand(RESP_LEN))
  msg[0] = 1
  msg[OFF_TYPE] = MSG_HANDSHAKE_RESP
  msg[2] = msg[3] = 0
  msg.writeUInt32BE(receiverIndex, RESP_OFF_RECEIVER)
  remac(msg, RESP_OFF_MAC1, initiatorPublic)
  return msg
}

/**
 * Node 0 wants a session with node 1 while `perSecond` forged initiations
 * "from node 0's address" reach node 1, spread evenly (a batch every 5 ms),
 * for `floodMs` (or, if 0, until the session is up; 3 s at most). Returns
 * when node 0's session came up (ms after the first send) and how many
 * forgeries were sent.
 */
function handshakeUnderFlood(net: Net, perSecond: number, floodMs = 0): { tookMs: number | undefined; forged: number } {
  const rand = seededBytes(99)
  const perBatch = Math.max(1, Math.round(perSecond / 200))
  let forged = 0
  const flood = (): void => {
    for (let i = 0; i < perBatch; i++, forged++) net.deliver({ from: 0, to: 1, data: forgedInitiation(rand, net.keys[1].publicKey) })
  }
  const start = net.clock.nowMs()
  for (let i = 0; i < 20; i++) flood()
  net.send(0, 1, payload('hello'))
  const done = (): boolean => (floodMs > 0 ? net.clock.nowMs() - start >= floodMs : net.nodes[0].hasSession(1))
  for (let step = 0; step < 600 && !done(); step++) {
    flood()
    net.run(5, 5)
  }
  const up = net.sessionUps.find((u) => u.node === 0 && u.peer === 1)
  return { tookMs: up === undefined ? undefined : up.atMs - start, forged }
}

describe('handshake floods', () => {
  it('spoofed initiations from a peer’s address do not starve its real handshake', () => {
    const net = new Net(2)
    const { tookMs } = handshakeUnderFlood(net, 500)
    expect(tookMs).toBeDefined()
    expect(tookMs!).toBeLessThan(1000)
    net.run(50, 5)
    expect(net.received(1, 0)).toEqual([payload('hello')])
    // The forgeries failed authentication; none of them spent the peer's handshake tokens.
    expect(net.nodes[1].stats().peers[0].drops.handshake_rate_limited).toBe(0)
  })

  it('under a heavy spoofed flood the real peer completes through a cookie round trip, and DH work stays bounded', () => {
    const dh = countingDh()
    const net = new Net(2, { endpoint: { dh: dh.dh } })
    const before = dh.count()
    const { tookMs, forged } = handshakeUnderFlood(net, 10_000, 1_000)
    expect(tookMs).toBeDefined()
    expect(tookMs!).toBeLessThan(1000)
    const cookieReplies = net.wire.filter((d) => d.from === 1 && d.data[OFF_TYPE] === 4)
    expect(cookieReplies.length).toBeGreaterThan(0)
    for (const c of cookieReplies) expect(c.data.length).toBeLessThanOrEqual(INIT_LEN)
    const st = net.nodes[1].stats().total
    expect(st.cookieRepliesSent).toBe(cookieReplies.length)
    expect(st.drops.handshake_under_load).toBeGreaterThan(0)
    // The real peer got through by the cookie round trip: its last initiation carries a mac2...
    const own = net.wire.filter((d) => d.from === 0 && isType(d, MSG_HANDSHAKE_INIT))
    expect(own.at(-1)!.data.subarray(INIT_OFF_MAC2).equals(Buffer.alloc(16))).toBe(false)
    // ...and the cookie replies the forgeries drew to its address opened for nothing.
    expect(net.nodes[0].stats().total.drops.cookie_invalid).toBeGreaterThan(0)
    // 10,000 forgeries in a second, yet no more DH work (both nodes counted, the real handshake
    // included) than one second of the pre-authentication budget.
    expect(forged).toBeGreaterThanOrEqual(10_000)
    expect(dh.count() - before).toBeLessThanOrEqual(PREAUTH_DH_BURST + PREAUTH_DH_PER_SECOND)
  })

  it('forged responses to a pending initiation cost no Diffie-Hellman beyond the first', () => {
    const dh = countingDh()
    const net = new Net(2, { endpoint: { dh: dh.dh } })
    net.filter = (d) => (isType(d, MSG_HANDSHAKE_INIT) ? null : d) // the responder never answers
    net.send(0, 1, payload('x'))
    net.run(10, 1)
    const init = net.wire.find((d) => isType(d, MSG_HANDSHAKE_INIT)) as Datagram
    const index = init.data.readUInt32BE(4)
    const rand = seededBytes(5)
    const before = dh.count()
    const results = new Set<number>()
    for (let i = 0; i < 100; i++) results.add(net.deliver({ from: 1, to: 0, data: forgedResponse(rand, index, net.keys[0].publicKey) }))
    expect(dh.count() - before).toBeLessThanOrEqual(2)
    expect([...results].every((r) => r < 0 && r !== CryptoDrop.HandshakeConsumed)).toBe(true)
    // The initiation is spent, not lost: the retry (with a fresh index) completes once the network is honest.
    net.filter = (d) => d
    net.run(2_000, 10)
    expect(net.nodes[0].hasSession(1)).toBe(true)
    expect(net.received(1, 0)).toEqual([payload('x')])
  })
})
