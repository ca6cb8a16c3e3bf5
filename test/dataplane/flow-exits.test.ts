/**
 * Sticky exits and redundant delivery (issue 15, items 3 and 5), on an
 * in-memory network: a flow keeps its exit while that exit works, whatever
 * the paths inside the overlay do; it moves only when its exit is withdrawn
 * (unreachable, or its origin leg down: the router withdraws both, see
 * test/route/exit-paths.test.ts); new flows take the best exit; redundant
 * copies are delivered once, also when a flow's replies change exits.
 */
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { resolveServiceRoles } from '../../src/config/data-plane.js'
import type { ServiceConfig } from '../../src/config/types.js'
import { ServiceState } from '../../src/dataplane/context.js'
import { NO_EXIT, ReplyWindows, stickyPath } from '../../src/dataplane/flow-exits.js'
import { SnapshotPaths, pathRef, type PathRef, type PathSnapshot } from '../../src/dataplane/paths.js'
import type { Relay } from '../../src/dataplane/relay.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import { FakeNetwork } from '../../src/io/fake-network.js'
import type { PacketSocket } from '../../src/io/index.js'
import { silentLogger } from '../../src/io/log.js'
import { nameId } from '../../src/wire/ids.js'
import { parsePrefix } from '../../src/l3/prefix.js'
import { buildV4 } from '../l3/packets.js'
import { FakeTun } from './fake-tun.js'
import { buildConfigs, fullService, runInSteps, staticRelay, textClients } from './helpers.js'

const SERVICE = { address: '127.0.0.1', port: 27015 }
const RELAYS = ['lax', 'sea', 'dal', 'bos']

/** A path with an optional redundant backup. */
function ref(path: string, backup?: string): PathRef {
  const r = pathRef(path.split('>'))
  if (backup !== undefined) r.backup = pathRef(backup.split('>'))
  return r
}

/** lax's forward snapshot: the best path, and a path to each usable exit. */
function forward(best: PathRef | undefined, byExit: Record<string, PathRef>): PathSnapshot {
  return {
    forward: new Map(best ? [['game', best]] : []),
    reply: new Map(),
    forwardByExit: new Map([['game', new Map(Object.entries(byExit).map(([e, p]) => [nameId(e), p]))]]),
  }
}

describe('stickyPath', () => {
  const svc = new ServiceState(fullService({ exits: ['dal', 'bos'] }), 1, true, false)
  const roles = resolveServiceRoles('lax', false, [svc.cfg])

  it('keeps the exit across route changes, moves when it is withdrawn, and a new flow takes the best', () => {
    const paths = new SnapshotPaths('lax', roles)
    paths.set(forward(ref('lax>dal'), { dal: ref('lax>dal'), bos: ref('lax>bos') }))
    const flow = { exit: NO_EXIT }
    expect(stickyPath(paths, svc, flow)?.nodes).toEqual(ref('lax>dal').nodes)
    // Route change: bos is best now, and the path to dal goes through sea.
    paths.set(forward(ref('lax>bos'), { dal: ref('lax>sea>dal'), bos: ref('lax>bos') }))
    expect(stickyPath(paths, svc, flow)?.nodes).toEqual(ref('lax>sea>dal').nodes)
    expect(stickyPath(paths, svc, { exit: NO_EXIT })?.nodes).toEqual(ref('lax>bos').nodes)
    expect(svc.flowExitMoves).toBe(0)
    // dal withdrawn (cut off, or its origin leg down).
    paths.set(forward(ref('lax>bos'), { bos: ref('lax>bos') }))
    expect(stickyPath(paths, svc, flow)?.nodes).toEqual(ref('lax>bos').nodes)
    expect(flow.exit).toBe(nameId('bos'))
    expect(svc.flowExitMoves).toBe(1)
    // dal is back: the flow stays on bos.
    paths.set(forward(ref('lax>dal'), { dal: ref('lax>dal'), bos: ref('lax>sea>bos') }))
    expect(stickyPath(paths, svc, flow)?.nodes).toEqual(ref('lax>sea>bos').nodes)
  })

  it('keeps the exit through an outage of every route, and goes on with it when it returns', () => {
    const paths = new SnapshotPaths('lax', roles)
    paths.set(forward(ref('lax>dal'), { dal: ref('lax>dal'), bos: ref('lax>bos') }))
    const flow = { exit: NO_EXIT }
    stickyPath(paths, svc, flow)
    paths.set(forward(undefined, {}))
    expect(stickyPath(paths, svc, flow)).toBeUndefined()
    paths.set(forward(ref('lax>bos'), { dal: ref('lax>sea>dal'), bos: ref('lax>bos') }))
    expect(stickyPath(paths, svc, flow)?.nodes).toEqual(ref('lax>sea>dal').nodes)
  })
})

