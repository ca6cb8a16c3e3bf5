import { describe, expect, it } from 'vitest'
import type { RelayStats } from '../../src/dataplane/relay.js'
import { addCounters, statsWithWorkers } from '../../src/dataplane/worker-stats.js'

function stats(ingress: number, tx: number, drops: Record<string, number>): RelayStats {
  return {
    relay: 'lax',
    uptime_s: 10,
    crypto_backend: 'sodium',
    peers: { sea: { endpoint: '127.0.0.1:7002', session: true, tx_packets: tx } },
    services: { game: { roles: ['ingress'], ingress_flows: ingress, exit_flows: 0, client: { rx_packets: tx }, origin: {}, drops: {} } },
    drops,
    crypto: { total: { rxPackets: tx } },
  }
}

describe('status of a multi-worker relay', () => {
  it('adds numbers key by key, copies keys only one side has, and keeps the first side for the rest', () => {
    const dst: Record<string, unknown> = { a: 1, s: 'x', nested: { b: 2 } }
    addCounters(dst, { a: 2, s: 'y', nested: { b: 3, c: 4 }, only: { d: 5 } })
    expect(dst).toEqual({ a: 3, s: 'x', nested: { b: 5, c: 4 }, only: { d: 5 } })
  })

  it('sums service, drop and peer counters over the workers and lists each worker', () => {
    const out = statsWithWorkers(stats(3, 100, { replay: 1 }), new Map([[1, stats(2, 50, { wrong_lane: 4 })]]), 2)
    expect(out.services.game.ingress_flows).toBe(5)
    expect(out.services.game.client).toEqual({ rx_packets: 150 })
    expect(out.drops).toEqual({ replay: 1, wrong_lane: 4 })
    expect(out.peers.sea).toEqual({ endpoint: '127.0.0.1:7002', session: true, tx_packets: 150 })
    expect(out.worker_count).toBe(2)
    expect(out.workers!.map((w) => [w.worker, (w.services as Record<string, { ingress_flows: number }>).game.ingress_flows])).toEqual([[0, 3], [1, 2]])
  })

  it('leaves a single-worker relay untouched', () => {
    const one = stats(3, 100, {})
    expect(statsWithWorkers(one, new Map(), 1)).toBe(one)
  })
})
