/**
 * A relay under test with every input path reachable from the fuzzer, on
 * fakes: sockets that deliver synchronously (DirectUdp), a fake TUN, a
 * manual clock (timers on a FakeClock run only when asked), and the real
 * crypto endpoint, router and RouterBridge. A second
 * endpoint, the relay's peer "fuz", holds a real session with it, so fuzzed
 * plaintexts can be sealed and reach the data, probe and control handlers
 * behind the crypto, as a peer holding a valid key would send them.
 *
 *   [client] --service socket--> lax --overlay--> fuz (the fuzzer's peer)
 *                                 ^ TUN (l3)        dal, sea (no session)
 */
import { createSecureEndpoint, Ed25519ColumnAuth, generateKeyPair, signPublicKeyOf, type CryptoSecureEndpoint } from '../../src/crypto/index.js'
import type { L3Config, RelayConfig, ServiceConfig } from '../../src/config/types.js'
import type { RouterBridge } from '../../src/control/router-bridge.js'
import { createRelayNode, sameSockets } from '../../src/node/index.js'
import { Relay } from '../../src/dataplane/relay.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import type { DatagramHandler, PacketSocket, PeerAddress, TunDevice, UdpSocketFactory } from '../../src/io/index.js'
import type { Logger } from '../../src/io/log.js'
import { parsePrefix } from '../../src/l3/prefix.js'
import type { Router } from '../../src/route/types.js'
import { MSG_HANDSHAKE_INIT, MSG_HANDSHAKE_RESP, MSG_TRANSPORT, OFF_TYPE } from '../../src/wire/outer.js'

export const HOST = '127.0.0.1'
export const PORTS = { lax: 7000, fuz: 7001, dal: 7002, sea: 7003 } as const
export const SERVICE_PORTS = { game: 27015, pp: 27016 } as const
export const ORIGIN = { game: 9000, pp: 9001 } as const

/** One datagram a socket of the relay sent. */
export interface Sent {
  from: PeerAddress
  to: PeerAddress
  length: number
}

/**
 * UDP sockets that deliver nothing by themselves: `deliver` calls a bound
 * socket's handler synchronously (so an exception surfaces in the caller),
 * and every send is handed to `onSend`.
 */
export class DirectUdp implements UdpSocketFactory {
  private readonly sockets = new Map<string, DirectSocket>()
  private nextPort = 40000
  onSend: (sent: Sent, data: Buffer) => void = () => {}

  open(host: string, port: number): PacketSocket {
    const s = new DirectSocket(this, { address: host, port: port === 0 ? this.nextPort++ : port })
    this.sockets.set(`${s.address.address}:${s.address.port}`, s)
    return s
  }

  /** Hands `data` to the socket bound at `to` as if it came from `from`; false if none is bound. */
  deliver(to: PeerAddress, from: PeerAddress, data: Buffer): boolean {
    const s = this.sockets.get(`${to.address}:${to.port}`)
    if (s === undefined) return false
    s.handler?.(data, from)
    return true
  }

  /** @internal */
  release(s: DirectSocket): void {
    this.sockets.delete(`${s.address.address}:${s.address.port}`)
  }
}

class DirectSocket implements PacketSocket {
  handler: DatagramHandler | undefined
  private closed = false

  constructor(private readonly net: DirectUdp, readonly address: PeerAddress) {}

  send(data: Buffer, offset: number, length: number, port: number, address: string): boolean {
    if (this.closed) return false
    this.net.onSend({ from: this.address, to: { address, port }, length }, data.subarray(offset, offset + length))
    return true
  }

  onMessage(handler: DatagramHandler): void {
    this.handler = handler
  }

  onError(): void {}

  bound(): Promise<PeerAddress> {
    return Promise.resolve(this.address)
  }

  close(): void {
    this.closed = true
    this.net.release(this)
  }
}

/** A TUN that records how many packets (and the largest) the relay wrote into it. */
export class FuzzTun implements TunDevice {
  readonly name = 'opfuzz'
  handler: (packet: Buffer) => void = () => {}
  written = 0
  largestWritten = 0
  /** Sees every packet written (valid only during the call). */
  onWrite: ((packet: Buffer, offset: number, length: number) => void) | undefined


  onPacket(handler: (packet: Buffer) => void): void {
    this.handler = handler
  }

  write(packet: Buffer, offset: number, length: number): boolean {
    this.written++
    this.onWrite?.(packet, offset, length)
    if (length > this.largestWritten) this.largestWritten = length
    return true
  }

  close(): void {}
}