describe('ReplyWindows', () => {
  it('delivers each reply once per exit, and a new exit\'s replies (numbered from 0) are not taken for stale ones', () => {
    const w = new ReplyWindows()
    const dal = nameId('dal')
    const bos = nameId('bos')
    for (let s = 0; s < 5000; s++) expect(w.accept(dal, s)).toBe(true)
    expect(w.accept(dal, 4999)).toBe(false)
    // The flow moved to bos: its replies start at 0.
    expect(w.accept(bos, 0)).toBe(true)
    expect(w.accept(bos, 0)).toBe(false)
    // A late copy from dal is still recognised; a new dal reply is delivered.
    expect(w.accept(dal, 4998)).toBe(false)
    expect(w.accept(dal, 5000)).toBe(true)
    expect(w.accept(bos, 1)).toBe(true)
  })
})

describe('ReplyWindows against a set of delivered (exit, seq)', () => {
  it('delivers each reply of a flow that moves between exits exactly once, whatever the copies\' order (seeded)', () => {
    // A flow moves from exit 1 to exit 2 (and maybe back): each exit numbers its
    // replies from 0; every reply comes twice, copies reordered by a few places
    // and the two exits' streams interleaved around the move.
    const stream = fc.record({
      lengths: fc.array(fc.integer({ min: 1, max: 1200 }), { minLength: 1, maxLength: 3 }),
      shuffle: fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 64, maxLength: 64 }),
      overlap: fc.integer({ min: 0, max: 40 }),
    })
    fc.assert(
      fc.property(stream, ({ lengths, shuffle, overlap }) => {
        const exits = [nameId('dal'), nameId('bos')]
        // Each stint at an exit: replies 0..n-1 from it (an exit returned to resumes its numbering).
        const next = new Map<number, number>()
        const stints = lengths.map((n, i) => {
          const exit = exits[i % 2]
          const from = next.get(exit) ?? 0
          next.set(exit, from + n)
          const out: [number, number][] = []
          for (let k = from; k < from + n; k++) out.push([exit, k], [exit, k])
          return out
        })
        // Interleave the end of each stint with the start of the next (replies still in flight), then reorder locally.
        const arrivals: [number, number][] = []
        for (const st of stints) {
          const tail = arrivals.splice(Math.max(0, arrivals.length - overlap))
          for (let i = 0; i < Math.max(tail.length, st.length); i++) {
            if (i < st.length) arrivals.push(st[i])
            if (i < tail.length) arrivals.push(tail[i])
          }
        }
        for (let i = 0; i + 1 < arrivals.length; i++) {
          const j = Math.min(arrivals.length - 1, i + shuffle[i % shuffle.length])
          ;[arrivals[i], arrivals[j]] = [arrivals[j], arrivals[i]]
        }
        const w = new ReplyWindows()
        const delivered = new Set<string>()
        let twice = 0
        for (const [exit, seq] of arrivals) {
          if (!w.accept(exit, seq)) continue
          const key = `${exit}/${seq}`
          if (delivered.has(key)) twice++
          delivered.add(key)
        }
        expect(twice).toBe(0)
        // Every reply got through once (copies never lag more than the window behind).
        expect(delivered.size).toBe(lengths.reduce((a, n) => a + n, 0))
      }),
      { seed: 15, numRuns: 60 },
    )
  })
})

let stopAll: (() => void) | undefined
afterEach(() => stopAll?.())

