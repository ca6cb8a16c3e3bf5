/**
 * The native transit fast path against its oracle, the TypeScript path.
 *
 * Two transit relays "tr" are built identically (same keys, same seeded
 * randomness, same clock): one with the native table in front of its
 * socket (as native/udp.c runs it: try the table, hand JS what it declines),
 * one without. Endpoints "ing" and "ex" talk to both: every datagram they
 * send goes to both relays, and only the TypeScript relay's answers are
 * delivered back. fast-check generates the traffic: valid transit packets,
 * and every way of breaking one (truncated, bad tag, replayed, reordered,
 * unknown index, wrong source, other lanes, bad version/type/reserved,
 * every data header error, not for us, last hop, no hops left, unknown
 * next hop, path too long, keepalives, probes), with time jumps across the
 * rekey and reject limits. Both relays must send identical bytes to
 * identical addresses after every input, and end with identical drop,
 * crypto and traffic counters.
 */
import { createSocket, type Socket } from 'node:dgram'
import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { dataPlaneConfig } from '../../src/config/data-plane.js'
import { createSecureEndpoint, type SecureEndpoint } from '../../src/crypto/index.js'
import { LIVE_KEY_MARGIN_MS, RESPONDER_REKEY_DELAY_MS } from '../../src/crypto/secure-endpoint.js'
import { Relay } from '../../src/dataplane/relay.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import type { DatagramHandler, OpenedDatagramHandler, PacketSocket, PeerAddress, UdpSocketFactory } from '../../src/io/index.js'
import { silentLogger } from '../../src/io/log.js'
import { NativeTransitTable, nativeTransitUnavailable } from '../../src/io/native-transit.js'
import { NativeConnectedUdpSocket } from '../../src/io/native-udp-connected.js'
import { loadSodium } from '../../src/crypto/sodium-loader.js'
import { nameId } from '../../src/wire/ids.js'
import { describeIf, needsAvailable } from '../support/requirements.js'
import { buildConfigs } from './helpers.js'

// Initiation timestamps are kept increasing per process (crypto/timestamp.ts), so the second of
// two relays in one process would write a different one: here each endpoint's own clock decides.
vi.mock('../../src/crypto/timestamp.js', () => ({ nextHandshakeTimestamp: (wallUs: number) => Math.floor(wallUs) }))

/** Strictly increasing per endpoint, the same sequence for the two relays. */
function wallClock(clock: FakeClock): () => number {
  let n = 0
  return () => clock.nowMs() * 1000 + n++
}

const unavailable = nativeTransitUnavailable()
const REKEY_AFTER_MS = 120_000
const REJECT_AFTER_MS = 180_000

interface Sent {
  to: string
  bytes: string
}

/** A socket the test drives; with a table, it runs the table first, as native/udp.c does per datagram. */
class ScriptedSocket implements PacketSocket {
  readonly batched = true
  handler: DatagramHandler = () => {}
  opened: OpenedDatagramHandler = () => {}
  table: NativeTransitTable | null = null
  readonly sent: Sent[] = []
  private readonly out = Buffer.alloc(4096)

  constructor(readonly local: PeerAddress, private readonly clock: FakeClock, private readonly peerAddrs: PeerAddress[], sent?: Sent[]) {
    if (sent !== undefined) this.sent = sent
  }

  send(data: Buffer, offset: number, length: number, port: number, address: string): boolean {
    this.sent.push({ to: `${address}:${port}`, bytes: data.subarray(offset, offset + length).toString('hex') })
    return true
  }
  onMessage(handler: DatagramHandler): void {
    this.handler = handler
  }
  onError(): void {}
  bound(): Promise<PeerAddress> {
    return Promise.resolve(this.local)
  }
  close(): void {}
  attachTransit(transit: { table: NativeTransitTable; onOpened: OpenedDatagramHandler } | null): void {
    this.table = transit?.table ?? null
    if (transit !== null) this.opened = transit.onOpened
  }

  deliver(data: Buffer, from: PeerAddress): void {
    const copy = Buffer.from(data) // the relay and the table open in place; each relay gets its own bytes
    if (this.table !== null) {
      const r = this.table.tryForward(copy, copy.length, from.address, from.port, this.clock.nowMs(), this.out)
      if (r !== null && r.opened) {
        this.opened(copy.subarray(r.offset, r.offset + r.length), r.slot)
        return
      }
      // Delivered to an exit flow's origin socket (a real one: see RealOrigin).
      if (r !== null && r.delivered) return
      if (r !== null) {
        const to = this.peerAddrs[r.slot]
        this.send(this.out, 0, r.length, to.port, to.address)
        return
      }
      // Declined: the bytes JS gets must be the ones that arrived.
      expect(copy.equals(data)).toBe(true)
    }
    this.handler(copy, from)
  }
}

/**
 * An exit flow's origin socket on the native side: a real connected native
 * socket (the table's native delivery sends on it), whose datagrams go to
 * the world's loopback receiver instead of the configured origin.
 */
class RealOrigin implements PacketSocket {
  constructor(private readonly inner: NativeConnectedUdpSocket, private readonly to: PeerAddress) {}
  send(data: Buffer, offset: number, length: number): boolean {
    return this.inner.send(data, offset, length, this.to.port, this.to.address)
  }
  nativeHandle(): object | undefined {
    return this.inner.nativeHandle()
  }
  onMessage(handler: DatagramHandler): void {
    this.inner.onMessage(handler)
  }
  onError(handler: (err: Error) => void): void {
    this.inner.onError(handler)
  }
  bound(): Promise<PeerAddress> {
    return this.inner.bound()
  }
  close(): void {
    this.inner.close()
  }
}

/** splitmix32: the same seed gives both relays the same "random" indexes and ephemeral keys. */
function seededBytes(seed: number): (n: number) => Uint8Array {
  let s = seed >>> 0
  return (n) => {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) {
      s = (s + 0x9e3779b9) >>> 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      out[i] = (z ^ (z >>> 16)) & 0xff
    }
    return out
  }
}

/** A rekey after this many packets is reached in a test (the default, 2^40, never is). */
const SMALL_REKEY_PACKETS = 12
// A second service delivers with a PROXY v2 header: its flows stay with JS (the header is built there).
const spec = {
  relays: ['ing', 'tr', 'ex'],
  services: [
    { ingress: [{ relay: 'ing', listen: { host: '127.0.0.1', port: 27015 } }], exits: ['ex'] },
    { name: 'proxied', delivery: 'proxy-protocol' as const, ingress: [{ relay: 'ing', listen: { host: '127.0.0.1', port: 27016 } }], exits: ['ex'] },
  ],
  basePort: 7300,
}
const baseConfigs = buildConfigs(spec)
const smallRekeyConfigs = buildConfigs({ ...spec, rekeyAfterPackets: SMALL_REKEY_PACKETS })
const addrOf = (id: string): PeerAddress => ({ address: '127.0.0.1', port: baseConfigs.get(id)!.relay.listen.port })
const NODE = { ing: nameId('ing'), tr: nameId('tr'), ex: nameId('ex'), stranger: nameId('stranger') }
const SERVICE = nameId('game')
const PROXIED = nameId('proxied')

/**
 * The relay both sides are: the transit ("tr", between the ends ing and ex);
 * the exit ("ex", where traffic from the ends tr and ing ends: local delivery
 * to the service's origin, whose sends are compared too); or the ingress
 * ("ing", where replies from tr and ex end: local delivery to the clients of
 * the flows CLIENTS opened, compared too).
 */
