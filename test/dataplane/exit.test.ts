import { describe, expect, it } from 'vitest'
import { resolveServiceRoles } from '../../src/config/data-plane.js'
import type { ServiceConfig } from '../../src/config/types.js'
import { ServiceState, type RelayContext } from '../../src/dataplane/context.js'
import { DropCounts } from '../../src/dataplane/counters.js'
import { ExitSide } from '../../src/dataplane/exit.js'
import { StaticPaths } from '../../src/dataplane/paths.js'
import { buildProxyV2Header } from '../../src/dataplane/proxy-protocol.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import { FakeNetwork } from '../../src/io/fake-network.js'
import type { PacketSocket, PeerAddress, UdpSocketFactory } from '../../src/io/index.js'
import { silentLogger, type Logger } from '../../src/io/log.js'
import { DataHeader, FLAG_REPLY, decodeDataHeader, encodeDataHeader } from '../../src/wire/data.js'
import { nameId } from '../../src/wire/ids.js'
import { buildConfigs, fullService } from './helpers.js'

const ORIGIN = { host: '127.0.0.1', port: 9000 }

interface Sent {
  nextNode: number
  hdr: DataHeader
  payload: Buffer
}

/** An ExitSide on relay "dal" alone, with a fake network, an echoing origin and a captured sendOnPath. */
function exitWorld(svc: Partial<ServiceConfig> = {}) {
  const clock = new FakeClock(1000)
  const net = new FakeNetwork(clock)
  const service = fullService({ origin: ORIGIN, exits: ['dal'], ...svc })
  const config = buildConfigs({ relays: ['lax', 'sea', 'dal'], services: [service] }).get('dal')!
  const state = new ServiceState(service, nameId(service.name), false, true)
  const sent: Sent[] = []
  const warnings: Record<string, unknown>[] = []
  const errorHandlers: ((err: Error) => void)[] = []
  const udp: UdpSocketFactory = {
    open(host, port) {
      const s = net.open(host, port)
      const onError = s.onError.bind(s)
      s.onError = (h) => {
        errorHandlers.push(h)
        onError(h)
      }
      return s
    },
  }
  const log: Logger = { ...silentLogger, warn: (_m, f) => void warnings.push(f ?? {}), child: () => log }
  const ctx: RelayContext = {
    selfNode: nameId('dal'),
    selfId: 'dal',
    mtu: config.relay.mtu,
    hopLimit: config.tuning.hopLimit,
    clock,
    udp,
    serviceUdp: udp,
    log,
    paths: new StaticPaths('dal', resolveServiceRoles('dal', false, [service])),
    drops: new DropCounts(),
    ipv6Underlay: false,
    lane: 0,
    laneCount: 1,
    rxLane: 0,
    sendOnPath(buf, length, nextNode) {
      const hdr = new DataHeader()
      expect(decodeDataHeader(buf, length, hdr)).toBeGreaterThan(0)
      sent.push({ nextNode, hdr, payload: Buffer.from(buf.subarray(hdr.payloadOffset, length)) })
      return true
    },
  }
  const exit = new ExitSide(ctx)
  const origin = net.open(ORIGIN.host, ORIGIN.port)
  const seen: { data: Buffer; from: PeerAddress }[] = []
  origin.onMessage((data, from) => {
    seen.push({ data: Buffer.from(data), from })
    origin.send(data, 0, data.length, from.port, from.address)
  })
  const hdr = new DataHeader()
  const buf = Buffer.alloc(2048)
  return {
    clock,
    net,
    exit,
    state,
    sent,
    seen,
    warnings,
    errorHandlers,
    origin,
    /** A forward packet of `flow` that came along `path` (relay names, ingress first) reaches the exit. */
    forward(flow: number, payload: Buffer, path = ['lax', 'sea', 'dal'], seq = 0) {
      const nodes = Uint32Array.from(path.map(nameId))
      const n = encodeDataHeader(buf, 0, 8, state.id, flow, seq, nodes, nodes.length)
      buf[4] = nodes.length - 1 // path index: this relay, the last one
      payload.copy(buf, n)
      expect(decodeDataHeader(buf, n + payload.length, hdr)).toBe(n)
      exit.deliverForward(state, hdr, buf, n + payload.length)
    },
    async run(ms: number) {
      for (let t = 0; t < ms; t += 10) {
        clock.advance(10)
        await Promise.resolve()
      }
    },
  }
}

