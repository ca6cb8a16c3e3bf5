/**
 * The attack of docs/security.md, "A relay that answers probes but drops
 * data": on the four-relay WAN (lax>sea>dal is the best forward path), sea
 * keeps answering probes and flooding the map, but drops every data packet
 * it should forward. The probes see nothing wrong; only the path reports
 * from the exit (dal) show it. With them, lax leaves the path within 3 s;
 * without them (the check switched off), it stays on it.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { formatRoutes } from '../../src/cli/commands/map.js'
import type { PacketSocket } from '../../src/io/index.js'
import { DataHeader, decodeDataHeader } from '../../src/wire/data.js'
import { nameId } from '../../src/wire/ids.js'
import { startWanRelays, type RoutedRelay } from '../daemon/four-relay-wan.js'

const BASE = 7300
let cleanup: (() => void) | undefined
afterEach(() => cleanup?.())

async function world() {
  const { clock, net, byName, stop } = await startWanRelays(BASE)
  const origin = net.open('127.0.0.1', 9000)
  let atOrigin = 0
  origin.onMessage((d, from) => {
    atOrigin++
    origin.send(d, 0, d.length, from.port, from.address)
  })
  const client = net.open('127.0.0.1', 50000)
  let atClient = 0
  client.onMessage(() => atClient++)
  const sockets: PacketSocket[] = [origin, client]
  cleanup = () => {
    stop()
    for (const s of sockets) s.close()
  }
  return { clock, client, byName, atOrigin: () => atOrigin, atClient: () => atClient }
}

/** Makes a relay drop every data packet it should forward as a transit (test-only: replaces a private method). */
function dropTransitData(node: RoutedRelay): void {
  ;(node.relay as unknown as { forward: () => void }).forward = () => {}
}

/** Makes the exit's replies to `to` vanish on the direct edge, while its probes still cross it (test-only). */
function dropRepliesTo(node: RoutedRelay, to: string): void {
  const relay = node.relay as unknown as { sendOnPath: (...a: unknown[]) => boolean }
  const send = relay.sendOnPath.bind(relay)
  relay.sendOnPath = (...a: unknown[]) => (a[2] === nameId(to) ? true : send(...a))
}

/** Makes a relay hold every data packet it forwards for `ms` more (test-only, like dropTransitData). */
function delayTransitData(node: RoutedRelay, w: { clock: { setTimeout: (fn: () => void, ms: number) => unknown } }, ms: number): void {
  const relay = node.relay as unknown as { forward: (plain: Buffer, length: number) => void; hdr: DataHeader }
  const forward = relay.forward.bind(relay)
  relay.forward = (plain, length) => {
    const copy = Buffer.from(plain.subarray(0, length))
    w.clock.setTimeout(() => {
      decodeDataHeader(copy, length, relay.hdr)
      forward(copy, length)
    }, ms)
  }
}

/** Sends 50 packets a second for `ms`, returning when lax's forward path first left sea (or undefined). */
function runFlow(w: Awaited<ReturnType<typeof world>>, ms: number): number | undefined {
  const start = w.clock.nowMs()
  let leftAt: number | undefined
  for (let t = 0; t < ms; t += 20) {
    w.client.send(Buffer.from('tick'), 0, 4, 27015, '127.0.0.1')
    w.clock.advance(20)
    const p = w.byName('lax').bridge.router.forwardPath('game')?.path
    if (leftAt === undefined && p !== undefined && !p.includes('sea')) leftAt = w.clock.nowMs() - start
  }
  return leftAt
}