/** lax (ingress), sea (transit), dal and bos (exits); every relay's paths are a snapshot the test sets. */
async function world(svc: Partial<ServiceConfig>) {
  const clock = new FakeClock(1000)
  const net = new FakeNetwork(clock, { delayMs: () => 5 })
  const configs = buildConfigs({ relays: RELAYS, services: [{ exits: ['dal', 'bos'], ...svc }] })
  const relays = new Map<string, Relay>()
  const paths = new Map<string, SnapshotPaths>()
  for (const [id, config] of configs) {
    const p = new SnapshotPaths(id, resolveServiceRoles(id, false, config.services))
    paths.set(id, p)
    const relay = staticRelay(config, { udp: net, clock, timers: clock, log: silentLogger, cryptoBackend: 'tweetnacl', paths: p })
    await relay.start()
    relays.set(id, relay)
  }
  // Replies from either exit go back direct, or (redundant) also through sea.
  for (const exit of ['dal', 'bos']) {
    const back = svc.redundant ? ref(`${exit}>lax`, `${exit}>sea>lax`) : ref(`${exit}>lax`)
    paths.get(exit)!.set({ forward: new Map(), reply: new Map([['game', new Map([[nameId('lax'), back]])]]) })
  }
  const origin = net.open('127.0.0.1', 9000)
  /** What the origin received: payload and the source port it came from (one per exit flow). */
  const atOrigin: { text: string; port: number }[] = []
  origin.onMessage((data, from) => {
    atOrigin.push({ text: data.toString(), port: from.port })
    origin.send(data, 0, data.length, from.port, from.address)
  })
  const sockets: PacketSocket[] = [origin]
  stopAll = () => {
    for (const r of relays.values()) r.stop()
    for (const s of sockets) s.close()
  }
  const client = textClients(net, SERVICE, sockets)
  const run = (ms: number, each?: () => void) => runInSteps(clock, ms, each)
  const stats = (relay: string) => relays.get(relay)!.stats().services.game
  const setLax = (snap: PathSnapshot) => paths.get('lax')!.set(snap)
  return { net, relays, client, run, stats, setLax, atOrigin }
}

/** Source ports the origin saw for payloads starting with `prefix`, in order, without repeats. */
function ports(atOrigin: { text: string; port: number }[], prefix: string): number[] {
  const out: number[] = []
  for (const m of atOrigin) if (m.text.startsWith(prefix) && out.at(-1) !== m.port) out.push(m.port)
  return out
}

describe('sticky exits on a relay', () => {
  it('a route change keeps a live flow on its exit (the origin sees one source), and a new flow takes the new best exit', async () => {
    const w = await world({})
    w.setLax(forward(ref('lax>dal'), { dal: ref('lax>dal'), bos: ref('lax>bos') }))
    const a = w.client(50100)
    let n = 0
    await w.run(500, () => a.send(`a-${n++}`))
    w.setLax(forward(ref('lax>bos'), { dal: ref('lax>sea>dal'), bos: ref('lax>bos') }))
    const b = w.client(50200)
    await w.run(500, () => {
      a.send(`a-${n++}`)
      b.send(`b-${n++}`)
    })
    await w.run(100)
    expect(ports(w.atOrigin, 'a-')).toHaveLength(1)
    expect(a.received.length).toBe(100)
    expect(w.stats('dal').exit_flows).toBe(1)
    expect(w.stats('bos').exit_flows).toBe(1)
    // b came in after the change: the best exit, bos; a's packets crossed sea to reach dal.
    expect(ports(w.atOrigin, 'b-')).toHaveLength(1)
    expect(ports(w.atOrigin, 'b-')[0]).not.toBe(ports(w.atOrigin, 'a-')[0])
    expect(w.relays.get('sea')!.stats().peers.dal).toBeDefined()
    expect(w.stats('lax').flow_exit_moves).toBe(0)
  })

  it('moves a flow to the best exit when its exit is withdrawn (exit down or origin leg down), once', async () => {
    const w = await world({})
    w.setLax(forward(ref('lax>dal'), { dal: ref('lax>dal'), bos: ref('lax>bos') }))
    const a = w.client(50100)
    let n = 0
    await w.run(300, () => a.send(`a-${n++}`))
    w.setLax(forward(ref('lax>bos'), { bos: ref('lax>bos') }))
    await w.run(300, () => a.send(`a-${n++}`))
    // dal is back and best again: the flow stays on bos.
    w.setLax(forward(ref('lax>dal'), { dal: ref('lax>dal'), bos: ref('lax>bos') }))
    await w.run(300, () => a.send(`a-${n++}`))
    await w.run(100)
    expect(ports(w.atOrigin, 'a-')).toHaveLength(2)
    expect(a.received.length).toBe(90)
    expect(w.stats('lax').flow_exit_moves).toBe(1)
  })

  it('a flood of new flows cannot grow the flow table (and its exit state) beyond max_flows', async () => {
    const w = await world({ maxFlows: 64 })
    w.setLax(forward(ref('lax>dal'), { dal: ref('lax>dal'), bos: ref('lax>bos') }))
    let i = 0
    await w.run(1000, () => {
      for (let k = 0; k < 20; k++, i++) w.net.inject({ address: `127.${(i >> 8) & 255}.${i & 255}.1`, port: 40000 + (i % 1000) }, SERVICE, Buffer.from('junk'))
    })
    expect(i).toBe(2000)
    expect(w.stats('lax').ingress_flows).toBeLessThanOrEqual(64)
    expect(w.relays.get('lax')!.stats().services.game.drops.flow_evicted).toBeGreaterThan(0)
  })
})

