/**
 * Spoofed clients filling the flow table (issue 14, point 5), performed on
 * an in-memory network (FakeNetwork: no packet leaves the process, so the
 * spoofed 127.x.y.z sources are only strings). The origin is a game server
 * that answers well-formed requests ("real...") and ignores junk, as real
 * ones do; spoofed datagrams are junk.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { ServiceConfig } from '../../src/config/types.js'
import { UNREPLIED_FLOW_IDLE_MS } from '../../src/dataplane/flow-admission.js'
import type { Relay } from '../../src/dataplane/relay.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import { FakeNetwork } from '../../src/io/fake-network.js'
import type { PacketSocket } from '../../src/io/index.js'
import { silentLogger } from '../../src/io/log.js'
import { buildConfigs, runInSteps, staticRelay, textClients } from './helpers.js'

const ORIGIN = { address: '127.0.0.1', port: 9000 }
const SERVICE = { address: '127.0.0.1', port: 27015 }

let stopAll: (() => void) | undefined
afterEach(() => stopAll?.())

async function world(svc: Partial<ServiceConfig>, exitSocketBudget?: number) {
  const clock = new FakeClock(1000)
  const net = new FakeNetwork(clock, { delayMs: () => 5 })
  const configs = buildConfigs({ relays: ['lax', 'sea', 'dal'], services: [{ paths: [['lax', 'sea', 'dal']], ...svc }] })
  const relays = new Map<string, Relay>()
  for (const [id, config] of configs) {
    const relay = staticRelay(config, { udp: net, clock, timers: clock, log: silentLogger, cryptoBackend: 'tweetnacl', exitSocketBudget })
    await relay.start()
    relays.set(id, relay)
  }
  const origin = net.open(ORIGIN.address, ORIGIN.port)
  origin.onMessage((data, from) => {
    if (data.subarray(0, 4).toString() === 'real') origin.send(data, 0, data.length, from.port, from.address)
  })
  const sockets: PacketSocket[] = [origin]
  stopAll = () => {
    for (const r of relays.values()) r.stop()
    for (const s of sockets) s.close()
  }
  const client = textClients(net, SERVICE, sockets)
  let spoofed = 0
  /** One junk datagram from a never-used spoofed source, spread over many /24s. */
  const spoof = (): void => {
    const i = spoofed++
    const from = { address: `127.${(i >> 8) & 255}.${i & 255}.${(i >> 16) & 255}`, port: 40000 + (i % 1000) }
    net.inject(from, SERVICE, Buffer.from('junk'))
  }
  const run = (ms: number, each?: () => void) => runInSteps(clock, ms, each)
  const stats = (relay: string) => relays.get(relay)!.stats().services.game
  return { net, clock, relays, client, spoof, run, stats, spoofedCount: () => spoofed }
}

describe('flow table under a spoofed-client flood', () => {
  it('keeps established flows at 0% loss and still gives a new real client a flow', async () => {
    const w = await world({ maxFlows: 64 })
    const old = w.client(50100)
    old.send('real-old-0')
    await w.run(100)
    expect(old.received).toEqual(['real-old-0'])
    let sent = 1
    const fresh = w.client(50200)
    let freshSentAt = -1
    // 2,000 spoofed clients per second (20 per 10 ms) for 3 s, against a table of 64.
    await w.run(3_000, () => {
      for (let i = 0; i < 20; i++) w.spoof()
      const t = w.clock.nowMs()
      if (t % 100 === 0) old.send(`real-old-${sent++}`)
      // The new client arrives 1.4 s into the flood and retries every 200 ms until answered, as games do.
      if (t >= 2_500 && fresh.received.length === 0 && t % 200 === 0) {
        if (freshSentAt < 0) freshSentAt = t
        fresh.send('real-new')
      }
    })
    await w.run(100)
    expect(w.spoofedCount()).toBe(6_000)
    expect(old.received.length).toBe(sent)
    expect(fresh.received[0]).toBe('real-new')
    const lax = w.stats('lax')
    expect(lax.ingress_flows).toBeLessThanOrEqual(64)
    expect(w.stats('dal').exit_flows).toBeLessThanOrEqual(64)
    expect(lax.drops.flow_evicted).toBeGreaterThan(0)
  })

  it('expires flows that never saw a reply within a few seconds, long before flow_idle_timeout', async () => {
    const w = await world({ flowIdleTimeoutMs: 30_000 })
    for (let i = 0; i < 10; i++) w.spoof()
    const real = w.client(50300)
    real.send('real-1')
    await w.run(100)
    expect(w.stats('lax').ingress_flows).toBe(11)
    expect(w.stats('dal').exit_flows).toBe(11)
    await w.run(UNREPLIED_FLOW_IDLE_MS + 1_500)
    // The answered flow stays for its 30 s idle timeout; the junk flows are gone from both ends.
    expect(w.stats('lax').ingress_flows).toBe(1)
    expect(w.stats('dal').exit_flows).toBe(1)
  })

  it('caps the flows one source /24 can hold, and a full prefix gives up its own unreplied flows first', async () => {
    const cap = 4
    const w = await world({ maxFlows: 64, maxFlowsPerPrefix: cap })
    for (let i = 0; i < 200; i++) {
      // All from 127.9.9.0/24.
      const from = { address: `127.9.9.${i % 250}`, port: 30000 + i }
      w.net.inject(from, SERVICE, Buffer.from('junk'))
    }
    await w.run(50)
    expect(w.stats('lax').ingress_flows).toBe(cap)
    expect(w.stats('lax').drops.flow_evicted).toBe(200 - cap)
    // A real client of that same /24 still gets in (it pushes out the oldest junk flow), and one from elsewhere too.
    const real = w.client(50400)
    real.send('real-1')
    await w.run(100)
    expect(real.received).toEqual(['real-1'])
  })

  it('opens no more origin sockets than the exit’s budget, counting the refusals', async () => {
    const budget = 20
    const w = await world({ maxFlows: 1_000 }, budget)
    const real = w.client(50500)
    real.send('real-0')
    await w.run(100)
    await w.run(200, () => {
      for (let i = 0; i < 10; i++) w.spoof()
    })
    const dal = w.stats('dal')
    expect(dal.exit_flows).toBeLessThanOrEqual(budget)
    // Unreplied flows make room first; the answered one is never given up.
    expect(dal.drops.flow_evicted).toBeGreaterThan(0)
    real.send('real-1')
    await w.run(100)
    expect(real.received).toEqual(['real-0', 'real-1'])
  })

  it('refuses a new flow when every origin socket of the budget belongs to an answered flow', async () => {
    const budget = 3
    const w = await world({ maxFlows: 1_000 }, budget)
    const clients = [0, 1, 2, 3].map((i) => w.client(50600 + i))
    for (const c of clients.slice(0, 3)) c.send('real-a')
    await w.run(100)
    clients[3].send('real-b')
    await w.run(100)
    expect(clients.map((c) => c.received.length)).toEqual([1, 1, 1, 0])
    expect(w.stats('dal').drops.exit_socket_budget).toBe(1)
    expect(w.stats('dal').exit_flows).toBe(3)
  })
})
