/**
 * The fuzz targets: one per input path of a relay that reads untrusted
 * bytes. Each target builds what it feeds (a FuzzWorld for the relay's own
 * handlers) and returns, per input, a thunk that hands one generated input
 * to the handler: the runner calls the thunk inside try/catch, so a throw is
 * a crash of that handler, never of the generator. A thunk may return a
 * string: a property the handler broke (e.g. a reply larger than its request).
 */
import { selectAead } from '../../src/crypto/aead.js'
import { DEFAULT_REJECT_AFTER_MS } from '../../src/crypto/secure-endpoint.js'
import { sodiumDh, tweetnaclDh } from '../../src/crypto/dh.js'
import { createInitiation, HS_OFF_SENDER, INIT_LEN, INIT_OFF_MAC1, localIdentity, remoteIdentity, RESP_LEN, RESP_OFF_MAC1 } from '../../src/crypto/handshake.js'
import { mac1 } from '../../src/crypto/kdf.js'
import { generateKeyPair } from '../../src/crypto/keys.js'
import { nextHandshakeTimestamp } from '../../src/crypto/timestamp.js'
import { routerFor } from '../../src/node/index.js'
import { parseProxyV2Header } from '../../src/dataplane/proxy-protocol.js'
import { IpPacket, parseIpPacket } from '../../src/l3/ip-packet.js'
import { ICMP_ECHO_REPLY, parseEcho } from '../../src/origin/icmp.js'
import { encodeSenderPacket, S_HEADER_BYTES, TWAMP_LIGHT_PORT } from '../../src/origin/twamp-codec.js'
import { MAX_TEST_PACKET_BYTES, TwampReflectorCore, UNKNOWN_TTL } from '../../src/origin/twamp-reflector.js'
import { ReflectorGuard } from '../../src/origin/reflector-guard.js'
import { TwampSender } from '../../src/origin/twamp-sender.js'
import { KIND_CONTROL, KIND_DATA, KIND_PROBE } from '../../src/wire/data.js'
import { MSG_COOKIE_REPLY, MSG_HANDSHAKE_INIT, MSG_HANDSHAKE_RESP, MSG_TRANSPORT, WIRE_VERSION } from '../../src/wire/outer.js'
import { COOKIE_OFF_RECEIVER, COOKIE_REPLY_LEN } from '../../src/crypto/cookie.js'
import { nativeTransit } from './native-transit.js'
import { RelayBait, controlPlain, dataPlain, type Signer, fixEchoChecksum, fixIpv4Checksum, icmpEcho, ipPacket, probePlain, proxyHeader } from './messages.js'
import { mutate, randomMutations, randomVariant } from './mutate.js'
import type { Rng } from './rng.js'
import { FuzzWorld, HOST, PORTS, SERVICE_PORTS } from './world.js'

/** One input, ready to be handed over; returns a broken property's description, or nothing. */
export type Feed = () => string | void

export interface Harness {
  /** Draws the next input from `rng` and returns the thunk that feeds it. */
  next(rng: Rng): Feed
  /** Inputs refused, by reason (the handler's own counters). */
  dropsByReason(): Record<string, number>
  /** Lets what the inputs set off asynchronously finish (native_transit: its sink reads what was delivered); the runner awaits it between batches of inputs and at the end. */
  settle?(): Promise<void>
  stop(): void
}

export interface Target {
  name: string
  /** What the target feeds, for the report and docs/security.md. */
  path: string
  setup(): Promise<Harness>
}

const STRANGER = { address: '192.0.2.99', port: 4444 }

