/**
 * The version bridge on fakes: kind-4 framing out, messages in, an async
 * applier's answer fed back, health read from the map, and contained
 * handler errors (a throwing store is counted and logged, never thrown).
 */
import { describe, expect, it } from 'vitest'
import { healthFromEdges, VersionBridge, type VersionTransport } from '../../src/control/version-bridge.js'
import { DropCounts } from '../../src/dataplane/counters.js'
import type { OverlayPeer } from '../../src/dataplane/relay.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import { silentLogger } from '../../src/io/log.js'
import { decodeVersionMessage, encodeAnnounce } from '../../src/rollout/messages.js'
import { NetworkVersions } from '../../src/rollout/network-versions.js'
import type { ApplyResult, PersistedVersions } from '../../src/rollout/types.js'
import type { EdgeView } from '../../src/route/types.js'
import { KIND_NETWORK_VERSION } from '../../src/wire/data.js'
import { inspectFor, operator, signed } from '../rollout/harness.js'

const base = { relays: ['lax', 'sea'] }

function setup(opts: { apply?: () => ApplyResult | Promise<ApplyResult>; save?: (s: PersistedVersions) => void } = {}) {
  const clock = new FakeClock(1000)
  const sent: { to: string; bytes: Buffer }[] = []
  const sea = { id: 'sea' } as OverlayPeer
  const drops = new DropCounts()
  const transport: VersionTransport = {
    attachVersionSink: () => {},
    peerById: (id: string) => (id === 'sea' ? sea : undefined),
    sendPlain: (peer: OverlayPeer, plain: Buffer, length: number) => (sent.push({ to: peer.id, bytes: Buffer.from(plain.subarray(0, length)) }), true),
    drops,
  } as unknown as VersionTransport
  const machine = new NetworkVersions({ self: 'lax', operatorKey: operator.publicKey, running: signed(1, base), inspect: inspectFor('lax'), random: () => 0.5 })
  const bridge = new VersionBridge(transport, machine, { apply: opts.apply ?? (() => ({ outcome: 'applied' })) }, { save: opts.save ?? (() => {}) }, () => ({ peersUp: 1, mapFresh: true }), clock, clock, silentLogger)
  return { clock, sent, sea, drops, machine, bridge }
}


describe('VersionBridge', () => {
  it('sends announcements framed as kind 4 to the peers, on its timer', () => {
    const { bridge, sent, clock } = setup()
    bridge.start()
    expect(sent).toHaveLength(1)
    expect(sent[0].to).toBe('sea')
    expect(sent[0].bytes[0]).toBe(KIND_NETWORK_VERSION)
    expect(decodeVersionMessage(sent[0].bytes.subarray(1))).toMatchObject({ type: 'announce', newest: 1, running: 1 })
    clock.advance(6000)
    expect(sent.length).toBeGreaterThan(1)
    bridge.stop()
  })

  it('feeds an async applier\'s answer back to the state machine', async () => {
    let resolve!: (r: ApplyResult) => void
    const { bridge, machine } = setup({ apply: () => new Promise<ApplyResult>((r) => (resolve = r)) })
    expect(bridge.offer(signed(2, base))).toEqual({ accepted: true, version: 2 })
    expect(machine.runningVersion).toBe(1)
    resolve({ outcome: 'applied' })
    await Promise.resolve()
    await Promise.resolve()
    expect(machine.runningVersion).toBe(2)
  })

  it('an applier that throws or rejects counts as a failed apply, nothing changed', async () => {
    const { bridge, machine } = setup({ apply: () => Promise.reject(new Error('port in use')) })
    bridge.offer(signed(2, base))
    await new Promise((r) => setTimeout(r, 0))
    expect(machine.status(0)).toMatchObject({ running: 1, held: { version: 2, reason: 'apply_failed', detail: 'port in use' } })
  })

  it('contains a failing store: the error is counted, the relay carries on', () => {
    const { bridge, drops, machine, sea } = setup({ save: () => { throw new Error('disk full') } })
    bridge.onNetworkVersion(sea, Buffer.from(encodeAnnounce({ newest: 1, newestBytes: 200, running: 1, healthy: false, healthyMs: 0 })), 0)
    expect(bridge.offer(signed(2, base))).toEqual({ accepted: true, version: 2 })
    expect(drops.get('version_handler_error')).toBeGreaterThan(0)
    expect(machine.runningVersion).toBe(2)
  })
})

describe('healthFromEdges', () => {
  const edge = (from: string, to: string, up: boolean, ageMs: number): EdgeView => ({ from, to, up, ageMs, delayMs: 1, pseudoMs: 1, jitterMs: 0, lossPct: 0 })
  it('counts this relay\'s up edges, and calls the map fresh when another relay\'s edge is recent', () => {
    expect(healthFromEdges('lax', [edge('lax', 'sea', true, 0), edge('lax', 'dal', false, 0), edge('sea', 'lax', true, 500)], 1000)).toEqual({ peersUp: 1, mapFresh: true })
    expect(healthFromEdges('lax', [edge('lax', 'sea', true, 0), edge('sea', 'lax', true, 5000)], 1000)).toEqual({ peersUp: 1, mapFresh: false })
    expect(healthFromEdges('lax', [], 1000)).toEqual({ peersUp: 0, mapFresh: false })
  })
})
