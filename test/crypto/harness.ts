/**
 * In-process wiring for endpoint tests: N endpoints joined by a fake network
 * on a FakeClock. Every datagram is copied and delivered by a timer after a
 * latency (plus optional seeded jitter, which reorders packets). Tests can
 * hold, drop or tamper with datagrams through `filter`.
 */
import { FakeClock } from '../../src/io/fake-clock.js'
import { createSecureEndpoint, publicKeyFromPrivate, type CryptoSecureEndpoint, type KeyPair } from '../../src/crypto/index.js'
import type { PeerKeys, SecureEndpointOptions } from '../../src/crypto/types.js'

/** xorshift32: small, seeded, good enough to drive tests reproducibly. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s / 0x100000000
  }
}

export function seededBytes(seed: number): (n: number) => Uint8Array {
  const next = seededRandom(seed)
  return (n) => {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256)
    return out
  }
}

/** A reproducible static key pair, so tie-breaks by key order are the same every run. */
export function seededKeyPair(seed: number): KeyPair {
  const privateKey = seededBytes(seed)(32)
  return { privateKey, publicKey: publicKeyFromPrivate(privateKey) }
}

export interface Datagram {
  from: number
  to: number
  data: Buffer
}

export interface Delivery {
  from: number
  to: number
  /** Outer message type byte of the datagram. */
  type: number
  result: number
  plain: Buffer | null
}

export interface NetOptions {
  latencyMs?: number
  jitterMs?: number
  seed?: number
  backends?: ('sodium' | 'tweetnacl')[]
  endpoint?: Partial<SecureEndpointOptions>
  /** keys[i] replaces node i's generated key pair. */
  keys?: KeyPair[]
  /** Every node's onKeys, tagged with the node (multi-worker tests). */
  onKeys?: (node: number, peer: number, keys: PeerKeys) => void
}

/**
 * Nodes 0..n-1, fully meshed. Node i names node j by peer index j (its own
 * index is unused), which keeps test code readable: `net.send(0, 1, payload)`.
 */
export class Net {
  readonly clock = new FakeClock(1_000)
  readonly keys: KeyPair[]
  readonly nodes: CryptoSecureEndpoint[] = []
  readonly deliveries: Delivery[] = []
  readonly sessionUps: { node: number; peer: number; atMs: number }[] = []
  /** Return null to drop, or a (possibly modified) datagram. */
  filter: (d: Datagram) => Datagram | null = (d) => d
  /** Every datagram put on the wire, before the filter. */
  readonly wire: Datagram[] = []
  private readonly jitter: () => number
  private readonly latencyMs: number
  private readonly jitterMs: number

  constructor(n: number, opts: NetOptions = {}) {
    this.latencyMs = opts.latencyMs ?? 5
    this.jitterMs = opts.jitterMs ?? 0
    this.jitter = seededRandom((opts.seed ?? 7) * 7919)
    this.keys = Array.from({ length: n }, (_, i) => opts.keys?.[i] ?? seededKeyPair((opts.seed ?? 7) * 1000 + i))
    for (let i = 0; i < n; i++) {
      const peers = this.keys.flatMap((k, j) => (j === i ? [] : [{ index: j, publicKey: k.publicKey }]))
      this.nodes.push(
        createSecureEndpoint({
          privateKey: this.keys[i].privateKey,
          peers,
          backend: opts.backends?.[i] ?? 'auto',
          randomBytes: seededBytes((opts.seed ?? 7) * 100 + i + 1),
          transmit: (peer, data, length) => this.put({ from: i, to: peer, data: Buffer.from(data.subarray(0, length)) }),
          onSessionUp: (peer, atMs) => this.sessionUps.push({ node: i, peer, atMs }),
          onKeys: opts.onKeys && ((peer, keys) => opts.onKeys!(i, peer, keys)),
          ...opts.endpoint,
        }),
      )
    }
  }

  private put(d: Datagram): void {
    this.wire.push(d)
    const f = this.filter(d)
    if (f === null) return
    const delayMs = this.latencyMs + this.jitter() * this.jitterMs
    this.clock.setTimeout(() => this.deliver(f), delayMs)
  }

  /** Hands a datagram to its destination now and records the outcome. */
  deliver(d: Datagram): number {
    const ep = this.nodes[d.to]
    const result = ep.receive(d.from, this.clock.nowMs(), d.data, d.data.length)
    const plain = result >= 0 ? Buffer.from(ep.plaintext().subarray(0, result)) : null
    this.deliveries.push({ from: d.from, to: d.to, type: d.data[1], result, plain })
    return result
  }

  send(from: number, to: number, payload: Buffer, lane = 0): boolean {
    return this.nodes[from].send(to, this.clock.nowMs(), payload, payload.length, lane)
  }

  /** Advances time in steps of `stepMs`, calling tick on every node at each step. */
  run(ms: number, stepMs = 100): void {
    const end = this.clock.nowMs() + ms
    while (this.clock.nowMs() < end) {
      this.clock.advance(Math.min(stepMs, end - this.clock.nowMs()))
      for (const n of this.nodes) n.tick(this.clock.nowMs())
    }
  }

  /** Non-empty plaintexts delivered to `to` from `from`, in arrival order (keepalives are empty). */
  received(to: number, from: number): Buffer[] {
    return this.deliveries.filter((d) => d.to === to && d.from === from && d.plain !== null && d.plain.length > 0).map((d) => d.plain as Buffer)
  }
}

export function payload(text: string): Buffer {
  return Buffer.from(text, 'utf8')
}