type Under = 'tr' | 'ex' | 'ing'
const ENDS: Record<Under, readonly [string, string]> = { tr: ['ing', 'ex'], ex: ['tr', 'ing'], ing: ['tr', 'ex'] }
/** Clients of the ingress world, each opening a flow (ids 1, 2, ... on a single worker). */
const CLIENTS: PeerAddress[] = [{ address: '127.0.0.1', port: 40001 }, { address: '127.0.0.1', port: 40002 }]

interface Side {
  relay: Relay
  socket: ScriptedSocket
  /** The sockets the relay opened through `udp.open` (service listeners), sharing socket.sent. */
  opened: ScriptedSocket[]
  /**
   * The exit's origin sockets (udp.openConnected), one per flow in creation order: scripted ones
   * (each with its own log) on the TypeScript side, real ones sending to `receiver` on the native side.
   */
  origins: (ScriptedSocket | RealOrigin)[]
}

interface World {
  clock: FakeClock
  ts: Side
  native: Side
  /** The two relays talking to the one under test (ENDS), by id. */
  ends: Record<string, SecureEndpoint>
  under: Under
  /** Datagrams the ends sent (to tr), waiting to be delivered to both relays. */
  inbox: { data: Buffer; from: PeerAddress }[]
  /** The lane of the relays' worker (its table's lane); the ends send on it unless an op says otherwise. */
  lane: number
  /** Where the native side's origin sockets send (loopback), and what it got: source port and bytes. */
  receiver: { socket: Socket; address: PeerAddress; got: { port: number; bytes: string }[] }
  stop(): void
}

/** `worker`: the relays are this worker of a multi-worker relay (their tables work on its lane). */
async function buildWorld(seed: number, smallRekey = false, worker = { index: 0, count: 1 }, under: Under = 'tr'): Promise<World> {
  const clock = new FakeClock(10_000)
  const configs = smallRekey ? smallRekeyConfigs : baseConfigs
  const tr = configs.get(under)!
  const peerAddrs = tr.peers.map((p) => ({ address: p.endpoint.host, port: p.endpoint.port }))
  const rx = createSocket('udp4')
  const receiver: World['receiver'] = { socket: rx, address: { address: '127.0.0.1', port: 0 }, got: [] }
  rx.on('message', (msg, rinfo) => receiver.got.push({ port: rinfo.port, bytes: msg.toString('hex') }))
  await new Promise<void>((resolve) => rx.bind(0, '127.0.0.1', resolve))
  receiver.address.port = rx.address().port
  const side = async (nativeTransit: boolean): Promise<Side> => {
    const socket = new ScriptedSocket(addrOf(under), clock, peerAddrs)
    // Service listeners (the ingress world): what they send to clients goes into the same log as the overlay's.
    const opened: ScriptedSocket[] = []
    const origins: Side['origins'] = []
    const udp: UdpSocketFactory = {
      open: (host, port) => (opened.push(new ScriptedSocket({ address: host, port }, clock, [], socket.sent)), opened[opened.length - 1]),
      // The exit's origin sockets: real ones on the native side, which the table's native delivery sends on.
      openConnected: (host, port) => {
        const s = nativeTransit ? new RealOrigin(new NativeConnectedUdpSocket(host, port, receiver.address.address, receiver.address.port), receiver.address) : new ScriptedSocket({ address: host, port }, clock, [])
        origins.push(s)
        return s
      },
    }
    const overlayUdp: UdpSocketFactory = { open: () => socket }
    const random = seededBytes(seed)
    const relay = new Relay({
      plane: dataPlaneConfig(tr),
      udp,
      overlayUdp,
      clock,
      timers: clock,
      log: silentLogger,
      nativeTransit,
      worker,
      makeEndpoint: (o) => createSecureEndpoint({ ...o, privateKey: tr.relay.privateKey, randomBytes: random, wallClockUs: wallClock(clock), backend: 'sodium' }),
    })
    await relay.start()
    return { relay, socket, opened, origins }
  }
  const ts = await side(false)
  const native = await side(true)
  const inbox: World['inbox'] = []
  const end = (id: string): SecureEndpoint =>
    createSecureEndpoint({
      privateKey: configs.get(id)!.relay.privateKey,
      peers: [{ index: 0, publicKey: tr.relay.publicKey }],
      transmit: (_peer, data, length) => inbox.push({ data: Buffer.from(data.subarray(0, length)), from: addrOf(id) }),
      randomBytes: seededBytes(seed ^ id.length),
      wallClockUs: wallClock(clock),
      rekeyAfterMs: REKEY_AFTER_MS,
      backend: 'sodium',
    })
  const [a, b] = ENDS[under]
  return { clock, ts, native, ends: { [a]: end(a), [b]: end(b) }, under, inbox, lane: worker.index, receiver, stop: once(() => (ts.relay.stop(), native.relay.stop(), rx.close())) }
}

function once(f: () => void): () => void {
  let done = false
  return () => {
    if (!done) f()
    done = true
  }
}

/** Polls `done` (loopback delivery), bounded. */
async function waitUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 5))
}

/** What the TypeScript side's origin sockets sent, per flow in creation order. */
function tsOriginSends(w: World): string[][] {
  return w.ts.origins.map((s) => (s as ScriptedSocket).sent.map((x) => x.bytes))
}

/**
 * The native side's origins (real sockets, JS's sends and the table's native ones alike) received exactly
 * what the TypeScript side's sent, flow by flow, in order. Waits (bounded) for loopback delivery.
 */
async function originsMatch(w: World): Promise<void> {
  const want = tsOriginSends(w)
  const total = want.reduce((n, l) => n + l.length, 0)
  for (let i = 0; i < 200 && w.receiver.got.length < total; i++) await new Promise((r) => setTimeout(r, 5))
  await new Promise((r) => setTimeout(r, 5)) // and nothing more than that
  const ports = await Promise.all(w.native.origins.map((s) => s.bound().then((b) => b.port)))
  expect(ports.map((p) => w.receiver.got.filter((g) => g.port === p).map((g) => g.bytes))).toEqual(want)
  expect(w.receiver.got).toHaveLength(total)
}

/**
 * Delivers everything in flight: the ends' datagrams to both relays (their
 * outputs must match), the TypeScript relay's outputs to the ends. Bounded.
 */
function pump(w: World): void {
  for (let round = 0; round < 20; round++) {
    const inbox = w.inbox.splice(0)
    if (inbox.length === 0) return
    for (const { data, from } of inbox) feed(w, data, from)
  }
  throw new Error('the ends and the relay keep talking')
}

/** One datagram to both relays; their outputs are compared, the TypeScript one's reach the ends. */
function feed(w: World, data: Buffer, from: PeerAddress): void {
  outputsMatch(w, () => {
    w.ts.socket.deliver(data, from)
    w.native.socket.deliver(data, from)
  })
}

/** Runs `input` (the same to both relays): what they sent meanwhile must match; the TypeScript one's reach the ends. */
function outputsMatch(w: World, input: () => void): void {
  const a = w.ts.socket.sent.length
  const b = w.native.socket.sent.length
  input()
  const tsOut = w.ts.socket.sent.slice(a)
  expect(w.native.socket.sent.slice(b)).toEqual(tsOut)
  for (const s of tsOut) {
    const id = ENDS[w.under].find((e) => s.to === `127.0.0.1:${addrOf(e).port}`)
    if (id !== undefined) w.ends[id].receive(0, w.clock.nowMs(), Buffer.from(s.bytes, 'hex'), s.bytes.length / 2)
  }
}