function service(s: Partial<ServiceConfig> & { name: string }): ServiceConfig {
  return {
    mode: 'l4',
    ingress: [],
    origin: { host: HOST, port: 9999 },
    exits: ['lax'],
    prefixes: [],
    delivery: 'proxy',
    paths: [],
    replyPaths: [],
    flowIdleTimeoutMs: 30_000,
    maxFlows: 65_536,
    profile: 'latency',
    redundant: false,
    originProbe: { method: 'none', port: 862, intervalMs: 250, assumedRttMs: 1 },
    ...s,
  }
}

/**
 * Services of the relay under test (lax):
 *   game  l4 proxy, ingress lax, exits lax and fuz, pinned path lax > fuz: client traffic is sealed to fuz
 *   pp    l4 proxy-protocol, ingress lax and fuz, exit lax (routed): PROXY v2 delivery at lax
 *   red   l4 redundant, ingress fuz, exits dal and lax (routed): dedup at the exit
 *   dc    l3, exit fuz, path lax > fuz: TUN packets are sealed to fuz
 *   site  l3, exit lax: packets from fuz are written into the TUN
 */
export function fuzzServices(): ServiceConfig[] {
  return [
    service({ name: 'game', ingress: [{ relay: 'lax', listen: { host: HOST, port: SERVICE_PORTS.game } }], origin: { host: HOST, port: ORIGIN.game }, exits: ['lax', 'fuz'], paths: [['lax', 'fuz']] }),
    service({ name: 'pp', delivery: 'proxy-protocol', ingress: [{ relay: 'lax', listen: { host: HOST, port: SERVICE_PORTS.pp } }, { relay: 'fuz', listen: { host: HOST, port: SERVICE_PORTS.pp } }], origin: { host: HOST, port: ORIGIN.pp }, exits: ['lax'] }),
    service({ name: 'red', redundant: true, ingress: [{ relay: 'fuz', listen: { host: HOST, port: 27017 } }], exits: ['dal', 'lax'] }),
    service({ name: 'dc', mode: 'l3', prefixes: [parsePrefix('10.200.0.0/24'), parsePrefix('fd00:200::/64')], exits: ['fuz'], paths: [['lax', 'fuz']] }),
    service({ name: 'site', mode: 'l3', prefixes: [parsePrefix('10.101.0.0/24'), parsePrefix('fd00:101::/64')], exits: ['lax'] }),
  ]
}

export function fuzzL3(): L3Config {
  return { tun: 'opfuzz', mtu: 1388, maxMtu: 1388, oversizeWithoutDf: 'fragment', clampMss: true, addresses: [] }
}

/** Configs of lax (the relay under test) and fuz (the fuzzer's peer), sharing fresh keys. */
export function fuzzConfigs(): { lax: RelayConfig; fuz: RelayConfig; keys: Record<'lax' | 'fuz' | 'dal' | 'sea', { privateKey: Uint8Array; publicKey: Uint8Array }> } {
  const ids = ['lax', 'fuz', 'dal', 'sea'] as const
  const keys = Object.fromEntries(ids.map((id) => [id, generateKeyPair()])) as Record<(typeof ids)[number], ReturnType<typeof generateKeyPair>>
  const build = (self: 'lax' | 'fuz'): RelayConfig => ({
    relay: {
      id: self,
      privateKey: keys[self].privateKey,
      publicKey: keys[self].publicKey,
      listen: { host: HOST, port: PORTS[self] },
      controlSocket: `/tmp/overpass-fuzz-${self}.sock`,
      mtu: 1500,
      workers: 1,
    },
    peers: ids.filter((p) => p !== self).map((p) => ({ id: p, publicKey: keys[p].publicKey, signKey: signPublicKeyOf(keys[p].privateKey), endpoint: { host: HOST, port: PORTS[p] } })),
    services: fuzzServices(),
    tuning: { rekeyAfterMs: 120_000, rekeyAfterPackets: 2 ** 40, hopLimit: 8 },
    routing: { probeIntervalMs: 100, lossDownAfter: 3, hopCostMs: 0, maxLossPct: 5, floodIntervalMs: 1000 },
    ...(self === 'lax' ? { l3: fuzzL3() } : {}),
  })
  return { lax: build('lax'), fuz: build('fuz'), keys }
}

/** Drop reasons under which the relay contains an exception a handler threw (relay.ts, router-bridge.ts). */
export const CONTAINED_ERRORS = ['handler_error', 'control_handler_error'] as const

