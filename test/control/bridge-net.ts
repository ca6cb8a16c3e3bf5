/**
 * Real routers behind real RouterBridges on one fake clock, joined by an
 * in-memory overlay that delivers the bridges' framed plaintexts after a
 * fixed one-way delay per direction (or drops them on a cut), with
 * simulated data traffic (each relay on the ingress's forward path, and the
 * exit on its reply path, counts packets to its next hop, which the bridge's
 * data-activity sample reads) and origin samples fed to each exit's bridge
 * on a timer of their own, as control/origin-probes.ts feeds them.
 *
 * Fully deterministic (seeded routers, fixed boot ids, delays and timer
 * periods that are exact binary fractions, so sums of them are exact):
 * two runs that tick alike send the same bytes at the same instants. Every
 * plaintext sent and every endpoint check is logged with its time, so two
 * schedulers can be compared for any difference at all.
 */
import { resolveServiceRoles } from '../../src/config/data-plane.js'
import type { RelayConfig } from '../../src/config/types.js'
import { RouterBridge, type ControlTransport } from '../../src/control/router-bridge.js'
import { DropCounts } from '../../src/dataplane/counters.js'
import { SnapshotPaths } from '../../src/dataplane/paths.js'
import type { OverlayPeer } from '../../src/dataplane/relay.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import { silentLogger } from '../../src/io/log.js'
import { routerInit } from '../../src/node/router-init.js'
import { createRouter } from '../../src/route/index.js'
import { seededRandom } from '../../src/route/seeded-random.js'
import { KIND_CONTROL, KIND_PROBE } from '../../src/wire/data.js'
import { nameId } from '../../src/wire/ids.js'
import { buildConfigs } from '../dataplane/helpers.js'

export const NET_RELAYS = ['lax', 'sea', 'dal', 'atl']
/** One way, ms: lax>sea>dal beats lax>dal and lax>atl; every value a binary fraction (exact sums). */
const ONE_WAY_MS: Record<string, number> = {
  'lax-sea': 8.25, 'lax-dal': 40.125, 'lax-atl': 30.375, 'sea-dal': 10.5, 'sea-atl': 30.0625, 'dal-atl': 25.25,
}
/** Exits' origin samples come this often (own timer, off the bridges' grid). */
const ORIGIN_SAMPLE_MS = 50.03125
/** Data packets are counted this often on every hop of the current paths. */
const DATA_EVERY_MS = 10.0625

export interface BridgeNet {
  clock: FakeClock
  bridge: (name: string) => RouterBridge
  /** Every plaintext sent (`t from>to kind hex`) and endpoint check (`t relay endpoints`), in order. */
  log: string[]
  /** Directed cuts `from>to`. */
  cut: Set<string>
  /** Exits whose origin stops answering: their samples are misses. */
  originDown: Set<string>
  /** Exits whose origin prober goes quiet: no samples at all (the router's silence backstop). */
  originSilent: Set<string>
  /** Directed cuts `from>to` of control messages only (probes pass: degraded mode). */
  controlCut: Set<string>
  /** Whether data flows over the current paths, and whether replies flow too. */
  data: { on: boolean; replies: boolean }
  /** Sets the one-way delay from `a` to `b` (a binary fraction, to stay exact). */
  setDelay: (a: string, b: string, ms: number) => void
  stop: () => void
}