/**
 * Sessions between the relay and both ends, confirmed (a probe each way would do; an empty plaintext is a
 * keepalive); in the ingress world, a datagram from each of CLIENTS opens its flow (the relay sends it to ex).
 */
function connect(w: World): void {
  const probe = Buffer.from([3, 0])
  for (const id of ENDS[w.under]) {
    w.ends[id].send(0, w.clock.nowMs(), probe, probe.length, w.lane)
    pump(w)
    w.ends[id].send(0, w.clock.nowMs(), probe, probe.length, w.lane)
    pump(w)
  }
  if (w.under !== 'ing') return
  for (const client of CLIENTS) {
    const hello = Buffer.from(`hello from ${client.port}`)
    outputsMatch(w, () => {
      for (const side of [w.ts, w.native]) side.opened.find((s) => s.local.port === 27015)!.handler(Buffer.from(hello), client)
    })
    pump(w)
  }
}

/** A data plaintext: fixed header, path, optional client-address extension, payload. */
function dataPlain(o: { kind: number; flags: number; hops: number; plen: number; pidx: number; reserved: number; path: number[]; ext: number; payload: number; headerCut: number; service?: number; flow?: number; seq?: number }): Buffer {
  const ext = o.ext === 0 ? [] : o.ext === 4 ? [4, 0, ...new Array(12).fill(7)] : o.ext === 6 ? [6, 0, ...new Array(36).fill(7)] : [9]
  const head = Buffer.alloc(20 + 4 * o.path.length)
  head[0] = o.kind
  head[1] = o.flags
  head[2] = o.hops
  head[3] = o.plen
  head[4] = o.pidx
  head[6] = o.reserved
  head.writeUInt32BE((o.service ?? 0x01020304) >>> 0, 8)
  head.writeUInt32BE((o.flow ?? 0) >>> 0, 12)
  head.writeUInt32BE((o.seq ?? 0) >>> 0, 16)
  o.path.forEach((n, i) => head.writeUInt32BE(n >>> 0, 20 + 4 * i))
  const full = Buffer.concat([head, Buffer.from(ext), Buffer.alloc(o.payload, 0x5a)])
  return full.subarray(0, Math.max(0, full.length - o.headerCut))
}

/** A well-formed data plaintext ing -> tr -> ex, at tr, carrying `payload` bytes. */
function transitPlain(payload: number): Buffer {
  return dataPlain({ kind: 1, flags: 0, hops: 4, plen: 3, pidx: 1, reserved: 0, path: [NODE.ing, NODE.tr, NODE.ex], ext: 0, payload, headerCut: 0 })
}

const nodeArb = fc.constantFrom(NODE.ing, NODE.tr, NODE.ex, NODE.stranger)
/**
 * Mostly well-formed packets on the world's two routes (tr: ing -> tr -> ex and ex -> tr -> ing; ex: ing -> tr -> ex
 * from tr and ing -> ex from ing, both ending here), with every header field sometimes wrong.
 */
const plainArb = fc.record({
  kind: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constantFrom(0, 2, 3, 9) }),
  // 8: FLAG_STAMPED, set on every packet an ingress or exit sends (path-meter.ts); `reserved` is then the stamp.
  flags: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(0, 1, 4, 5, 8, 9, 12, 13) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
  hops: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 8 }) }, { weight: 1, arbitrary: fc.constant(0) }),
  route: fc.oneof(
    { weight: 8, arbitrary: fc.constant('fwd') },
    { weight: 3, arbitrary: fc.constant('back') },
    { weight: 3, arbitrary: fc.array(nodeArb, { minLength: 0, maxLength: 10 }) },
  ),
  pidxShift: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 9 }) }),
  plenShift: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 8 }) }),
  reserved: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 255 }) }),
  ext: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(4, 6, 9) }),
  payload: fc.integer({ min: 0, max: 300 }),
  // Local delivery at an exit: the service, the flow (a new one opens an origin socket), the sequence (redundant copies).
  service: fc.oneof({ weight: 8, arbitrary: fc.constant(SERVICE) }, { weight: 1, arbitrary: fc.nat() }),
  flow: fc.integer({ min: 0, max: 3 }),
  seq: fc.integer({ min: 0, max: 4 }),
  headerCut: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 80 }) }),
})

/** How a burst's last datagram differs from the flow's others (each is a check the native delivery must make). */
const tailArb = fc.constantFrom('none', 'kind', 'flags', 'reserved', 'early', 'pidx', 'plen', 'cut', 'badext', 'service', 'reply', 'redundant', 'dup', 'ext6', 'sender')
type Tail = typeof tailArb extends fc.Arbitrary<infer T> ? T : never

/** A burst's datagram `i` of `count`; the last one changed as `tail` says. */
function burstPlain(op: { stamped: boolean; stamp: number; ext: number; flow: number; tail: Tail; count: number; proxied: boolean }, shape: { path: number[]; plen: number; pidx: number }, i: number): Buffer {
  const t = i === op.count - 1 ? op.tail : 'none'
  // 'reserved': a stamp in a datagram that is not stamped (bad_reserved).
  const stamped = op.stamped && t !== 'reserved'
  const flags = (stamped ? 8 : 0) | (t === 'flags' ? 0x10 << (op.stamp % 4) : 0) | (t === 'reply' ? 1 : 0) | (t === 'redundant' || t === 'dup' ? 4 : 0) | (t === 'badext' || t === 'ext6' || op.ext !== 0 ? 2 : 0)
  return dataPlain({
    kind: t === 'kind' ? [0, 2, 3, 9][op.stamp % 4] : 1,
    flags,
    hops: 4,
    plen: shape.plen + (t === 'plen' ? 1 : 0),
    pidx: shape.pidx + (t === 'early' ? -1 : t === 'pidx' ? 1 : 0),
    reserved: stamped ? (op.stamp * (i + 3) * 37) % 256 : t === 'reserved' ? 1 + (op.stamp % 200) : 0,
    path: shape.path,
    ext: t === 'badext' ? 9 : t === 'ext6' ? 6 : op.ext,
    payload: 10 + i,
    headerCut: t === 'cut' ? 1 + (op.stamp % 60) : 0,
    service: t === 'service' ? (op.proxied ? SERVICE : PROXIED) : op.proxied ? PROXIED : SERVICE,
    flow: op.flow,
    seq: i,
  })
}

const opArb = fc.oneof(
  { weight: 10, arbitrary: fc.record({ op: fc.constant('send' as const), plain: plainArb, lane: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 31 }) }), mutate: fc.oneof(
    { weight: 10, arbitrary: fc.constant({ how: 'none' as const }) },
    { weight: 1, arbitrary: fc.record({ how: fc.constant('truncate' as const), keep: fc.integer({ min: 0, max: 400 }) }) },
    { weight: 1, arbitrary: fc.record({ how: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }) },
    { weight: 1, arbitrary: fc.record({ how: fc.constant('receiver' as const), index: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ how: fc.constant('source' as const), who: fc.constantFrom('other-end', 'stranger', 'other-port') }) },
    { weight: 1, arbitrary: fc.record({ how: fc.constant('hold' as const) }) },
  ) }) },
  // Several valid datagrams of one flow on one route, a few ms apart: at an exit, the flow's first is JS's and the rest the table's.
  { weight: 4, arbitrary: fc.record({ op: fc.constant('burst' as const), route: fc.constantFrom('fwd', 'back'), flow: fc.integer({ min: 0, max: 3 }), stamped: fc.boolean(), stamp: fc.integer({ min: 0, max: 255 }), ext: fc.constantFrom(0, 0, 4), count: fc.integer({ min: 2, max: 6 }), gapMs: fc.integer({ min: 0, max: 40 }), tail: tailArb, proxied: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('replay' as const), back: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('release' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 1, max: 500 }), fc.constantFrom(REKEY_AFTER_MS - LIVE_KEY_MARGIN_MS, LIVE_KEY_MARGIN_MS, 30_000, REJECT_AFTER_MS)) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('garbage' as const), bytes: fc.uint8Array({ minLength: 0, maxLength: 80 }) }) },
)