/** A logger that keeps the last error messages: what a contained handler exception said. */
class ErrorLog implements Logger {
  last = ''
  debug(): void {}
  info(): void {}
  warn(): void {}
  error(msg: string, fields?: Record<string, unknown>): void {
    this.last = `${msg}: ${String(fields?.error ?? '')}`
  }
  child(): Logger {
    return this
  }
}

/** Router counters that count a refused input, each once (control_malformed_<reason>, not also their total). */
const ROUTER_DROP = /^(control_(malformed_|forged_|stale$|own_update$|delta_gap$|full_skipped$|chain_dropped$)|probe(Malformed|WrongSender|UnknownPeer|Duplicate|TooOld)$|origin_sample_)/

/** The relay under test, wired as the daemon wires it, with the fuzzer's session up. */
/** The relay's monotonic clock, moved by the runner; timers run on their own FakeClock (see runTimers). */
export class ManualClock {
  constructor(public ms = 1_000) {}
  nowMs(): number {
    return this.ms
  }
}

export class FuzzWorld {
  /** What the relay, the router and the endpoints read as now. */
  readonly clock = new ManualClock()
  /** When timers fire: run explicitly and less often than the clock moves, so a long fuzz run costs few ticks. */
  readonly timers = new FakeClock(1_000)
  readonly net = new DirectUdp()
  readonly tun = new FuzzTun()
  readonly configs = fuzzConfigs()
  readonly router: Router
  /** What the relay and the bridge logged as errors (a contained handler exception). */
  readonly errors = new ErrorLog()
  readonly relay: Relay
  readonly bridge: RouterBridge
  /** The fuzzer's own endpoint: seals plaintexts for lax with a real session key. */
  readonly peer: CryptoSecureEndpoint
  /** dal's endpoint (lax has no session with it): answers lax's initiations, for the handshake-response fuzzer. */
  readonly dal: CryptoSecureEndpoint
  /** Datagrams lax sent to fuz that the fuzzer has not read yet (handshake messages only). */
  private readonly toPeer: Buffer[] = []
  /** Datagrams fuz's endpoint sent to lax, not yet delivered. */
  private readonly fromPeer: Buffer[] = []
  /** The latest initiation lax sent to dal, and dal's response to it (undefined until one came). */
  laxInitToDal: Buffer | undefined
  dalResponse: Buffer | undefined
  /** Datagrams and bytes sent by any of lax's sockets (the caller resets them per input). */
  sentBytes = 0
  sentCount = 0
  /** Bytes lax sent back to the address of the current input's sender (the caller resets it). */
  repliedBytes = 0
  replyTo: PeerAddress | undefined
  private readonly laxAddr = { address: HOST, port: PORTS.lax }
  readonly fuzAddr = { address: HOST, port: PORTS.fuz }
  readonly dalAddr = { address: HOST, port: PORTS.dal }
  private readonly laxIndex: number

  constructor() {
    const cfg = this.configs.lax
    // Built as the daemon builds a relay (node/createRelayNode); started below piece by piece.
    const node = createRelayNode({ config: cfg, clock: this.clock, timers: this.timers, sockets: sameSockets(this.net), log: this.errors, cryptoBackend: 'auto', tun: this.tun })
    this.router = node.router
    this.relay = node.relay
    this.bridge = node.bridge
    this.net.onSend = (sent, data) => {
      this.sentBytes += sent.length
      this.sentCount++
      const to = sent.to
      if (this.replyTo !== undefined && to.port === this.replyTo.port && to.address === this.replyTo.address) this.repliedBytes += sent.length
      if (sent.from.port !== PORTS.lax) return
      // Handshake messages for fuz are read by the fuzzer's endpoint, so sessions (and rekeys) complete;
      // transport packets only while it waits for one to confirm a session it answered.
      if (to.port === PORTS.fuz) {
        if (data[OFF_TYPE] !== MSG_TRANSPORT || !this.peer.hasSession(this.laxIndex)) this.toPeer.push(Buffer.from(data))
      }
      else if (to.port === PORTS.dal && data[OFF_TYPE] === MSG_HANDSHAKE_INIT) this.onInitToDal(Buffer.from(data))
    }
    this.laxIndex = this.configs.fuz.peers.findIndex((p) => p.id === 'lax')
    this.peer = this.endpointOf('fuz', (data) => this.fromPeer.push(data))
    this.dal = this.endpointOf('dal', (data) => {
      if (data[OFF_TYPE] === MSG_HANDSHAKE_RESP) this.dalResponse = data
    })
  }