describe('a relay that answers probes but drops data', () => {
  it('is avoided within 3 s, counted and shown', async () => {
    const w = await world()
    w.clock.advance(5000)
    expect(w.byName('lax').bridge.router.forwardPath('game')?.path).toEqual(['lax', 'sea', 'dal'])
    dropTransitData(w.byName('sea'))
    const leftAt = runFlow(w, 6000)
    expect(leftAt).toBeDefined()
    expect(leftAt!).toBeLessThan(3000)
    console.log(`drop attack: lax left the path ${leftAt} ms after sea began dropping data`)
    const before = w.atOrigin()
    runFlow(w, 1000)
    // Traffic flows again on the new path (a few packets are in flight at the end).
    expect(w.atOrigin() - before).toBeGreaterThan(40)
    const checks = w.byName('lax').bridge.pathChecks()
    expect(checks?.demotions).toBeGreaterThanOrEqual(1)
    expect(checks?.by_reason.loss).toBeGreaterThanOrEqual(1)
    expect(checks?.recent[0]).toMatchObject({ path: ['lax', 'sea', 'dal'], reason: 'loss' })
    expect(checks?.demoted_edges).toContainEqual(expect.objectContaining({ from: 'lax', to: 'sea' }))
    expect(w.byName('lax').bridge.router.counters?.().path_demoted).toBeGreaterThanOrEqual(1)
    // `overpass routes` shows it.
    const text = formatRoutes({ relay: 'lax', ...w.byName('lax').bridge.router.routes(), path_checks: checks })
    expect(text).toMatch(/path checks: \d+ demotions? \(loss [1-9]/)
    expect(text).toContain('demoted lax > sea')
    expect(text).toMatch(/lax > sea > dal +loss: 100% loss \(limit 20\)/)
    // The probes alone still find nothing wrong with sea.
    const edge = w.byName('lax').bridge.router.edges().find((e) => e.from === 'sea' && e.to === 'dal')
    expect(edge?.up).toBe(true)
  })

  it('a relay that delays data (not probes) by 60 ms is avoided within 3 s', async () => {
    const w = await world()
    w.clock.advance(5000)
    expect(w.byName('lax').bridge.router.forwardPath('game')?.path).toEqual(['lax', 'sea', 'dal'])
    delayTransitData(w.byName('sea'), w, 60)
    const leftAt = runFlow(w, 6000)
    console.log(`delay attack: lax left the path ${leftAt} ms after sea began delaying data`)
    expect(leftAt).toBeDefined()
    expect(leftAt!).toBeLessThan(3000)
    expect(w.byName('lax').bridge.pathChecks()?.recent[0]).toMatchObject({ path: ['lax', 'sea', 'dal'], reason: 'delay' })
  })

  it('leaves a healthy path alone (no false positive at 50 or at 5 packets a second)', async () => {
    const w = await world()
    w.clock.advance(5000)
    expect(runFlow(w, 8000)).toBeUndefined()
    for (let i = 0; i < 40; i++) {
      w.client.send(Buffer.from('slow'), 0, 4, 27015, '127.0.0.1')
      w.clock.advance(200)
    }
    expect(w.byName('lax').bridge.router.forwardPath('game')?.path).toEqual(['lax', 'sea', 'dal'])
    expect(w.byName('lax').bridge.pathChecks()?.demotions).toBe(0)
    expect(w.byName('lax').bridge.pathChecks()?.reports_received).toBeGreaterThan(20)
    // Nor the reply path, judged by the exit from the ingress's reports.
    expect(w.byName('dal').bridge.pathChecks()?.demotions).toBe(0)
    expect(w.byName('dal').bridge.pathChecks()?.reports_received).toBeGreaterThan(20)
  })

  it('the reply direction reacts the same way: the exit leaves a reply path that drops data', async () => {
    const w = await world()
    w.clock.advance(5000)
    const reply = () => w.byName('dal').bridge.router.replyPath('game', 'lax')?.path.join('>')
    expect(reply()).toBe('dal>lax')
    dropRepliesTo(w.byName('dal'), 'lax')
    const start = w.clock.nowMs()
    let movedAt: number | undefined
    for (let t = 0; t < 6000 && movedAt === undefined; t += 20) {
      w.client.send(Buffer.from('tick'), 0, 4, 27015, '127.0.0.1')
      w.clock.advance(20)
      if (reply() !== 'dal>lax') movedAt = w.clock.nowMs() - start
    }
    console.log(`reply attack: dal left its reply path ${movedAt} ms after its data began vanishing`)
    expect(movedAt).toBeDefined()
    expect(movedAt!).toBeLessThan(3000)
    const before = w.atClient()
    runFlow(w, 1000)
    expect(w.atClient() - before).toBeGreaterThan(40)
    expect(w.byName('dal').bridge.pathChecks()?.recent[0]).toMatchObject({ path: ['dal', 'lax'], reason: 'loss' })
  })

  it('is not avoided without path reports (the check switched off)', async () => {
    const w = await world()
    ;(w.byName('lax').bridge as unknown as { pathReports: undefined }).pathReports = undefined
    w.clock.advance(5000)
    dropTransitData(w.byName('sea'))
    expect(runFlow(w, 6000)).toBeUndefined()
    expect(w.byName('lax').bridge.router.forwardPath('game')?.path).toEqual(['lax', 'sea', 'dal'])
    // Likewise the exit keeps a reply path whose data vanishes.
    ;(w.byName('dal').bridge as unknown as { pathReports: undefined }).pathReports = undefined
    dropRepliesTo(w.byName('dal'), 'lax')
    runFlow(w, 6000)
    expect(w.byName('dal').bridge.router.replyPath('game', 'lax')?.path).toEqual(['dal', 'lax'])
  })
})