/** Shared shape of the targets that feed a FuzzWorld: time moves `stepMs` per input, timers run every `timerEvery` inputs. */
async function worldHarness(
  gen: (w: FuzzWorld, rng: Rng) => Feed,
  opts: { stepMs?: number; timerEvery?: number; before?: (w: FuzzWorld) => void } = {},
): Promise<Harness> {
  const stepMs = opts.stepMs ?? 0.01
  const timerEvery = opts.timerEvery ?? 256
  const w = new FuzzWorld()
  await w.start()
  let count = 0
  let contained = 0
  /** A handler exception the relay contained is a crash all the same: it throws here, so the runner counts it. */
  const check = (): void => {
    const now = w.containedErrors()
    if (now === contained) return
    contained = now
    throw new ContainedError(w.errors.last)
  }
  return {
    next(rng) {
      // Timers (router ticks, floods, sweeps) run inside the thunk: what they throw counts as a crash too.
      const timers = ++count % timerEvery === 0
      opts.before?.(w)
      w.advance(stepMs)
      w.sentBytes = 0
      w.sentCount = 0
      w.repliedBytes = 0
      const feed = gen(w, rng)
      return () => {
        if (timers) {
          w.runTimers(25)
          // What the timers sent (probes, floods) is not a reply to this input.
          w.sentBytes = 0
          w.sentCount = 0
          w.repliedBytes = 0
        }
        const broken = feed()
        check()
        return broken
      }
    },
    dropsByReason: () => w.dropsByReason(),
    stop: () => w.stop(),
  }
}

/** A handler threw and the relay caught it (relay.ts handler_error, router-bridge.ts control_handler_error). */
export class ContainedError extends Error {
  override readonly name = 'ContainedError'
  constructor(logged: string) {
    super(`the relay contained a handler exception: ${logged}`)
  }
}

/** Checks the "no reply larger than its request" rule for the input just fed. */
function replyNotLarger(w: FuzzWorld, request: number): string | void {
  if (w.repliedBytes > request) return `reply of ${w.repliedBytes} bytes to a ${request}-byte request`
}

// ---- overlay socket -----------------------------------------------------------------

const outer: Target = {
  name: 'outer',
  path: 'overlay socket handler (Relay.onOverlayDatagram): outer header and transport open, raw and mutated sealed datagrams, known and unknown sources',
  async setup() {
    const recent: Buffer[] = []
    return worldHarness((w, rng) => {
      const r = rng.below(10)
      let d: Buffer
      if (r < 2) d = rng.bytes(rng.int(0, 200))
      else if (r < 6) {
        const plain = rng.bytes(rng.int(1, 120))
        plain[0] = rng.pick([KIND_DATA, KIND_CONTROL, KIND_PROBE, 0, 9])
        const sealed = w.seal(plain) ?? rng.bytes(60)
        if (recent.length < 64) recent.push(sealed)
        else recent[rng.below(64)] = sealed
        d = rng.chance(0.2) ? sealed : randomVariant(rng, sealed)
      } else if (r < 9) {
        d = rng.bytes(rng.pick([INIT_LEN, RESP_LEN, COOKIE_REPLY_LEN, 16, 32, 33, rng.int(8, 160)]))
        d[0] = rng.chance(0.9) ? WIRE_VERSION : rng.below(256)
        d[1] = rng.pick([MSG_HANDSHAKE_INIT, MSG_HANDSHAKE_RESP, MSG_TRANSPORT, MSG_COOKIE_REPLY, 0, 5, 255])
        if (rng.chance(0.8)) d[2] = d[3] = 0
      } else d = recent.length > 0 ? rng.pick(recent) : rng.bytes(40) // replays
      const from = rng.chance(0.9) ? w.fuzAddr : rng.chance(0.5) ? STRANGER : { address: HOST, port: PORTS.sea + 1 }
      const stranger = from !== w.fuzAddr
      w.replyTo = from
      return () => {
        w.overlay(d, from)
        if (stranger && w.sentCount > 0) return `${w.sentCount} datagrams sent after an input from an unknown source`
        return replyNotLarger(w, d.length)
      }
    })
  },
}

// ---- handshake --------------------------------------------------------------------------