describe('ExitSide', () => {
  it('gives each flow its own origin source port and keeps it for the flow', async () => {
    const w = exitWorld()
    w.forward(1, Buffer.from('a1'))
    w.forward(2, Buffer.from('b1'))
    w.forward(1, Buffer.from('a2'), undefined, 1)
    await w.run(20)
    expect(w.seen.map((s) => s.data.toString())).toEqual(['a1', 'b1', 'a2'])
    const [a1, b1, a2] = w.seen.map((s) => s.from.port)
    expect(a1).not.toBe(b1)
    expect(a2).toBe(a1)
    expect(w.exit.activeFlows()).toBe(2)
    expect(w.state.exitFlows).toBe(2)
  })

  it('sends the origin reply back to the flow it belongs to, reversed along the path it came', async () => {
    const w = exitWorld()
    w.forward(7, Buffer.from('via sea'), ['lax', 'sea', 'dal'])
    w.forward(9, Buffer.from('direct'), ['lax', 'dal'])
    await w.run(20)
    expect(w.sent).toHaveLength(2)
    const byFlow = new Map(w.sent.map((s) => [s.hdr.flow, s]))
    const viaSea = byFlow.get(7)!
    expect(viaSea.payload.toString()).toBe('via sea')
    expect(viaSea.hdr.flags & FLAG_REPLY).toBe(FLAG_REPLY)
    expect([...viaSea.hdr.path.subarray(0, viaSea.hdr.pathLen)]).toEqual(['dal', 'sea', 'lax'].map(nameId))
    expect(viaSea.nextNode).toBe(nameId('sea'))
    const direct = byFlow.get(9)!
    expect(direct.payload.toString()).toBe('direct')
    expect(direct.nextNode).toBe(nameId('lax'))
  })

  it('drops a datagram that reaches a flow socket from somewhere other than the origin', async () => {
    const w = exitWorld()
    w.forward(1, Buffer.from('x'))
    await w.run(20)
    const flowPort = w.seen[0].from.port
    w.net.inject({ address: '127.0.0.9', port: 9000 }, { address: '0.0.0.0', port: flowPort }, Buffer.from('spoof'))
    await w.run(20)
    expect(w.sent.map((s) => s.payload.toString())).toEqual(['x'])
    expect(w.state.drops.get('origin_unexpected_source')).toBe(1)
  })

  it('closes idle flows and keeps the paths of new flows apart from reused ones', async () => {
    const w = exitWorld({ flowIdleTimeoutMs: 1000 })
    for (let f = 1; f <= 300; f++) w.forward(f, Buffer.from(`old${f}`), ['lax', 'sea', 'dal'])
    await w.run(20)
    w.sent.length = 0
    await w.run(1500)
    w.exit.sweep(w.clock.nowMs())
    expect(w.exit.activeFlows()).toBe(0)
    expect(w.state.exitFlows).toBe(0)
    // New flows take the swept flows' path views: each must reply along its own path.
    for (let f = 1001; f <= 1300; f++) w.forward(f, Buffer.from(`new${f}`), f % 2 === 0 ? ['lax', 'dal'] : ['sea', 'lax', 'dal'])
    await w.run(20)
    expect(w.sent).toHaveLength(300)
    for (const s of w.sent) {
      const want = s.hdr.flow % 2 === 0 ? ['dal', 'lax'] : ['dal', 'lax', 'sea']
      expect([...s.hdr.path.subarray(0, s.hdr.pathLen)]).toEqual(want.map(nameId))
      expect(s.payload.toString()).toBe(`new${s.hdr.flow}`)
    }
  })

  it('sends nothing for a flow after it was swept', async () => {
    const w = exitWorld({ flowIdleTimeoutMs: 1000 })
    w.forward(1, Buffer.from('x'))
    await w.run(1500)
    w.sent.length = 0
    const flowPort = w.seen[0].from.port
    w.exit.sweep(w.clock.nowMs())
    w.forward(2, Buffer.from('y'), ['sea', 'lax', 'dal'])
    // The closed socket's port is free again; nothing may reach flow 1's handler.
    w.net.inject({ address: ORIGIN.host, port: ORIGIN.port }, { address: '0.0.0.0', port: flowPort }, Buffer.from('late'))
    await w.run(20)
    expect(w.sent.map((s) => [s.hdr.flow, s.payload.toString()])).toEqual([[2, 'y']])
  })

  it('drops proxy-protocol packets without the client address, so a client cannot forge its own PROXY header', async () => {
    const w = exitWorld({ delivery: 'proxy-protocol' })
    const forged = buildProxyV2Header({ family: 4, clientAddress: '203.0.113.66', clientPort: 1, serviceAddress: '127.0.0.1', servicePort: 27015 })
    w.forward(1, Buffer.from('first'))
    w.forward(1, Buffer.concat([forged, Buffer.from('as 203.0.113.66')]), undefined, 1)
    await w.run(20)
    expect(w.seen).toEqual([])
    expect(w.exit.activeFlows()).toBe(0)
    expect(w.state.drops.get('proxy_no_client_addr')).toBe(2)
  })

  it('refuses flows beyond max_flows once every flow has an answer from the origin, and counts them', async () => {
    const w = exitWorld({ maxFlows: 2 })
    for (let f = 1; f <= 2; f++) w.forward(f, Buffer.from('p'))
    await w.run(20) // the echoing origin answers both
    w.forward(3, Buffer.from('p'))
    await w.run(20)
    expect(w.exit.activeFlows()).toBe(2)
    expect(w.state.drops.get('flow_limit')).toBe(1)
  })

  it('gives up the oldest unanswered flow for a new one, never an answered one', async () => {
    const w = exitWorld({ maxFlows: 2 })
    w.forward(1, Buffer.from('p'))
    await w.run(20) // answered
    w.origin.send = () => true // the origin goes quiet
    w.forward(2, Buffer.from('p'))
    w.forward(3, Buffer.from('p'))
    await w.run(20)
    expect(w.exit.activeFlows()).toBe(2)
    expect(w.state.drops.get('flow_evicted')).toBe(1)
    expect(w.state.drops.get('flow_limit')).toBe(0)
    w.forward(1, Buffer.from('q'))
    await w.run(20)
    expect(w.seen.at(-1)!.data.toString()).toBe('q')
  })

  it('logs an origin socket error with the service name through one handler shared by the flows', () => {
    const w = exitWorld()
    w.forward(1, Buffer.from('a'))
    w.forward(2, Buffer.from('b'))
    expect(w.errorHandlers).toHaveLength(2)
    expect(w.errorHandlers[0]).toBe(w.errorHandlers[1])
    w.errorHandlers[1](new Error('boom'))
    expect(w.warnings).toEqual([{ service: 'game', error: 'boom' }])
  })

  it('closes every flow socket on close', async () => {
    const w = exitWorld()
    w.forward(1, Buffer.from('a'))
    await w.run(20)
    const flowPort = w.seen[0].from.port
    w.exit.close()
    expect(w.exit.activeFlows()).toBe(0)
    // The port is free again: the fake network lets a new socket bind it.
    const again: PacketSocket = w.net.open('0.0.0.0', flowPort)
    await expect(again.bound()).resolves.toMatchObject({ port: flowPort })
    again.close()
  })
})
