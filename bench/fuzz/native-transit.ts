/**
 * The `native_transit` fuzz target: native/transit.c and the exit's native
 * delivery behind it (native/exit-flows.c), as the batched overlay socket
 * runs them per datagram before JS, through the table's test entry
 * (tryForward). Two peers seal to the table under their receive keys;
 * inputs are transit plaintexts (messages.ts dataPlain), plaintexts that end
 * at this relay (exit-flows.ts exitPlain: every path length and index,
 * flags, extensions, truncations, registered flows and others), mutations
 * of the sealed datagrams, raw bytes, replays, sources that are not the
 * key's peer, short output buffers; and, between them, changes to the exit
 * flows the table holds (exit-flows.ts ExitFlows.churn).
 *
 * Properties, per input: the table never writes past its output, never
 * changes a datagram it declines, never accepts (forwards, opens or
 * delivers) the same datagram twice (the replay window it shares with JS),
 * accepts only from the key's peer on the table's lane; what it forwards
 * opens under the next hop's key to the input's plaintext with the hop count
 * down by one and the path index up by one; what it opens for JS is the
 * input's plaintext; it delivers exactly what the model of the exit says
 * (ExitFlows.expect), advancing that flow's counters only, and the payload
 * reaches the sink from that flow's socket; anything it does not deliver
 * leaves the exit's counters as they were. Crashes are the process's: run it
 * under AddressSanitizer to see a stray read that lands in mapped memory
 * (docs/security.md, Fuzzing).
 * Where the table is not built (no libsodium) every input is a no-op.
 */
import { loadSodium } from '../../src/crypto/sodium-loader.js'
import { NativeTransitTable } from '../../src/io/native-transit.js'
import { MSG_TRANSPORT, WIRE_VERSION } from '../../src/wire/outer.js'
import { nameId } from '../../src/wire/ids.js'
import { ExitFlows, exitPlain, SENDERS } from './exit-flows.js'
import { dataPlain } from './messages.js'
import { randomVariant } from './mutate.js'
import type { Rng } from './rng.js'
import type { Harness, Target } from './targets.js'
import { HOST, PORTS } from './world.js'

const STRANGER = { address: '192.0.2.99', port: 4444 }
/** The receive keys' local indexes, by peer slot (fuz, dal: exit-flows.ts SENDERS). */
const RX_INDEXES = [0x11223344, 0x2468ace0]
/** Counters per lane in the high word of the nonce (wire/outer.ts). */
const LANE_UNIT = 0x10000
/** Share of inputs that change the exit flows instead of offering a datagram. */
const CHURN = 0.03
const TS_DELIVERED = 2