const handshakeInit: Target = {
  name: 'handshake_init',
  path: 'overlay socket handler with handshake initiations: valid ones from the peer key, from unknown keys, mutated (mac1 recomputed on half, so DH and AEAD paths run)',
  async setup() {
    const c = { aead: selectAead('auto'), dh: sodiumDh() ?? tweetnaclDh }
    // Valid initiations (2 X25519 each) are made now and then and reused: mutations are what is fuzzed.
    const pool: Buffer[] = []
    const initiation = (w: FuzzWorld, rng: Rng): Buffer => {
      if (pool.length < 32 || rng.chance(0.002)) {
        const known = rng.chance(0.8)
        const me = known ? w.configs.keys.fuz : generateKeyPair()
        const local = localIdentity(me.privateKey, me.publicKey)
        const remote = remoteIdentity(c.dh, local, w.configs.keys.lax.publicKey)
        const made = createInitiation(c, local, remote, rng.u32(), rng.bytes(32), nextHandshakeTimestamp())
        if (made !== null) {
          if (pool.length < 32) pool.push(made.msg)
          else pool[rng.below(32)] = made.msg
        }
      }
      return rng.pick(pool)
    }
    return worldHarness(
      (w, rng) => {
        const msg = Buffer.from(initiation(w, rng))
        const d = rng.chance(0.1) ? msg : mutate(msg, randomMutations(rng, msg.length))
        if (d.length >= INIT_LEN && rng.chance(0.5)) mac1(laxMac1(w), d, INIT_OFF_MAC1).copy(d, INIT_OFF_MAC1)
        const from = rng.chance(0.95) ? w.fuzAddr : STRANGER
        w.replyTo = from
        return () => {
          w.overlay(d, from)
          if (from === STRANGER && w.sentCount > 0) return 'a stranger got a reply'
          return replyNotLarger(w, d.length)
        }
      },
      // The per-peer limit allows 20 initiations a second: most inputs should get past it.
      { stepMs: 60, timerEvery: 64 },
    )
  },
}

const laxMac1Cache = new WeakMap<FuzzWorld, Buffer>()
function laxMac1(w: FuzzWorld): Buffer {
  let k = laxMac1Cache.get(w)
  if (k === undefined) laxMac1Cache.set(w, (k = localIdentity(w.configs.keys.lax.privateKey, w.configs.keys.lax.publicKey).mac1Key))
  return k
}

const handshakeResp: Target = {
  name: 'handshake_resp',
  path: 'overlay socket handler with handshake responses and cookie replies to an initiation lax has in flight (to dal): mutated, mac1 recomputed on half',
  async setup() {
    const dalIndex = (w: FuzzWorld): number => w.relay.peers.findIndex((p) => p?.id === 'dal')
    const kick = Buffer.from([KIND_PROBE])
    return worldHarness(
      (w, rng) => {
        if (w.dalResponse === undefined) w.relay.sendPlain(w.relay.peers[dalIndex(w)]!, kick, 1)
        let d: Buffer
        if (rng.chance(0.3)) {
          // A cookie reply (the third handshake message) naming lax's initiation in flight, with forged contents.
          d = rng.bytes(COOKIE_REPLY_LEN)
          d[0] = WIRE_VERSION
          d[1] = MSG_COOKIE_REPLY
          d[2] = d[3] = 0
          if (w.laxInitToDal !== undefined && rng.chance(0.9)) w.laxInitToDal.copy(d, COOKIE_OFF_RECEIVER, HS_OFF_SENDER, HS_OFF_SENDER + 4)
          if (rng.chance(0.3)) d = randomVariant(rng, d)
        } else {
          const template = w.dalResponse ?? rng.bytes(RESP_LEN)
          d = mutate(template, randomMutations(rng, template.length))
          if (d.length >= RESP_LEN && rng.chance(0.5)) mac1(laxMac1(w), d, RESP_OFF_MAC1).copy(d, RESP_OFF_MAC1)
        }
        const from = rng.chance(0.95) ? w.dalAddr : STRANGER
        w.replyTo = from
        // No reply-size check: a response that completes the handshake flushes lax's queue to dal, by design.
        return () => {
          w.overlay(d, from)
          if (from === STRANGER && w.sentCount > 0) return 'a stranger got a reply'
        }
      },
      {
        stepMs: 5,
        timerEvery: 64,
        // The sender index is not authenticated (as in WireGuard), so a mutation there, with mac1 recomputed,
        // completes the handshake. Then let lax's keys expire, so it initiates again and there is more to fuzz.
        before: (w) => {
          if (!w.relay.endpoint.hasSession(dalIndex(w))) return
          w.advance(DEFAULT_REJECT_AFTER_MS + 1_000)
          w.runTimers(100)
        },
      },
    )
  },
}