describe('redundant delivery', () => {
  it('delivers every datagram once to the origin and every echo once to the client, also across an exit move', async () => {
    const w = await world({ redundant: true })
    w.setLax(forward(ref('lax>dal', 'lax>sea>dal'), { dal: ref('lax>dal', 'lax>sea>dal'), bos: ref('lax>bos', 'lax>sea>bos') }))
    const a = w.client(50100)
    let n = 0
    // More than a dedup window (1,024) of replies from dal before the move.
    await w.run(12_000, () => a.send(`a-${n++}`))
    w.setLax(forward(ref('lax>bos', 'lax>sea>bos'), { bos: ref('lax>bos', 'lax>sea>bos') }))
    await w.run(1_000, () => a.send(`a-${n++}`))
    await w.run(100)
    const texts = w.atOrigin.map((m) => m.text)
    expect(new Set(texts).size).toBe(n)
    expect(texts.length).toBe(n)
    expect(new Set(a.received).size).toBe(n)
    expect(a.received.length).toBe(n)
    expect(w.stats('dal').drops.duplicate).toBe(1200)
    expect(w.stats('bos').drops.duplicate).toBe(100)
    expect(w.stats('lax').drops.duplicate).toBe(n)
  })
})

describe('sticky exits in L3 mode', () => {
  it('an IP flow keeps its exit across a route change, a new one takes the best, and a withdrawn exit moves it', async () => {
    const clock = new FakeClock(1000)
    const net = new FakeNetwork(clock, { delayMs: () => 5 })
    const dc: Partial<ServiceConfig> = { name: 'dc', mode: 'l3', prefixes: [parsePrefix('10.200.0.0/24')], exits: ['dal', 'bos'] }
    const site: Partial<ServiceConfig> = { name: 'site-lax', mode: 'l3', prefixes: [parsePrefix('10.101.0.0/24')], exits: ['lax'], paths: [['dal', 'lax'], ['bos', 'lax']] }
    const configs = buildConfigs({ relays: ['lax', 'dal', 'bos'], services: [dc, site] })
    const tuns = new Map(['lax', 'dal', 'bos'].map((r) => [r, new FakeTun(`op3${r}`)]))
    const relays: Relay[] = []
    let laxPaths: SnapshotPaths | undefined
    for (const [id, config] of configs) {
      config.l3 = { tun: `op3${id}`, mtu: 1388, maxMtu: 1388, oversizeWithoutDf: 'fragment', clampMss: true, addresses: [] }
      const paths = new SnapshotPaths(id, resolveServiceRoles(id, true, config.services))
      if (id === 'lax') laxPaths = paths
      const relay = staticRelay(config, { udp: net, clock, timers: clock, log: silentLogger, cryptoBackend: 'tweetnacl', tun: tuns.get(id), paths })
      await relay.start()
      relays.push(relay)
    }
    stopAll = () => {
      for (const r of relays) r.stop()
    }
    const snap = (best: string, byExit: Record<string, PathRef>): PathSnapshot => ({
      forward: new Map([['dc', ref(best)]]),
      reply: new Map(),
      forwardByExit: new Map([['dc', new Map(Object.entries(byExit).map(([e, p]) => [nameId(e), p]))]]),
    })
    const run = (ms: number) => runInSteps(clock, ms)
    const a = () => tuns.get('lax')!.inject(buildV4({ src: '10.101.0.5', dst: '10.200.0.7' }))
    const b = () => tuns.get('lax')!.inject(buildV4({ src: '10.101.0.6', dst: '10.200.0.7' }))
    const at = (r: string) => tuns.get(r)!.written.map((p) => p[15])
    laxPaths!.set(snap('lax>dal', { dal: ref('lax>dal'), bos: ref('lax>bos') }))
    a()
    await run(100)
    laxPaths!.set(snap('lax>bos', { dal: ref('lax>dal'), bos: ref('lax>bos') }))
    a()
    b()
    await run(100)
    expect(at('dal')).toEqual([5, 5])
    expect(at('bos')).toEqual([6])
    laxPaths!.set(snap('lax>bos', { bos: ref('lax>bos') }))
    a()
    await run(100)
    expect(at('bos')).toEqual([6, 5])
    expect(relays[0].stats().services.dc.flow_exit_moves).toBe(1)
  })
})
