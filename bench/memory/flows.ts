/**
 * The child half of `npm run bench:memory`: one fresh Node process builds one
 * relay role's data plane (src/dataplane) with real loopback sockets, drives
 * `flows` active flows through it, and prints its memory before and after as
 * one JSON line. A fresh process per measurement keeps one role's growth from
 * hiding in another's.
 *
 *   exit:    ExitSide with the daemon's origin sockets (native connected, or
 *            node:dgram with --sockets dgram): one real socket per flow, each
 *            flow gets one forward datagram and the origin's echo back, so
 *            every flow has seen a reply (established, flow-admission.ts).
 *   ingress: IngressSide with a real service socket; client datagrams from
 *            `flows` distinct client addresses are handed to the socket's
 *            message handler (the ingress keeps no socket per flow, so no
 *            client sockets are needed). Flows stay unreplied: an unreplied
 *            flow also sits in the admission's eviction sets, the dearer case.
 */
import { readFileSync } from 'node:fs'
import { resolveServiceRoles } from '../../src/config/data-plane.js'
import { DEFAULT_HOP_LIMIT, DEFAULT_MTU } from '../../src/config/schema.js'
import type { ServiceConfig } from '../../src/config/types.js'
import { ServiceState, type RelayContext } from '../../src/dataplane/context.js'
import { DropCounts } from '../../src/dataplane/counters.js'
import { ExitSide } from '../../src/dataplane/exit.js'
import { IngressSide } from '../../src/dataplane/ingress.js'
import { StaticPaths } from '../../src/dataplane/paths.js'
import { monotonicClock } from '../../src/io/clock.js'
import type { DatagramHandler, PeerAddress, UdpSocketFactory } from '../../src/io/index.js'
import { silentLogger } from '../../src/io/log.js'
import { NativeConnectedUdpSocket } from '../../src/io/native-udp-connected.js'
import { nodeUdp } from '../../src/io/udp.js'
import { DataHeader, decodeDataHeader, encodeDataHeader } from '../../src/wire/data.js'
import { nameId } from '../../src/wire/ids.js'

export interface MemorySample {
  rss_mb: number
  rss_anon_mb: number
  heap_used_mb: number
  external_mb: number
}

export interface FlowsResult {
  role: 'exit' | 'ingress'
  sockets: 'native' | 'dgram' | 'none'
  flows: number
  active: number
  before: MemorySample
  after: MemorySample
  seconds: number
}

const HOST = '127.0.0.1'
/** Flows opened per loop turn: lets sockets bind and replies drain between bursts. */
const BATCH = 500

function sample(): MemorySample {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  gc?.()
  const m = process.memoryUsage()
  const status = readFileSync('/proc/self/status', 'utf8')
  const anonKb = Number(/^RssAnon:\s+(\d+)/m.exec(status)?.[1] ?? 0)
  const mb = (b: number): number => Math.round((b / 1048576) * 10) / 10
  return { rss_mb: mb(m.rss), rss_anon_mb: mb(anonKb * 1024), heap_used_mb: mb(m.heapUsed), external_mb: mb(m.external) }
}

function service(originPort: number, flows: number): ServiceConfig {
  return {
    name: 'game', mode: 'l4', ingress: [{ relay: 'lax', listen: { host: HOST, port: 0 } }], origin: { host: HOST, port: originPort },
    exits: ['dal'], prefixes: [], delivery: 'proxy', paths: [], replyPaths: [], flowIdleTimeoutMs: 600_000,
    maxFlows: Math.max(flows, 1), maxFlowsPerPrefix: Math.max(flows, 1), profile: 'latency', redundant: false,
    originProbe: { method: 'none', port: 862, intervalMs: 250, assumedRttMs: 1 },
  }
}

function context(self: string, svc: ServiceConfig, udp: UdpSocketFactory, onSend: (buf: Buffer, length: number) => void): RelayContext {
  return {
    selfNode: nameId(self), selfId: self, mtu: DEFAULT_MTU, hopLimit: DEFAULT_HOP_LIMIT, clock: monotonicClock, udp, serviceUdp: udp,
    log: silentLogger, paths: new StaticPaths(self, resolveServiceRoles(self, false, [svc])), drops: new DropCounts(), ipv6Underlay: false,
    lane: 0, laneCount: 1, rxLane: 0,
    sendOnPath(buf, length) {
      onSend(buf, length)
      return true
    },
  }
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r))
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Waits (bounded) until `done()` or `maxMs` has passed. */
async function until(done: () => boolean, maxMs: number): Promise<void> {
  const end = performance.now() + maxMs
  while (!done() && performance.now() < end) await sleep(20)
}

export async function exitFlows(flows: number, originPort: number, sockets: 'native' | 'dgram', maxMs: number): Promise<FlowsResult> {
  const svc = service(originPort, flows)
  let replies = 0
  const udp: UdpSocketFactory = sockets === 'native'
    ? { open: nodeUdp.open, openConnected: (lh, lp, ph, pp) => new NativeConnectedUdpSocket(lh, lp, ph, pp, { recvBufferBytes: 1 << 20, sendBufferBytes: 1 << 20 }) }
    : nodeUdp
  const exit = new ExitSide(context('dal', svc, udp, () => void replies++), flows)
  const state = new ServiceState(svc, nameId(svc.name), false, true)
  const nodes = Uint32Array.from(['lax', 'sea', 'dal'].map(nameId))
  const buf = Buffer.alloc(2048)
  const hdr = new DataHeader()
  const payload = Buffer.alloc(100, 1)
  const before = sample()
  const start = performance.now()
  for (let f = 1; f <= flows; f++) {
    const n = encodeDataHeader(buf, 0, DEFAULT_HOP_LIMIT, state.id, f, 0, nodes, nodes.length)
    buf[4] = nodes.length - 1
    payload.copy(buf, n)
    if (decodeDataHeader(buf, n + payload.length, hdr) !== n) throw new Error('bench built a bad header')
    exit.deliverForward(state, hdr, buf, n + payload.length)
    if (f % BATCH === 0) await turn()
  }
  await until(() => replies >= flows, maxMs)
  const after = sample()
  const result: FlowsResult = { role: 'exit', sockets, flows, active: Math.min(replies, exit.activeFlows()), before, after, seconds: (performance.now() - start) / 1000 }
  exit.close()
  return result
}

export async function ingressFlows(flows: number, maxMs: number): Promise<FlowsResult> {
  const svc = service(9, flows)
  let handler: DatagramHandler | undefined
  const udp: UdpSocketFactory = {
    open(host, port) {
      const s = nodeUdp.open(host, port)
      const on = s.onMessage.bind(s)
      s.onMessage = (h) => {
        handler = h
        on(h)
      }
      return s
    },
  }
  let sent = 0
  const ingress = new IngressSide(context('lax', svc, udp, () => void sent++), [new ServiceState(svc, nameId(svc.name), true, false)])
  await ingress.start()
  const payload = Buffer.alloc(100, 1)
  const before = sample()
  const start = performance.now()
  for (let f = 0; f < flows; f++) {
    // Distinct client addresses over many /24s, several ports each (like players behind NATs).
    const from: PeerAddress = { address: `10.${(f >> 16) & 255}.${(f >> 8) & 255}.${(f >> 2) & 63}`, port: 20000 + (f & 3) }
    handler!(payload, from)
    if (f % BATCH === 0) await turn()
  }
  const active = Math.min(sent, ingress.activeFlows())
  const after = sample()
  ingress.close()
  return { role: 'ingress', sockets: 'none', flows, active, before, after, seconds: (performance.now() - start) / 1000 }
}