type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never

/** Who sends a route's packet, its path, and the path length and index it claims (shifted by the op). */
function pathFor(under: Under, route: string | number[], shift: { plen: number; pidx: number }): { from: string; path: number[]; plen: number; pidx: number } {
  const [a, b] = ENDS[under]
  let path: number[], from: string, pidx: number
  if (under === 'tr') {
    ;[from, pidx] = route === 'back' ? [b, 1] : [a, 1]
    path = route === 'fwd' ? [NODE.ing, NODE.tr, NODE.ex] : route === 'back' ? [NODE.ex, NODE.tr, NODE.ing] : (route as number[])
  } else if (under === 'ing') {
    ;[from, pidx] = route === 'back' ? [b, 1] : [a, route === 'fwd' ? 2 : 1]
    path = route === 'fwd' ? [NODE.ex, NODE.tr, NODE.ing] : route === 'back' ? [NODE.ex, NODE.ing] : (route as number[])
  } else {
    ;[from, pidx] = route === 'back' ? [b, 1] : [a, route === 'fwd' ? 2 : 1]
    path = route === 'fwd' ? [NODE.ing, NODE.tr, NODE.ex] : route === 'back' ? [NODE.ing, NODE.ex] : (route as number[])
  }
  return { from, path, plen: (path.length + shift.plen) & 0xff, pidx: (pidx + shift.pidx) & 0xff }
}

/** Runs the ops; returns how many datagrams the native table forwarded. */
function run(w: World, ops: Op[]): void {
  const history: { data: Buffer; from: PeerAddress }[] = []
  const held: { data: Buffer; from: PeerAddress }[] = []
  for (const op of ops) {
    if (op.op === 'advance') {
      w.clock.advance(op.ms) // both relays tick (rekeys, expiry) on the shared clock
      for (const end of Object.values(w.ends)) end.tick(w.clock.nowMs())
      pump(w)
      continue
    }
    if (op.op === 'garbage') {
      feed(w, Buffer.from(op.bytes), addrOf('ing'))
      continue
    }
    if (op.op === 'replay') {
      if (history.length > 0) feed(w, history[history.length - 1 - (op.back % history.length)].data, history[history.length - 1 - (op.back % history.length)].from)
      continue
    }
    if (op.op === 'burst') {
      const shape = pathFor(w.under, op.route, { plen: 0, pidx: 0 })
      for (let i = 0; i < op.count; i++) {
        w.clock.advance(op.gapMs)
        const plain = burstPlain(op, shape, i)
        // 'dup': the last one twice (sealed twice, so not a crypto replay), as a redundant flow's two paths bring it.
        // 'sender': the last one from the other end, which is not the path's previous hop (not_for_me).
        const from = op.tail === 'sender' && i === op.count - 1 ? ENDS[w.under].find((e) => e !== shape.from)! : shape.from
        for (let k = 0; k < (op.tail === 'dup' && i === op.count - 1 ? 2 : 1); k++) {
          w.ends[from].send(0, w.clock.nowMs(), plain, plain.length, w.lane)
          pump(w)
        }
      }
      continue
    }
    if (op.op === 'release') {
      for (const h of held.splice(0).reverse()) feed(w, h.data, h.from) // reordered
      continue
    }
    const p = op.plain
    const shape = pathFor(w.under, p.route, { plen: p.plenShift, pidx: p.pidxShift })
    const from = shape.from
    const plain = dataPlain({ ...p, path: shape.path, plen: shape.plen, pidx: shape.pidx })
    // Lane 0 of the ops is the world's own lane; the others stay what they are (other workers' or stray).
    w.ends[from].send(0, w.clock.nowMs(), plain, plain.length, op.lane === 0 ? w.lane : op.lane)
    const sealed = w.inbox.splice(0)
    for (const s of sealed) {
      let data = s.data
      let src = s.from
      const m = op.mutate
      if (m.how === 'truncate') data = data.subarray(0, Math.min(m.keep, data.length))
      else if (m.how === 'flip' && data.length > 0) data[m.at % data.length] ^= 1 << m.bit
      else if (m.how === 'receiver' && data.length >= 8) data.writeUInt32BE(m.index >>> 0, 4)
      else if (m.how === 'source') src = m.who === 'other-end' ? addrOf(ENDS[w.under].find((e) => e !== from)!) : m.who === 'stranger' ? { address: '127.0.0.9', port: src.port } : { address: src.address, port: src.port + 100 }
      if (m.how === 'hold') held.push({ data, from: src })
      else feed(w, data, src)
      history.push({ data, from: src })
    }
    pump(w)
  }
}

/** What must be identical between the two relays at the end. */
function counters(relay: Relay): unknown {
  const { drops, peers, crypto, services } = relay.stats()
  const c = crypto as { total: unknown; peers: { peer: number; txPackets: number; rxPackets: number; drops: unknown; hasSession: boolean }[] }
  // The exit's flows (arrived path, last seen) and the path meter's receive slots: what the native delivery advances.
  const meter = [NODE.ing, NODE.tr, NODE.ex].map((n) => relay.pathMeter.takeEntries(n, 256))
  return { drops, peers, services, total: c.total, perPeer: c.peers.map((p) => ({ peer: p.peer, tx: p.txPackets, rx: p.rxPackets, drops: p.drops })), flows: relay.exitFlowStates(), meter }
}

let current: World | undefined
afterEach(() => current?.stop())

/** A world as buildWorld makes it, with both sessions up (connect), stopped after the test. */
async function connectedWorld(seed: number, smallRekey = false, worker?: { index: number; count: number }, under: Under = 'tr'): Promise<World> {
  const w = (current = await buildWorld(seed, smallRekey, worker, under))
  connect(w)
  return w
}