/** Starts the four relays; service `game` enters at lax and exits at dal or atl. */
export function startBridgeNet(): BridgeNet {
  const clock = new FakeClock(5_000_000)
  const configs = buildConfigs({ relays: NET_RELAYS, services: [{ exits: ['dal', 'atl'], paths: [] }] })
  const log: string[] = []
  const cut = new Set<string>()
  const originDown = new Set<string>()
  const originSilent = new Set<string>()
  const controlCut = new Set<string>()
  const data = { on: false, replies: true }
  const sinks = new Map<string, RouterBridge>()
  const peersOf = new Map<string, Map<string, OverlayPeer>>()
  const directed = new Map<string, number>()
  const delay = (a: string, b: string): number => directed.get(`${a}>${b}`) ?? ONE_WAY_MS[`${a}-${b}`] ?? ONE_WAY_MS[`${b}-${a}`]

  NET_RELAYS.forEach((self, i) => {
    const config = configs.get(self)! as RelayConfig
    const peers = new Map<string, OverlayPeer>(
      config.peers.map((p, k) => [p.id, { index: k, id: p.id, node: nameId(p.id), endpoint: p.endpoint, traffic: { packetsOut: 0, packetsIn: 0 }, config: p } as unknown as OverlayPeer]),
    )
    peersOf.set(self, peers)
    const transport = {
      attachControlPlane: () => {},
      peerById: (id: string) => peers.get(id),
      drops: new DropCounts(),
      sendPlain: (peer: OverlayPeer, plain: Buffer, length: number) => {
        const bytes = Buffer.from(plain.subarray(0, length))
        peer.traffic.packetsOut++
        log.push(`${clock.nowMs()} ${self}>${peer.id} ${bytes.toString('hex')}`)
        if (cut.has(`${self}>${peer.id}`)) return true
        if (bytes[0] === KIND_CONTROL && controlCut.has(`${self}>${peer.id}`)) return true
        clock.setTimeout(() => {
          const dest = sinks.get(peer.id)!
          const from = peersOf.get(peer.id)!.get(self)!
          const body = bytes.subarray(1)
          if (bytes[0] === KIND_PROBE) dest.onProbe(from, body, clock.nowMs())
          else if (bytes[0] === KIND_CONTROL) dest.onControl(from, body, clock.nowMs())
        }, delay(self, peer.id))
        return true
      },
      checkEndpoints: (nowMs: number) => {
        log.push(`${nowMs} ${self} endpoints`)
      },
    } as unknown as ControlTransport
    const router = createRouter(routerInit(config, 0x1000 + i, seededRandom(i + 1)))
    const paths = new SnapshotPaths(self, resolveServiceRoles(self, false, config.services))
    sinks.set(self, new RouterBridge(transport, router, config, paths, clock, clock, silentLogger))
  })

  const timers: { stopped: boolean } = { stopped: false }
  const every = (ms: number, fn: () => void): void => {
    const loop = (): void => {
      if (timers.stopped) return
      fn()
      clock.setTimeout(loop, ms)
    }
    clock.setTimeout(loop, ms)
  }
  // Data: every relay on the ingress's forward path sends its next hop packets, the exit the reply's.
  every(DATA_EVERY_MS, () => {
    if (!data.on) return
    const hop = (path: string[] | undefined): void => {
      for (let k = 0; path !== undefined && k + 1 < path.length; k++) {
        const p = peersOf.get(path[k])!.get(path[k + 1])
        if (p !== undefined) p.traffic.packetsOut++
      }
    }
    const forward = sinks.get('lax')!.router.forwardPath('game')?.path
    hop(forward)
    const exit = forward?.[forward.length - 1]
    if (data.replies && exit !== undefined && exit !== 'lax') hop(sinks.get(exit)!.router.replyPath('game', 'lax')?.path)
  })
  // Origin samples at each exit (a TWAMP leg of 1 ms each way), or misses while its origin is down.
  every(ORIGIN_SAMPLE_MS, () => {
    for (const exit of ['dal', 'atl']) {
      if (originSilent.has(exit)) continue
      const b = sinks.get(exit)!
      const sample = originDown.has(exit)
        ? { service: 'game', method: 'twamp' as const, missed: true }
        : { service: 'game', method: 'twamp' as const, forwardPseudoMs: 1, reversePseudoMs: 1, rttMs: 2 }
      b.onOriginSample(clock.nowMs(), sample)
    }
  })
  for (const b of sinks.values()) b.start()
  return {
    clock,
    bridge: (name) => sinks.get(name)!,
    log,
    cut,
    originDown,
    originSilent,
    controlCut,
    data,
    setDelay: (a, b, ms) => directed.set(`${a}>${b}`, ms),
    stop: () => {
      timers.stopped = true
      for (const b of sinks.values()) b.stop()
    },
  }
}