// ---- plaintexts behind the crypto (a peer holding a valid key) --------------------------------

function sealedHarness(make: (rng: Rng) => Buffer, opts: { timerEvery?: number } = {}): Promise<Harness> {
  return worldHarness((w, rng) => {
    const plain = make(rng)
    const p = rng.chance(0.5) ? plain : randomVariant(rng, plain)
    const d = w.seal(p.length > 0 ? p : Buffer.from([0]))
    return () => {
      if (d === undefined) w.pump()
      else w.overlay(d)
    }
  }, opts)
}

const data: Target = {
  name: 'data',
  path: 'data header, path, client-address extension and delivery (transit, exit with proxy and PROXY v2, ingress replies, dedup), sealed by a peer',
  setup: () => sealedHarness((rng) => dataPlain(rng)),
}

const probe: Target = {
  name: 'probe',
  path: 'kind-3 probes through RouterBridge.onProbe into the router\'s prober, sealed by a peer',
  setup: () => sealedHarness(probePlain),
}

const control: Target = {
  name: 'control',
  path: 'kind-2 control messages: msgpack decode (RouterBridge.onControl), parseMapUpdate, map apply, relaying on to other relays and the floods that re-pack stored state on router ticks',
  async setup() {
    let bait: RelayBait | undefined
    let signFuz: Signer | undefined
    let fuzSeq = 0
    let n = 0
    return worldHarness((w, rng) => {
      bait ??= new RelayBait(w.signer('dal'))
      signFuz ??= w.signer('fuz')
      // Every 8th input is bait that makes lax a relayer for fuz's updates (messages.ts, RelayBait).
      const turn = n++ % 8
      const bites = turn === 0 || turn === 4
      const plain = turn === 0 ? bait.probe(w.clock.nowMs()) : turn === 4 ? bait.dalColumn() : controlPlain(rng, () => ++fuzSeq, signFuz)
      const p = bites || rng.chance(0.5) ? plain : randomVariant(rng, plain)
      const d = w.seal(p)
      return () => {
        if (d === undefined) w.pump()
        else w.overlay(d)
      }
    // 1 ms a step: probes (every 8 ms) keep fuz -> lax up, and lax floods its own column every second.
    }, { stepMs: 1, timerEvery: 32 })
  },
}

// ---- service sockets and TUN ---------------------------------------------------------------

const service: Target = {
  name: 'service_ingress',
  path: 'public service sockets (IngressSide.onClientDatagram): any client address, any size, proxy and PROXY v2 services',
  async setup() {
    return worldHarness((w, rng) => {
      const v6 = rng.chance(0.3)
      const address = v6 ? `2001:db8::${rng.below(0x10000).toString(16)}` : rng.chance(0.1) ? `::ffff:10.0.${rng.below(256)}.${rng.below(256)}` : `10.${rng.below(256)}.${rng.below(256)}.${rng.below(256)}`
      const from = { address, port: rng.below(0x10000) }
      const d = rng.bytes(rng.chance(0.05) ? rng.int(1300, 1600) : rng.int(0, 300))
      const port = rng.chance(0.5) ? SERVICE_PORTS.game : SERVICE_PORTS.pp
      return () => {
        w.client(port, from, d)
      }
    })
  },
}