export const nativeTransit: Target = {
  name: 'native_transit',
  path: 'native transit fast path and exit delivery (native/transit.c transit_try, native/exit-flows.c): outer header, receiver lookup, replay window, open, data header and path checks, re-seal; exit flows registered, changed and removed, their origin sockets closed',
  async setup(): Promise<Harness> {
    const sodium = loadSodium()
    const table = NativeTransitTable.create({ selfNode: nameId('lax'), peerCount: 2, family: 4, rekeyAfterPackets: 2 ** 40, rejectAfterPackets: 2 ** 47, nowMs: 0 })
    if (table === undefined || sodium === null) {
      return { next: () => () => {}, dropsByReason: () => ({ unavailable: 1 }), stop: () => {} }
    }
    const counts = { forwarded: 0, opened: 0, declined: 0 }
    /** Accepted and not delivered, by the exit model's reason (coverage of exit-flows.c's checks). */
    const notDelivered: Record<string, number> = {}
    const peers = [{ address: HOST, port: PORTS.fuz }, { address: HOST, port: PORTS.dal }]
    const rxKeys = [Buffer.alloc(32, 1), Buffer.alloc(32, 4)]
    const txKeys = [Buffer.alloc(32, 2), Buffer.alloc(32, 3)]
    for (let i = 0; i < 2; i++) {
      table.setPeer(i, SENDERS[i], peers[i].address, peers[i].port)
      table.receiveKey(i, RX_INDEXES[i], rxKeys[i], new Uint32Array(256), new Float64Array(1), 1e12)
    }
    table.sendKey(0, 0x55667788, txKeys[0], new Float64Array(2), 1e12)
    table.sendKey(1, 0x99aabbcc, txKeys[1], new Float64Array(2), 1e12)
    const exit = await ExitFlows.create(table)
    const out = Buffer.alloc(4096 + 64, 0xee)
    const nonce = Buffer.alloc(24)
    /** Each datagram accepted so far, by key and counter (a nonce): none may be accepted again. */
    const accepted = new Set<number>()
    const recent: { d: Buffer; key: number }[] = []
    const highest = [0, 0]
    let nowMs = 1
    const seal = (key: number, plain: Buffer, n: number): Buffer => {
      const d = Buffer.alloc(32 + plain.length)
      d[0] = WIRE_VERSION
      d[1] = MSG_TRANSPORT
      d.writeUInt32BE(RX_INDEXES[key], 4)
      d.writeUInt32BE(Math.floor(n / 2 ** 32), 8)
      d.writeUInt32BE(n >>> 0, 12)
      d.copy(nonce, 0, 0, 16)
      sodium.crypto_secretbox_easy(d.subarray(16), plain, nonce, rxKeys[key])
      return d
    }
    /** The plaintext of sealed datagram `d` under `key`, or undefined. */
    const open = (d: Buffer, key: Buffer): Buffer | undefined => {
      const plain = Buffer.alloc(d.length - 32)
      d.copy(nonce, 0, 0, 16)
      return sodium.crypto_secretbox_open_easy(plain, d.subarray(16), nonce, key) ? plain : undefined
    }
    /** Mostly the next counter, sometimes behind (inside or outside the window), sometimes far ahead. */
    const counterFor = (key: number, rng: Rng): number => {
      if (rng.chance(0.85)) return ++highest[key]
      if (rng.chance(0.6)) return Math.max(0, highest[key] - rng.int(0, 9000))
      return (highest[key] += rng.int(1, 100_000))
    }

    const offer = (d: Buffer, from: { address: string; port: number }, capacity: number, now: number): string | void => {
      exit.snapshot()
      const deliveredBefore = table.counters[TS_DELIVERED]
      // The table decrypts in place what it accepts: it works on a copy, `d` stays the sealed datagram. The copy is
      // its own allocation, exactly as long as the datagram, so AddressSanitizer sees any read past its end.
      const input = Buffer.alloc(d.length)
      d.copy(input)
      const res = table.tryForward(input, input.length, from.address, from.port, now, out.subarray(0, capacity))
      if (out[capacity] !== 0xee && capacity < out.length) return `wrote past its ${capacity}-byte output`
      if (res === null) {
        if (!input.equals(d)) return 'changed a datagram it declined'
        counts.declined++
        return exit.untouched('a declined datagram')
      }
      const key = RX_INDEXES.indexOf(d.readUInt32BE(4))
      const hi = d.readUInt32BE(8)
      if (key < 0 || from !== peers[key]) return `accepted a datagram from ${from.address}:${from.port}, not the key's peer`
      if (hi >= LANE_UNIT) return `accepted a datagram of lane ${Math.floor(hi / LANE_UNIT)}`
      const nonceId = (key * LANE_UNIT + hi) * 2 ** 32 + d.readUInt32BE(12)
      if (accepted.has(nonceId)) return 'accepted the same datagram twice (replay)'
      accepted.add(nonceId)
      const sent = open(d, rxKeys[key])
      if (sent === undefined) return 'accepted a datagram that does not open'
      const expected = exit.expect(sent, SENDERS[key])
      if (res.delivered) {
        if (res.slot !== key || table.counters[TS_DELIVERED] !== deliveredBefore + 1) return 'delivery counted wrong'
        return exit.checkDelivered(expected, sent, now)
      }
      if (typeof expected !== 'string') return `${res.opened ? 'opened' : 'forwarded'} a datagram of registered flow slot ${expected.slot} instead of delivering it`
      notDelivered[expected] = (notDelivered[expected] ?? 0) + 1
      const touched = exit.untouched()
      if (touched !== undefined) return touched
      if (res.opened) {
        counts.opened++
        if (res.slot !== key || !input.subarray(res.offset, res.offset + res.length).equals(sent)) return 'opened plaintext or peer slot wrong'
        return
      }
      counts.forwarded++
      const { length, slot } = res
      if (length !== d.length || (slot !== 0 && slot !== 1)) return `forwarded ${length} bytes to slot ${slot} for a ${d.length}-byte input`
      const opened = open(out.subarray(0, length), txKeys[slot])
      if (opened === undefined) return 'output does not open under the next hop key'
      if (opened[2] !== sent[2] - 1 || opened[4] !== sent[4] + 1) return 'hops or path index not popped'
      opened[2] = sent[2]
      opened[4] = sent[4]
      if (!opened.equals(sent)) return 'forwarded plaintext differs beyond hops and path index'
      out.fill(0xee, 0, capacity + 1)
    }

    return {
      next(rng) {
        nowMs += 0.01
        const now = nowMs
        if (rng.chance(CHURN)) {
          return () => exit.takeSinkViolation() ?? exit.churn(rng)
        }
        const r = rng.below(20)
        let d: Buffer
        let key = rng.chance(0.85) ? 0 : 1
        if (r < 2) d = rng.bytes(rng.int(0, 120))
        else if (r < 4 && recent.length > 0) ({ d, key } = rng.pick(recent))
        else {
          let plain: Buffer
          if (r < 10) plain = rng.chance(0.3) ? randomVariant(rng, dataPlain(rng)) : dataPlain(rng)
          else {
            const flow = exit.pick(rng)
            plain = exitPlain(rng, flow)
            // Mostly sealed by the peer the flow's path says sent it (the relay before this one).
            const sender = flow === undefined ? -1 : SENDERS.indexOf(flow.path[flow.path.length - 2])
            if (sender >= 0 && rng.chance(0.9)) key = sender
          }
          d = seal(key, plain, counterFor(key, rng))
          if (rng.chance(0.05)) d = randomVariant(rng, d)
          if (recent.length < 32) recent.push({ d, key })
          else recent[rng.below(32)] = { d, key }
        }
        const from = rng.chance(0.95) ? peers[key] : rng.chance(0.5) ? STRANGER : peers[1 - key]
        const capacity = rng.chance(0.1) ? rng.int(0, d.length + 8) : out.length - 64
        return () => exit.takeSinkViolation() ?? offer(d, from, capacity, now)
      },
      dropsByReason: () => ({ ...counts, ...exit.counts, sink_awaited: exit.awaited(), ...Object.fromEntries(Object.entries(notDelivered).map(([k, v]) => [`exit_${k}`, v])) }),
      settle: () => exit.settle(),
      stop: () => exit.stop(),
    }
  },
}
