/**
 * A multi-worker relay's lane workers send a peer's packets where worker 0
 * decided (Relay.endpointState / adoptEndpoints; daemon/workers.ts carries
 * the state between threads): a failover, a DNS answer and a live change
 * made on worker 0 reach the other workers whole.
 */
import { describe, expect, it } from 'vitest'
import { TRY_MS } from '../../src/dataplane/peer-endpoints.js'
import type { PeerEndpointState, Relay } from '../../src/dataplane/relay.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import { FakeNetwork } from '../../src/io/fake-network.js'
import { silentLogger } from '../../src/io/log.js'
import { buildConfigs, staticRelay } from './helpers.js'

const A = { host: '127.0.0.1', port: 7501 }
const B = { host: '127.0.0.2', port: 7501 }

function lanes() {
  const clock = new FakeClock(0)
  const net = new FakeNetwork(clock)
  const config = buildConfigs({ relays: ['lax', 'dal', 'sea'], basePort: 7500, services: [{ exits: ['dal'], paths: [] }] }).get('lax')!
  config.peers[0].endpoints = [A, B]
  const deps = { udp: net, clock, timers: clock, log: silentLogger }
  const w0 = staticRelay(config, { ...deps, worker: { index: 0, count: 2 } })
  const w1 = staticRelay(config, { ...deps, worker: { index: 1, count: 2 } })
  const posted: PeerEndpointState[][] = []
  w0.onEndpointsChanged = (s) => {
    posted.push(s)
    w1.adoptEndpoints(s)
  }
  const seen = (r: Relay) => ({ dal: r.stats().peers.dal.endpoint, sea: r.stats().peers.sea.endpoint })
  return { clock, w0, w1, posted, seen }
}

describe('lane workers follow worker 0 to a peer\'s new endpoint', () => {
  it('after a failover', () => {
    const { w0, w1, posted, seen } = lanes()
    w0.checkEndpoints(0, () => false)
    w0.checkEndpoints(TRY_MS, () => false)
    expect(posted).toHaveLength(1)
    expect(seen(w0).dal).toBe('127.0.0.2:7501')
    expect(seen(w1)).toEqual(seen(w0))
    const active = (r: Relay) => (r.stats().peers.dal.endpoints as { endpoint: string; active: boolean }[]).map((e) => [e.endpoint, e.active])
    expect(active(w1)).toEqual(active(w0))
  })

  it('after a DNS answer, and an address another peer owns is refused on every worker alike', () => {
    const { w0, w1, seen } = lanes()
    w0.setPeerEndpoints('dal', [{ host: '127.0.0.7', port: 7501 }])
    expect(seen(w1)).toEqual({ dal: '127.0.0.7:7501', sea: '127.0.0.1:7502' })
    w0.setPeerEndpoints('dal', [{ host: '127.0.0.1', port: 7502 }, { host: '127.0.0.8', port: 7501 }])
    expect(seen(w1)).toEqual({ dal: '127.0.0.8:7501', sea: '127.0.0.1:7502' })
    expect(seen(w1)).toEqual(seen(w0))
  })

  it('after a live change, even when the worker took the table after worker 0 had moved', () => {
    const { w0, w1, seen } = lanes()
    w0.checkEndpoints(0, () => false)
    w0.checkEndpoints(TRY_MS, () => false)
    // A live change that keeps dal's addresses: worker 0 stays on B; worker 1 gets the table, then worker 0's state.
    const table = w0.peerTable()
    w0.setPeers(table)
    w1.setPeers(table)
    w1.adoptEndpoints(w0.endpointState())
    expect(seen(w0).dal).toBe('127.0.0.2:7501')
    expect(seen(w1)).toEqual(seen(w0))
  })
})