const ICMP_V4_LIMIT = 576
const ICMP_V6_LIMIT = 1280

const l3Ingress: Target = {
  name: 'l3_ingress',
  path: 'TUN read handler (L3Ingress.onTunPacket): IPv4/IPv6 parse, LPM, TTL, MSS clamp, fragmentation, ICMP errors back into the TUN',
  async setup() {
    return worldHarness((w, rng) => {
      const pkt = ipPacket(rng)
      const d = rng.chance(0.4) ? pkt : randomVariant(rng, pkt)
      if (rng.chance(0.7)) fixIpv4Checksum(d)
      return () => {
        const before = w.tun.written
        w.tun.largestWritten = 0
        w.tun.handler(d)
        if (w.tun.written > before && w.tun.largestWritten > (d[0] >> 4 === 4 ? ICMP_V4_LIMIT : ICMP_V6_LIMIT)) {
          return `ICMP error of ${w.tun.largestWritten} bytes`
        }
      }
    })
  },
}

const l3Exit: Target = {
  name: 'l3_exit',
  path: 'L3 exit (L3Exit.deliverForward): IP payloads of data packets from a peer, checked before they are written into the TUN',
  async setup() {
    const pkt = new IpPacket()
    let bad = 0
    const h = await worldHarness((w, rng) => {
      if (w.tun.onWrite === undefined) {
        w.tun.onWrite = (b, off, len) => {
          if (parseIpPacket(b, off, len, pkt) !== len) bad++
        }
      }
      const ip = rng.chance(0.5) ? ipPacket(rng) : randomVariant(rng, ipPacket(rng))
      if (rng.chance(0.7)) fixIpv4Checksum(ip)
      const plain = dataPlain(rng, rng.chance(0.8) ? 'site' : 'dc', ip)
      const d = w.seal(rng.chance(0.8) ? plain : randomVariant(rng, plain))
      return () => {
        const before = bad
        if (d === undefined) w.pump()
        else w.overlay(d)
        if (bad > before) return 'wrote a packet into the TUN that does not parse as exactly one IP packet'
      }
    })
    return h
  },
}

// ---- origin probes and the reflector --------------------------------------------------------------

const reflector: Target = {
  name: 'twamp_reflector',
  path: 'the reflector socket handler (TwampReflectorCore.handle with the ReflectorGuard `overpass reflector` builds): any source address and port, any size',
  async setup() {
    const core = new TwampReflectorCore(new ReflectorGuard({ listenPort: TWAMP_LIGHT_PORT }))
    const out = Buffer.alloc(MAX_TEST_PACKET_BYTES)
    const buf = Buffer.alloc(1600)
    let nowMs = 0
    return {
      next(rng) {
        nowMs += 0.1
        const address = rng.chance(0.3) ? `2001:db8::${rng.below(64).toString(16)}` : `192.0.2.${rng.below(256)}`
        const port = rng.chance(0.1) ? rng.pick([TWAMP_LIGHT_PORT, 0, 53, 1023]) : rng.int(1024, 65535)
        const len = rng.chance(0.1) ? rng.int(0, 1600) : rng.int(S_HEADER_BYTES, 200)
        const n = encodeSenderPacket(buf, { seq: rng.u32(), timestampMs: rng.float() * 4e12, errorEstimate: rng.below(0x10000) }, Math.max(S_HEADER_BYTES, Math.min(len, buf.length)))
        const req = randomVariant(rng, buf.subarray(0, n), 0.3)
        return () => {
          const reply = core.handle(address, port, nowMs, req, req.length, 1e12, 1e12 + 0.01, UNKNOWN_TTL, out)
          if (reply > req.length) return `reply of ${reply} bytes to a ${req.length}-byte request`
        }
      },
      dropsByReason: () => {
        const { reflected: _ok, ...drops } = core.counters
        return drops
      },
      stop: () => {},
    }
  },
}