  /** An endpoint with `id`'s key whose datagrams to lax go to `out`. */
  private endpointOf(id: 'fuz' | 'dal', out: (data: Buffer) => void): CryptoSecureEndpoint {
    const keys = this.configs.keys[id]
    const peers = (['lax', 'fuz', 'dal', 'sea'] as const).filter((p) => p !== id)
    const lax = peers.indexOf('lax')
    return createSecureEndpoint({
      privateKey: keys.privateKey,
      peers: peers.map((p, index) => ({ index, publicKey: this.configs.keys[p].publicKey })),
      transmit: (peer, data, length) => {
        if (peer === lax) out(Buffer.from(data.subarray(0, length)))
      },
    })
  }

  private onInitToDal(init: Buffer): void {
    this.laxInitToDal = init
    this.dalResponse = undefined
    const lax = 0 // dal's peers are [lax, fuz, sea]
    this.dal.receive(lax, this.clock.nowMs(), init, init.length)
  }

  /** Signs map columns as `id` would (the fuzz world holds every relay's key): the fuzzer's own, and bait for dal. */
  signer(id: 'fuz' | 'dal'): Ed25519ColumnAuth {
    return new Ed25519ColumnAuth(this.configs.keys[id].privateKey, new Map())
  }

  /** Binds the sockets, starts the control plane and completes the fuzzer's handshake. */
  async start(): Promise<void> {
    await this.relay.start()
    this.bridge.start()
    this.peer.send(this.laxIndex, this.clock.nowMs(), Buffer.alloc(1), 0)
    for (let i = 0; i < 10 && !this.peer.hasSession(this.laxIndex); i++) this.pump()
    if (!this.peer.hasSession(this.laxIndex)) throw new Error('fuzz world: the fuzzer peer did not get a session with lax')
  }

  stop(): void {
    this.bridge.stop()
    this.relay.stop()
  }

  /** Delivers pending handshake messages between fuz and lax until both sides are quiet. */
  pump(): void {
    for (let round = 0; round < 8 && (this.fromPeer.length > 0 || this.toPeer.length > 0); round++) {
      for (const d of this.fromPeer.splice(0)) this.overlay(d)
      for (const d of this.toPeer.splice(0)) this.peer.receive(this.laxIndex, this.clock.nowMs(), d, d.length)
    }
  }

  /** Seals `plain` with fuz's session (as a peer holding a valid key); undefined while no session is up. */
  seal(plain: Buffer): Buffer | undefined {
    const before = this.fromPeer.length
    this.peer.send(this.laxIndex, this.clock.nowMs(), plain, plain.length)
    for (let i = before; i < this.fromPeer.length; i++) {
      const d = this.fromPeer[i]
      if (d[OFF_TYPE] === MSG_TRANSPORT) {
        this.fromPeer.splice(i, 1)
        return d
      }
    }
    return undefined
  }

  /** A datagram on lax's overlay socket, from fuz's address unless `from` is given. */
  overlay(data: Buffer, from: PeerAddress = this.fuzAddr): void {
    this.net.deliver(this.laxAddr, from, data)
  }

  /** A client datagram on one of lax's service sockets. */
  client(port: number, from: PeerAddress, data: Buffer): void {
    this.net.deliver({ address: HOST, port }, from, data)
  }

  /** Moves the clock on by `ms` (no timer runs). */
  advance(ms: number): void {
    this.clock.ms += ms
  }

  /** Runs `ms` of timers (crypto ticks, flow sweeps, router ticks and floods); handshakes complete. */
  runTimers(ms: number): void {
    this.timers.advance(ms)
    this.pump()
  }

  /** Handler exceptions the relay caught and counted so far (each one a crash the relay survived). */
  containedErrors(): number {
    return this.relay.drops.get(CONTAINED_ERRORS[0]) + this.relay.drops.get(CONTAINED_ERRORS[1])
  }

  /** Every drop counter of the relay (crypto drops included, by their own names) and the router's, by reason. */
  dropsByReason(): Record<string, number> {
    const st = this.relay.stats()
    const out: Record<string, number> = {}
    const add = (k: string, v: number): void => {
      if (v > 0) out[k] = (out[k] ?? 0) + v
    }
    for (const [k, v] of Object.entries(st.drops)) add(k, v)
    for (const s of Object.values(st.services)) for (const [k, v] of Object.entries(s.drops)) add(k, v)
    for (const [k, v] of Object.entries(this.router.counters?.() ?? {})) if (ROUTER_DROP.test(k)) add(`router_${k}`, v)
    return out
  }
}