describeIf(needsAvailable('the native transit fast path', { ok: unavailable === undefined, reason: unavailable }), 'native transit fast path (differential against the TypeScript path)', () => {
  it('forwards valid transit packets natively, with the bytes and counters of the TypeScript path', async () => {
    const w = await connectedWorld(1)
    const plain = transitPlain(100)
    for (let i = 0; i < 50; i++) {
      w.ends.ing.send(0, w.clock.nowMs(), plain, plain.length)
      pump(w)
    }
    expect(w.native.relay.stats().native_transit?.forwarded).toBe(50)
    expect(w.ts.relay.stats().native_transit).toBeUndefined()
    expect(counters(w.native.relay)).toEqual(counters(w.ts.relay))
  })

  it('forwards stamped packets natively, as every ingress and exit sends them, stamp unchanged', async () => {
    const w = await connectedWorld(11)
    const stamped = dataPlain({ kind: 1, flags: 8, hops: 4, plen: 3, pidx: 1, reserved: 0xa7, path: [NODE.ing, NODE.tr, NODE.ex], ext: 0, payload: 100, headerCut: 0 })
    for (let i = 0; i < 20; i++) {
      w.ends.ing.send(0, w.clock.nowMs(), stamped, stamped.length)
      pump(w)
    }
    expect(w.native.relay.stats().native_transit?.forwarded).toBe(20)
    expect(counters(w.native.relay)).toEqual(counters(w.ts.relay))
  })

  it('drops transit data natively offered while the drop-transit test fault is on, and forwards again after', async () => {
    const w = await connectedWorld(12)
    const plain = transitPlain(10)
    const sendBoth = (n: number): void => {
      for (let i = 0; i < n; i++) {
        w.ends.ing.send(0, w.clock.nowMs(), plain, plain.length)
        pump(w)
      }
    }
    for (const side of [w.ts, w.native]) side.relay.testFaults.dropTransitData = true
    sendBoth(5)
    expect(w.native.relay.stats().drops.test_fault_dropped).toBe(5)
    expect(w.native.relay.stats().native_transit).toBeUndefined()
    for (const side of [w.ts, w.native]) side.relay.testFaults.dropTransitData = false
    sendBoth(5)
    expect(w.native.relay.stats().native_transit?.forwarded).toBe(5)
    expect(counters(w.native.relay)).toEqual(counters(w.ts.relay))
  })

  it('delivers what ends at the exit natively once the flow is established: the origin gets the same bytes, counters match', async () => {
    const w = await connectedWorld(14, false, undefined, 'ex')
    // ing > tr > ex, and ing > ex directly: ex is the last relay (the exit), the service's origin gets the payload.
    const viaTr = dataPlain({ kind: 1, flags: 8, hops: 4, plen: 3, pidx: 2, reserved: 3, path: [NODE.ing, NODE.tr, NODE.ex], ext: 0, payload: 50, headerCut: 0, service: SERVICE, flow: 1 })
    const direct = dataPlain({ kind: 1, flags: 8, hops: 4, plen: 2, pidx: 1, reserved: 3, path: [NODE.ing, NODE.ex], ext: 0, payload: 70, headerCut: 0, service: SERVICE, flow: 2 })
    const before = w.native.relay.stats().native_transit!
    // 400 ms apart: 6 s in all, past an unreplied flow's idle timeout (5 s) counted from its first datagram, JS's.
    for (let i = 0; i < 16; i++) {
      w.clock.advance(400)
      w.ends.tr.send(0, w.clock.nowMs(), viaTr, viaTr.length)
      pump(w)
      w.ends.ing.send(0, w.clock.nowMs(), direct, direct.length)
      pump(w)
    }
    expect(tsOriginSends(w).flat()).toHaveLength(32)
    await originsMatch(w)
    const after = w.native.relay.stats().native_transit!
    // The first datagram of each flow is JS's (it makes the flow), the other 30 the table's.
    expect(after.opened_local! - before.opened_local!).toBe(2)
    expect(after.delivered_local! - before.delivered_local!).toBe(30)
    expect(after.forwarded).toBe(0)
    expect(counters(w.native.relay)).toEqual(counters(w.ts.relay))
  })

  it('gives a flow back to JS on a new path, a redundant copy or a path meter slot gone, and registers it again', async () => {
    const w = await connectedWorld(18, false, undefined, 'ex')
    const send = (from: 'tr' | 'ing', path: number[], flags: number, seq: number): void => {
      const p = dataPlain({ kind: 1, flags, hops: 4, plen: path.length, pidx: path.length - 1, reserved: flags & 8 ? 3 : 0, path, ext: 0, payload: 20 + seq, headerCut: 0, service: SERVICE, flow: 1, seq })
      w.clock.advance(1)
      w.ends[from].send(0, w.clock.nowMs(), p, p.length)
      pump(w)
    }
    const viaTr = [NODE.ing, NODE.tr, NODE.ex]
    const before = w.native.relay.stats().native_transit!.opened_local!
    send('tr', viaTr, 8, 0)
    send('tr', viaTr, 8, 1)
    send('ing', [NODE.ing, NODE.ex], 8, 2) // a new path: JS (and the meter slot it makes)
    send('ing', [NODE.ing, NODE.ex], 8, 3)
    send('tr', viaTr, 8 | 4, 4) // redundant: JS deduplicates
    send('tr', viaTr, 8 | 4, 4)
    send('tr', viaTr, 8, 5)
    send('tr', viaTr, 8, 6)
    // 30 s later the meter's slot is gone (10 s idle) but the flow is not: JS counts it in a new slot.
    w.clock.advance(11_000)
    for (const side of [w.ts, w.native]) side.relay.pathMeter.sweep(w.clock.nowMs())
    send('tr', viaTr, 0, 7)
    send('tr', viaTr, 0, 8)
    const n = w.native.relay.stats().native_transit!
    expect(n.delivered_local).toBe(4)
    expect(n.opened_local! - before).toBe(6)
    await originsMatch(w)
    expect(counters(w.native.relay)).toEqual(counters(w.ts.relay))
  })

  it('opens replies that end at the ingress once, natively: the clients get the same bytes, counters match', async () => {
    const w = await connectedWorld(17, false, undefined, 'ing')
    const before = w.native.relay.stats().native_transit!.opened_local!
    const toClients = (): number => w.native.socket.sent.filter((s) => CLIENTS.some((c) => s.to === `${c.address}:${c.port}`)).length
    for (let i = 0; i < 10; i++) {
      // ex > tr > ing on the first client's flow, ex > ing on the second's: stamped replies, as an exit sends them.
      const viaTr = dataPlain({ kind: 1, flags: 9, hops: 4, plen: 3, pidx: 2, reserved: 3, path: [NODE.ex, NODE.tr, NODE.ing], ext: 0, payload: 40 + i, headerCut: 0, service: SERVICE, flow: 1, seq: i })
      const direct = dataPlain({ kind: 1, flags: 9, hops: 4, plen: 2, pidx: 1, reserved: 3, path: [NODE.ex, NODE.ing], ext: 0, payload: 60 + i, headerCut: 0, service: SERVICE, flow: 2, seq: i })
      w.ends.tr.send(0, w.clock.nowMs(), viaTr, viaTr.length)
      pump(w)
      w.ends.ex.send(0, w.clock.nowMs(), direct, direct.length)
      pump(w)
    }
    expect(toClients()).toBe(20)
    expect(w.native.relay.stats().native_transit!.opened_local! - before).toBe(20)
    expect(counters(w.native.relay)).toEqual(counters(w.ts.relay))
  })

  it('does not deliver a datagram that reaches the exit before its path ends (a path through it twice), with or without hops left', async () => {
    const w = await connectedWorld(19, false, undefined, 'ex')
    // The flow is established on ing > ex > tr > ex (ex is the end); the same path with ex at index 1 is transit.
    const loop = [NODE.ing, NODE.ex, NODE.tr, NODE.ex]
    const at = (pidx: number, seq: number, hops: number): Buffer => dataPlain({ kind: 1, flags: 8, hops, plen: 4, pidx, reserved: 3, path: loop, ext: 0, payload: 30, headerCut: 0, service: SERVICE, flow: 1, seq })
    // With hops left it is transit (forwarded); with none, the TypeScript path drops it (hop_limit): the table must not deliver it.
    for (const [from, pidx, seq, hops] of [['tr', 3, 0, 4], ['tr', 3, 1, 4], ['ing', 1, 2, 4], ['ing', 1, 3, 0], ['tr', 3, 4, 4]] as const) {
      const p = at(pidx, seq, hops)
      w.ends[from].send(0, w.clock.nowMs(), p, p.length)
      pump(w)
    }
    expect(w.native.relay.stats().native_transit!.delivered_local).toBe(2)
    expect(w.native.relay.stats().native_transit!.forwarded).toBe(1)
    expect(w.native.relay.stats().drops.hop_limit).toBe(1)
    await originsMatch(w)
    expect(counters(w.native.relay)).toEqual(counters(w.ts.relay))
  })

  it('gives every flow back to JS on a live change of services (delivery swapped between proxy and proxy-protocol)', async () => {
    const w = await connectedWorld(20, false, undefined, 'ex')
    const send = (seq: number, withClient = false): void => {
      const p = dataPlain({ kind: 1, flags: withClient ? 8 | 2 : 8, hops: 4, plen: 2, pidx: 1, reserved: 3, path: [NODE.ing, NODE.ex], ext: withClient ? 4 : 0, payload: 20, headerCut: 0, service: SERVICE, flow: 1, seq })
      w.ends.ing.send(0, w.clock.nowMs(), p, p.length)
      pump(w)
    }
    // A flow of the proxy-protocol service, with the client's address: its datagrams carry a PROXY header (JS).
    const proxied = (seq: number): void => {
      const p = dataPlain({ kind: 1, flags: 8 | 2, hops: 4, plen: 2, pidx: 1, reserved: 3, path: [NODE.ing, NODE.ex], ext: 4, payload: 20, headerCut: 0, service: PROXIED, flow: 2, seq })
      w.ends.ing.send(0, w.clock.nowMs(), p, p.length)
      pump(w)
    }
    send(0)
    send(1)
    proxied(0)
    proxied(1)
    expect(w.native.relay.stats().native_transit!.delivered_local).toBe(1)
    // Swapped: game now wants PROXY headers, proxied no longer does (but its flow keeps the header it was opened with).
    const plane = dataPlaneConfig(baseConfigs.get('ex')!)
    const desired = plane.services.map((s) => ({ ...s, cfg: { ...s.cfg, delivery: s.cfg.name === 'game' ? ('proxy-protocol' as const) : ('proxy' as const) } }))
    for (const side of [w.ts, w.native]) await side.relay.setServices(desired)
    send(2)
    send(3)
    // With the client's address game's old flow (opened without a PROXY header) is delivered raw by JS; without, dropped.
    send(4, true)
    send(5)
    proxied(2)
    proxied(3)
    expect(w.native.relay.stats().native_transit!.delivered_local).toBe(1)
    expect(w.native.relay.stats().services.game.drops.proxy_no_client_addr).toBe(3)
    await originsMatch(w)
    expect(counters(w.native.relay)).toEqual(counters(w.ts.relay))
  })

  it('catches a replay of a datagram it opened for local delivery: the window it committed is the one JS checks', async () => {
    const w = await connectedWorld(15, false, undefined, 'ex')
    const local = dataPlain({ kind: 1, flags: 8, hops: 4, plen: 3, pidx: 2, reserved: 3, path: [NODE.ing, NODE.tr, NODE.ex], ext: 0, payload: 20, headerCut: 0, service: SERVICE, flow: 1 })
    w.ends.tr.send(0, w.clock.nowMs(), local, local.length)
    const [first] = w.inbox.splice(0)
    feed(w, first.data, first.from)
    const opened = w.native.relay.stats().native_transit!.opened_local
    feed(w, first.data, first.from)
    expect(w.native.relay.stats().native_transit!.opened_local).toBe(opened)
    expect(w.native.relay.stats().drops.replay).toBe(1)
    expect(tsOriginSends(w).flat()).toHaveLength(1)
    await originsMatch(w)
    expect(counters(w.native.relay)).toEqual(counters(w.ts.relay))
  })

  it('hands a transit packet it cannot seal (next hop unknown) to JS opened, which drops it as the TypeScript path does', async () => {
    const w = await connectedWorld(16)
    const plain = dataPlain({ kind: 1, flags: 8, hops: 4, plen: 3, pidx: 1, reserved: 0, path: [NODE.ing, NODE.tr, NODE.stranger], ext: 0, payload: 10, headerCut: 0 })
    w.ends.ing.send(0, w.clock.nowMs(), plain, plain.length)
    pump(w)
    expect(w.native.relay.stats().drops.unknown_next_hop).toBe(1)
    expect(counters(w.native.relay)).toEqual(counters(w.ts.relay))
  })

  it('opens on a receive key only before its deadline, in place, and leaves a declined datagram byte for byte as it came', () => {
    const sodium = loadSodium()!
    const table = NativeTransitTable.create({ selfNode: NODE.ex, peerCount: 1, family: 4, rekeyAfterPackets: 2 ** 40, rejectAfterPackets: 2 ** 47, nowMs: 0 })!
    const ing = addrOf('ing')
    table.setPeer(0, NODE.ing, ing.address, ing.port)
    const key = Buffer.alloc(32, 9)
    const ring = new Uint32Array(256)
    const head = new Float64Array(1)
    table.receiveKey(0, 0x0a0b0c0d, key, ring, head, 1000)
    const plain = dataPlain({ kind: 1, flags: 8, hops: 4, plen: 2, pidx: 1, reserved: 1, path: [NODE.ing, NODE.ex], ext: 0, payload: 30, headerCut: 0, service: SERVICE })
    const seal = (n: number): Buffer => {
      const d = Buffer.alloc(32 + plain.length)
      d[0] = 1
      d[1] = 3
      d.writeUInt32BE(0x0a0b0c0d, 4)
      d.writeUInt32BE(n, 12)
      const nonce = Buffer.alloc(24)
      d.copy(nonce, 0, 0, 16)
      sodium.crypto_secretbox_easy(d.subarray(16), plain, nonce, key)
      return d
    }
    const out = Buffer.alloc(2048)
    const first = seal(1)
    const r = table.tryForward(first, first.length, ing.address, ing.port, 999, out)
    expect(r).toEqual({ opened: true, delivered: false, length: plain.length, slot: 0, offset: 32 })
    expect(first.subarray(32).equals(plain)).toBe(true)
    expect(head[0]).toBe(1)
    // At the deadline (JS decides near the key's age limit), and a replay: declined, nothing changed.
    const late = seal(2)
    const copy = Buffer.from(late)
    expect(table.tryForward(late, late.length, ing.address, ing.port, 1000, out)).toBeNull()
    expect(late.equals(copy)).toBe(true)
    const again = seal(1)
    expect(table.tryForward(again, again.length, ing.address, ing.port, 0, out)).toBeNull()
    expect(head[0]).toBe(1)
    expect(table.counters[1]).toBe(1)
  })

  it('delivers to an exit flow only on its registered path, sender, header and meter slot; otherwise hands it to JS opened, counters untouched', async () => {
    const sodium = loadSodium()!
    const table = NativeTransitTable.create({ selfNode: NODE.ex, peerCount: 1, family: 4, rekeyAfterPackets: 2 ** 40, rejectAfterPackets: 2 ** 47, nowMs: 0 })!
    const ing = addrOf('ing')
    table.setPeer(0, NODE.ing, ing.address, ing.port)
    const key = Buffer.alloc(32, 5)
    expect(table.receiveKey(0, 0x01020304, key, new Uint32Array(256), new Float64Array(1), 1e9)).toBe(true)
    const seen = new Float64Array(4)
    const services = new Float64Array(3 * 2)
    const meter = new Float64Array(7 * 4)
    table.attachExit(seen, services, meter)
    const rx = createSocket('udp4')
    await new Promise<void>((resolve) => rx.bind(0, '127.0.0.1', resolve))
    const got: Buffer[] = []
    rx.on('message', (m) => got.push(m))
    const origin = new NativeConnectedUdpSocket('127.0.0.1', 0, '127.0.0.1', rx.address().port)
    try {
      const register = (path: number[]): boolean => table.setExitFlow(1, { ingressNode: path[0], flowId: 7, serviceId: SERVICE, serviceSlot: 1, socket: origin.nativeHandle()!, path: Uint32Array.from(path), pathLen: path.length, meterSlot: 2, meterGen: 0 })
      // One receive area, as a socket's slot: what a short datagram does not overwrite is the previous one's plaintext.
      const area = Buffer.alloc(70_000)
      let counter = 0
      const offer = (o: Partial<Parameters<typeof dataPlain>[0]>, now = 100): string => {
        const plain = dataPlain({ kind: 1, flags: 8, hops: 4, plen: 2, pidx: 1, reserved: 9, path: [NODE.ing, NODE.ex], ext: 0, payload: 40, headerCut: 0, service: SERVICE, flow: 7, ...o })
        area.writeUInt32BE(0x01030000, 0)
        area.writeUInt32BE(0x01020304, 4)
        area.writeUInt32BE(0, 8)
        area.writeUInt32BE(++counter, 12)
        const nonce = Buffer.alloc(24)
        area.copy(nonce, 0, 0, 16)
        sodium.crypto_secretbox_easy(area.subarray(16, 32 + plain.length), plain, nonce, key)
        const r = table.tryForward(area, 32 + plain.length, ing.address, ing.port, now, Buffer.alloc(16))
        return r === null ? 'declined' : r.delivered ? 'delivered' : r.opened ? 'opened' : 'forwarded'
      }
      const untouched = (): void => {
        expect(Array.from(services)).toEqual([0, 0, 0, 0, 0, 0])
        expect(meter[2 * 7 + 1]).toBe(0)
        expect(seen[1]).toBe(0)
      }
      expect(register([NODE.ing, NODE.ex])).toBe(true)
      expect(offer({ flags: 0, reserved: 0, seq: 1 })).toBe('delivered')
      expect(Array.from(services.subarray(3))).toEqual([1, 40, 0])
      expect(meter[2 * 7 + 1]).toBe(1) // received
      expect(seen[1]).toBe(100)
      services.fill(0)
      meter.fill(0)
      seen.fill(0)
      // A header the TypeScript path rejects: not stamped, yet a stamp (bad_reserved); cut inside the path (truncated);
      // another kind; an unknown flag; a client-address extension of no family. Or one it does not deliver here: a
      // reply (not_ingress), a redundant copy (deduplicated in JS), another service, another flow.
      expect(offer({ flags: 0, reserved: 1 })).toBe('opened')
      expect(offer({ headerCut: 45 })).toBe('opened')
      expect(offer({ kind: 2 })).toBe('opened')
      expect(offer({ flags: 8 | 0x20 })).toBe('opened')
      expect(offer({ flags: 8 | 2, ext: 9 })).toBe('opened')
      expect(offer({ flags: 8 | 1 })).toBe('opened')
      expect(offer({ flags: 8 | 4 })).toBe('opened')
      expect(offer({ service: SERVICE + 1 })).toBe('opened')
      expect(offer({ flow: 8 })).toBe('opened')
      // The meter slot went (and came back for another path): JS counts the arrival, in a slot of its own.
      meter[2 * 7] = 1
      expect(offer({})).toBe('opened')
      meter[2 * 7] = 0
      // Another path through the same ends: a hop between them, or a different one.
      expect(register([NODE.ing, NODE.tr, NODE.ing, NODE.ex])).toBe(true)
      expect(offer({ plen: 4, pidx: 3, path: [NODE.ing, NODE.stranger, NODE.ing, NODE.ex] })).toBe('opened')
      expect(register([NODE.ing, NODE.ex, NODE.ing, NODE.ex])).toBe(true)
      expect(offer({ plen: 2, pidx: 1, path: [NODE.ing, NODE.ex] })).toBe('opened')
      // The registered path, sent by a peer that is not its previous hop (ing, not tr): not_for_me in JS.
      expect(register([NODE.ing, NODE.tr, NODE.ex])).toBe(true)
      expect(offer({ plen: 3, pidx: 2, path: [NODE.ing, NODE.tr, NODE.ex] })).toBe('opened')
      // A path of one relay (index 0: there is no previous hop to read) or none, or longer than the maximum, from an
      // authenticated peer: bad_path_length in JS, and nothing read outside the header.
      expect(register([NODE.ing, NODE.ex])).toBe(true)
      expect(offer({ plen: 1, pidx: 0, path: [NODE.ex] })).toBe('opened')
      expect(offer({ plen: 0, pidx: 255, path: [] })).toBe('opened')
      expect(offer({ plen: 9, pidx: 8, path: [NODE.ing, NODE.ex, NODE.ing, NODE.ex, NODE.ing, NODE.ex, NODE.ing, NODE.ex, NODE.ex] })).toBe('opened')
      untouched()
      // Stamped: the meter's delay aggregates as PathMeter.onArrival keeps them (stamp units of 10 us, modulo 2^24;
      // at 100 ms the receive stamp is 10000, below these send stamps: the differences wrap).
      expect(register([NODE.ing, NODE.ex])).toBe(true)
      expect(offer({ reserved: 50 })).toBe('delivered')
      expect(offer({ reserved: 60 })).toBe('delivered')
      expect(offer({ reserved: 40 })).toBe('delivered')
      const m = Array.from(meter.subarray(2 * 7, 3 * 7))
      expect(m.slice(1, 2)).toEqual([3]) // received
      expect(m.slice(3)).toEqual([3, (10_000 - 50 * 256) & 0xffffff, -10 * 256, 0]) // samples, ref, minRel, sumRel
      services.fill(0)
      meter.fill(0)
      seen.fill(0)
      // With a client-address extension the payload starts after it.
      expect(register([NODE.ing, NODE.ex])).toBe(true)
      expect(offer({ flags: 8 | 2, ext: 4, payload: 5 })).toBe('delivered')
      await waitUntil(() => got.length === 5)
      expect(got[4].equals(Buffer.alloc(5, 0x5a))).toBe(true)
      services.fill(0)
      // A payload the kernel refuses (one byte over IPv4's UDP limit, 65507): counted as a failed send, as JS's send_failed.
      expect(register([NODE.ing, NODE.ex])).toBe(true)
      expect(offer({ payload: 65_508 })).toBe('delivered')
      expect(Array.from(services.subarray(3))).toEqual([0, 0, 1])
      expect(table.counters[2]).toBe(6)
      // The origin socket closed while its flow is still registered (JS removes it first; this is the fault that
      // rule guards): the table holds the socket, so the send is refused and counted, never made on freed memory.
      services.fill(0)
      expect(register([NODE.ing, NODE.ex])).toBe(true)
      origin.close()
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(offer({})).toBe('delivered')
      expect(Array.from(services.subarray(3))).toEqual([0, 0, 1])
    } finally {
      origin.close()
      rx.close()
    }
  })

  it('declines a replay of a packet it forwarded, and the TypeScript path drops and counts it', async () => {
    const w = await connectedWorld(2)
    const plain = transitPlain(10)
    w.ends.ing.send(0, w.clock.nowMs(), plain, plain.length)
    const [first] = w.inbox.splice(0)
    feed(w, first.data, first.from)
    feed(w, first.data, first.from)
    expect(w.native.relay.stats().native_transit?.forwarded).toBe(1)
    expect(w.native.relay.stats().drops.replay).toBe(1)
    expect(counters(w.native.relay)).toEqual(counters(w.ts.relay))
  })

  it('leaves keys near their age limit to the TypeScript path (rekey and reject behave as without it)', async () => {
    const w = await connectedWorld(3)
    const plain = transitPlain(10)
    const before = w.native.relay.stats().native_transit!.forwarded
    // ex started its session with tr, so tr rekeys it on age RESPONDER_REKEY_DELAY_MS after an initiator would.
    w.clock.advance(REKEY_AFTER_MS + RESPONDER_REKEY_DELAY_MS - 2 * LIVE_KEY_MARGIN_MS)
    w.ends.ing.send(0, w.clock.nowMs(), plain, plain.length)
    pump(w)
    expect(w.native.relay.stats().native_transit!.forwarded).toBe(before + 1)
    w.clock.advance(1.5 * LIVE_KEY_MARGIN_MS)
    w.ends.ing.send(0, w.clock.nowMs(), plain, plain.length)
    pump(w)
    // tr's send key to ex is within the margin of its rekey age: JS sealed it (and started the rekey).
    expect(w.native.relay.stats().native_transit!.forwarded).toBe(before + 1)
    expect(counters(w.native.relay)).toEqual(counters(w.ts.relay))
  })

  it('leaves packets on other lanes to the TypeScript path (nonces and replay windows are per lane)', async () => {
    const w = await connectedWorld(4)
    const plain = transitPlain(10)
    w.ends.ing.send(0, w.clock.nowMs(), plain, plain.length)
    pump(w)
    const before = w.native.relay.stats().native_transit!.forwarded
    // More packets on lane 7 than lane 0 ever had: their counters pass lane 0's window.
    for (let i = 0; i < 20; i++) {
      w.ends.ing.send(0, w.clock.nowMs(), plain, plain.length, 7)
      pump(w)
    }
    expect(w.native.relay.stats().native_transit!.forwarded).toBe(before)
    expect(counters(w.native.relay)).toEqual(counters(w.ts.relay))
  })

  it('on worker 1 of 2, forwards lane 1 natively and leaves lanes 0 and 3 to the TypeScript path', async () => {
    const w = await connectedWorld(13, false, { index: 1, count: 2 })
    const plain = transitPlain(10)
    const before = w.native.relay.stats().native_transit!.forwarded
    let first: { data: Buffer; from: PeerAddress } | undefined
    for (let i = 0; i < 10; i++) {
      w.ends.ing.send(0, w.clock.nowMs(), plain, plain.length, 1)
      first ??= { ...w.inbox[0], data: Buffer.from(w.inbox[0].data) }
      pump(w)
    }
    expect(w.native.relay.stats().native_transit!.forwarded).toBe(before + 10)
    // The table marked lane 1's window, the one JS checks: the replay is dropped, not forwarded by JS.
    feed(w, first!.data, first!.from)
    expect(w.native.relay.stats().drops.replay).toBe(1)
    // Lane 0 is worker 0's (dropped here as wrong_lane); lane 3 is this worker's too (3 mod 2) but not its table's.
    for (const lane of [0, 3, 3, 1]) {
      w.ends.ing.send(0, w.clock.nowMs(), plain, plain.length, lane)
      pump(w)
    }
    expect(w.native.relay.stats().native_transit!.forwarded).toBe(before + 11)
    expect(w.native.relay.stats().drops.wrong_lane).toBe(1)
    // Near the send key's rekey age JS seals on lane 1 again: with the counter after the table's (one counter per lane, shared).
    w.clock.advance(REKEY_AFTER_MS + RESPONDER_REKEY_DELAY_MS - LIVE_KEY_MARGIN_MS / 2)
    w.ends.ing.send(0, w.clock.nowMs(), plain, plain.length, 1)
    pump(w)
    expect(w.native.relay.stats().native_transit!.forwarded).toBe(before + 11)
    expect(counters(w.native.relay)).toEqual(counters(w.ts.relay))
  })

  it('leaves the packet that reaches rekey_after_packets to the TypeScript path, which starts the rekey', async () => {
    const w = await connectedWorld(5, true)
    const plain = transitPlain(10)
    for (let i = 0; i < 3 * SMALL_REKEY_PACKETS; i++) {
      w.ends.ing.send(0, w.clock.nowMs(), plain, plain.length)
      pump(w)
    }
    const stats = w.native.relay.stats()
    expect(stats.native_transit!.forwarded).toBeGreaterThan(SMALL_REKEY_PACKETS)
    expect(stats.native_transit!.forwarded).toBeLessThan(3 * SMALL_REKEY_PACKETS)
    expect((stats.crypto as { total: { handshakesInitiated: number } }).total.handshakesInitiated).toBeGreaterThan(0)
    expect(counters(w.native.relay)).toEqual(counters(w.ts.relay))
  })

  it('matches the TypeScript path byte for byte on generated traffic, malformed cases included', async () => {
    let forwarded = 0
    let opened = 0
    let nativeDelivered = 0
    const delivered: Record<Under, number> = { tr: 0, ex: 0, ing: 0 }
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), fc.boolean(), fc.constantFrom(0, 1), fc.constantFrom<Under>('tr', 'ex', 'ing'), fc.array(opArb, { minLength: 1, maxLength: 40 }), async (seed, smallRekey, worker, under, ops) => {
        // Worker 1 of 2: the table works on lane 1, with that lane's replay windows and counters.
        // Under "ex" and "ing" the traffic ends at the relay (local delivery to the origin or the clients, compared too).
        const w = (current = await buildWorld(seed, smallRekey, { index: worker, count: worker + 1 }, under))
        try {
          connect(w)
          run(w, ops)
          await originsMatch(w)
          expect(counters(w.native.relay)).toEqual(counters(w.ts.relay))
          forwarded += w.native.relay.stats().native_transit!.forwarded
          opened += w.native.relay.stats().native_transit!.opened_local!
          nativeDelivered += w.native.relay.stats().native_transit!.delivered_local!
          delivered[under] += w.native.socket.sent.filter((s) => CLIENTS.some((c) => s.to === `${c.address}:${c.port}`)).length + tsOriginSends(w).flat().length
        } finally {
          w.stop()
          current = undefined
        }
      }),
      { numRuns: 90 },
    )
    expect(forwarded).toBeGreaterThan(0)
    expect(opened).toBeGreaterThan(0)
    expect(nativeDelivered).toBeGreaterThan(0)
    expect(delivered.ex).toBeGreaterThan(0)
    expect(delivered.ing).toBeGreaterThan(0)
  })
})

describe('native transit fast path availability', () => {
  it('says why it is unavailable, or is available', () => {
    expect(unavailable === undefined || unavailable.length > 0).toBe(true)
  })
})