const twampSender: Target = {
  name: 'twamp_sender',
  path: 'replies on an exit\'s TWAMP socket (TwampSender.onReply, then Router.onOriginSample), as control/origin-probes.ts handles them',
  async setup() {
    const w = new FuzzWorld()
    const router = routerFor(w.configs.lax)
    const sender = new TwampSender({ service: 'pp', intervalMs: 10 })
    const core = new TwampReflectorCore()
    const out = Buffer.alloc(MAX_TEST_PACKET_BYTES)
    let now = 1_000
    let last: Buffer | undefined
    return {
      next(rng) {
        now += 1
        const t = sender.tick(now)
        for (const lost of t.losses) router.onOriginSample(now, lost)
        if (t.packet) last = Buffer.from(t.packet)
        let reply: Buffer
        if (last !== undefined && rng.chance(0.9)) {
          const n = core.reflect(last, last.length, now * 1.0001, now * 1.0001 + 0.1, 64, out)
          reply = rng.chance(0.2) ? Buffer.from(out.subarray(0, n)) : randomVariant(rng, out.subarray(0, n))
        } else reply = rng.bytes(rng.int(0, 100))
        const at = now
        return () => {
          const sample = sender.onReply(at, reply)
          if (sample) router.onOriginSample(at, sample)
        }
      },
      dropsByReason: () => {
        const { sent: _s, replies: _r, lost: _l, ...drops } = sender.counters as unknown as Record<string, number>
        const rc = router.counters?.() ?? {}
        for (const [k, v] of Object.entries(rc)) if (k.startsWith('origin_sample')) drops[`router_${k}`] = v
        return drops
      },
      stop: () => {},
    }
  },
}

const icmpEchoTarget: Target = {
  name: 'icmp_echo',
  path: 'replies on an exit\'s raw ICMP socket (parseEcho and the matching in control/origin-probes.ts)',
  async setup() {
    const drops: Record<string, number> = {}
    const count = (k: string): void => {
      drops[k] = (drops[k] ?? 0) + 1
    }
    const pending = new Map<number, number>([[1, 0], [2, 0]])
    return {
      next(rng) {
        const d = randomVariant(rng, icmpEcho(rng), 0.2)
        if (rng.chance(0.5)) fixEchoChecksum(d)
        return () => {
          const m = parseEcho(d)
          if (!m) return count('malformed')
          if (m.type !== ICMP_ECHO_REPLY) return count('not_reply')
          if (m.payloadOffset + m.payloadLength > d.length) return `payload past the end: ${m.payloadOffset}+${m.payloadLength} > ${d.length}`
          if (!pending.has(m.seq)) count('unknown_seq')
        }
      },
      dropsByReason: () => drops,
      stop: () => {},
    }
  },
}

const proxyV2: Target = {
  name: 'proxy_v2',
  path: 'PROXY v2 header parser (parseProxyV2Header), as an origin behind an exit reads it; the exit\'s own PROXY v2 path is in `data`',
  async setup() {
    let refused = 0
    return {
      next(rng) {
        const h = proxyHeader(rng)
        const d = rng.chance(0.1) ? h : randomVariant(rng, h)
        return () => {
          const p = parseProxyV2Header(d)
          if (p === undefined) return void refused++
          if (p.headerLen > d.length) return `header length ${p.headerLen} past the ${d.length}-byte datagram`
        }
      },
      dropsByReason: () => ({ refused }),
      stop: () => {},
    }
  },
}

export const TARGETS: readonly Target[] = [
  outer, handshakeInit, handshakeResp, data, probe, control, service, l3Ingress, l3Exit, reflector, twampSender, icmpEchoTarget, proxyV2, nativeTransit,
]
