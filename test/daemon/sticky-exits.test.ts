/**
 * Sticky exits end to end: relays built as the daemon builds them (Router +
 * RouterBridge + data plane) on the four-relay WAN (four-relay-wan.ts), a
 * service with two exits, dal and atl. Forward lax>sea>dal (18 ms) beats
 * lax>atl (30 ms) until sea>dal is cut: then atl is the best exit, but a
 * live flow keeps dal (now by the direct 40 ms edge); only when dal is cut
 * off from everyone does the flow move.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { formatStatus } from '../../src/cli/commands/status.js'
import type { RelayConfig } from '../../src/config/types.js'
import type { PacketSocket } from '../../src/io/index.js'
import { buildConfigs } from '../dataplane/helpers.js'
import { WAN_RELAYS, fourRelayWan, startRoutedRelay, type RoutedRelay } from './four-relay-wan.js'

const BASE = 7400

let cleanup: (() => void) | undefined
afterEach(() => cleanup?.())

describe('sticky exits with the real control plane', () => {
  it('a live flow keeps its exit when the best exit changes, a new flow takes the new best, and the flow moves when its exit is cut off', async () => {
    const { clock, net, cut } = fourRelayWan(BASE)
    const configs = buildConfigs({ relays: WAN_RELAYS, basePort: BASE, services: [{ exits: ['dal', 'atl'], paths: [] }] })
    const parts: RoutedRelay[] = []
    for (const config of configs.values()) parts.push(await startRoutedRelay(config as RelayConfig, net, clock))
    const origin = net.open('127.0.0.1', 9000)
    /** Source ports the origin saw per client tag, in order of first sight. */
    const seen = new Map<string, number[]>()
    origin.onMessage((d, from) => {
      const tag = d.toString().split('-')[0]
      const ports = seen.get(tag) ?? []
      if (ports.at(-1) !== from.port) ports.push(from.port)
      seen.set(tag, ports)
      origin.send(d, 0, d.length, from.port, from.address)
    })
    const sockets: PacketSocket[] = [origin]
    cleanup = () => {
      for (const p of parts) p.stop()
      for (const s of sockets) s.close()
    }
    const client = (port: number, tag: string) => {
      const s = net.open('127.0.0.1', port)
      sockets.push(s)
      const got: string[] = []
      s.onMessage((d) => got.push(d.toString()))
      const sent: string[] = []
      const send = (): void => {
        const text = `${tag}-${sent.length}`
        sent.push(text)
        s.send(Buffer.from(text), 0, text.length, 27015, '127.0.0.1')
      }
      return { got, sent, send }
    }
    const lax = parts[WAN_RELAYS.indexOf('lax')]
    const exitFlows = (r: string) => parts[WAN_RELAYS.indexOf(r)].relay.stats().services.game.exit_flows
    const run = (ms: number, each: () => void) => {
      for (let t = 0; t < ms; t += 20) {
        each()
        clock.advance(20)
      }
    }
    clock.advance(5000)
    expect(lax.bridge.router.forwardPath('game')?.path).toEqual(['lax', 'sea', 'dal'])
    const a = client(50100, 'a')
    run(1000, a.send)
    cut.add('sea>dal')
    // Once the router has noticed, atl is the best exit: a new flow starts there.
    run(1000, a.send)
    expect(lax.bridge.router.forwardPath('game')?.path).toEqual(['lax', 'atl'])
    const b = client(50200, 'b')
    run(2000, () => {
      a.send()
      b.send()
    })
    expect(lax.bridge.router.forwardPath('game')?.path).toEqual(['lax', 'atl'])
    expect(lax.bridge.router.forwardPathVia!('game', 'dal')?.path).toEqual(['lax', 'dal'])
    expect(seen.get('a')).toHaveLength(1)
    expect(seen.get('b')).toHaveLength(1)
    expect(seen.get('b')![0]).not.toBe(seen.get('a')![0])
    expect(exitFlows('dal')).toBe(1)
    expect(exitFlows('atl')).toBe(1)
    expect(lax.relay.stats().services.game.flow_exit_moves).toBe(0)
    // What `overpass routes` shows: the path a flow on each exit rides now.
    expect(lax.bridge.forwardByExit().game).toEqual(expect.arrayContaining([{ exit: 'dal', path: ['lax', 'dal'] }, { exit: 'atl', path: ['lax', 'atl'] }]))
    // dal is cut off from everyone: a moves to atl once dal's column is stale (3.5 flood intervals), as the best route does.
    for (const r of WAN_RELAYS) {
      cut.add(`${r}>dal`)
      cut.add(`dal>${r}`)
    }
    run(5000, a.send)
    expect(seen.get('a')).toHaveLength(2)
    expect(lax.relay.stats().services.game.flow_exit_moves).toBe(1)
    expect(formatStatus(lax.relay.stats())).toMatch(/game \(ingress\)  flows: .*  exit moves 1/)
    expect(lax.bridge.forwardByExit().game.map((p) => p.exit)).toEqual(['atl'])
    // On the new exit, nothing is lost.
    const from = a.sent.length
    run(500, a.send)
    clock.advance(200)
    expect(a.sent.slice(from).filter((t) => !a.got.includes(t))).toEqual([])
  })
})
