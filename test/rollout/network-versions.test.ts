/**
 * The network-version state machine on an in-memory network with a fake
 * clock: spreading, holding aside, canary hold-back and rollback, and the
 * attacks (forged signature, replayed older version, unknown peer, malformed
 * and oversized messages), each refused and counted.
 */
import { describe, expect, it } from 'vitest'
import { encodeAnnounce, encodeChunk, MAX_BUNDLE_BYTES } from '../../src/rollout/messages.js'
import { NetworkVersions } from '../../src/rollout/network-versions.js'
import { Lab, signed, stranger, type Content } from './harness.js'

const RELAYS = ['lax', 'sea', 'dal']
const base: Content = { relays: RELAYS }

function lab3(v1 = signed(1, base)): Lab {
  const lab = new Lab()
  for (const id of RELAYS) lab.add(id, v1)
  lab.advance(500)
  return lab
}

describe('spreading a signed version', () => {
  it('a version handed to one relay reaches and is applied by every relay, and is persisted', () => {
    const lab = lab3()
    expect(lab.offer('lax', signed(2, { ...base, pad: 'x'.repeat(5000) }))).toEqual({ accepted: true, version: 2 })
    lab.advance(2000)
    expect(lab.running()).toEqual({ lax: 2, sea: 2, dal: 2 })
    for (const n of lab.nodes.values()) {
      expect(n.applied).toEqual([{ version: 2, why: 'adopt' }])
      expect(n.persisted).toMatchObject({ onDisk: { version: 2 }, previous: { version: 1 }, floor: 2 })
    }
  })

  it('passes a version on through a relay when the origin cannot reach the others directly', () => {
    const lab = lab3()
    lab.cut.add('lax->dal').add('dal->lax')
    lab.offer('lax', signed(2, base))
    lab.advance(3000)
    expect(lab.running()).toEqual({ lax: 2, sea: 2, dal: 2 })
  })

  it('keeps aside a version invalid for this relay, says why, and still passes it on', () => {
    const lab = lab3()
    lab.cut.add('lax->dal').add('dal->lax')
    lab.offer('lax', signed(2, { ...base, badFor: ['sea'] }))
    lab.advance(3000)
    expect(lab.running()).toEqual({ lax: 2, sea: 1, dal: 2 })
    const sea = lab.nodes.get('sea')!
    expect(sea.m.status(lab.nowMs)).toMatchObject({ running: 1, newest: 2, held: { version: 2, reason: 'invalid', detail: 'relays: not valid for sea' } })
    expect(sea.logs.some((l) => l.msg === 'network version held aside' && l.fields.reason === 'invalid')).toBe(true)
    expect(sea.applied).toEqual([])
  })

  it('a version that needs a restart is persisted to disk and reported, not run', () => {
    const lab = lab3()
    const sea = lab.nodes.get('sea')!
    sea.answer = () => ({ outcome: 'needs_restart', detail: 'live apply is not available' })
    lab.offer('lax', signed(2, base))
    lab.advance(2000)
    expect(sea.m.status(lab.nowMs)).toMatchObject({ running: 1, on_disk: 2, held: { version: 2, reason: 'needs_restart' } })
    expect(sea.persisted).toMatchObject({ onDisk: { version: 2 }, floor: 2 })
  })

  it('a failed apply leaves the running version and is not retried', () => {
    const lab = lab3()
    const sea = lab.nodes.get('sea')!
    sea.answer = () => ({ outcome: 'failed', detail: 'port 7000 in use' })
    lab.offer('lax', signed(2, base))
    lab.advance(20_000)
    expect(sea.applied).toEqual([{ version: 2, why: 'adopt' }])
    expect(sea.m.status(lab.nowMs)).toMatchObject({ running: 1, on_disk: 1, held: { version: 2, reason: 'apply_failed', detail: 'port 7000 in use' } })
  })

  it('after a restart, the persisted floor and newest version survive: it still serves the version and refuses older ones', () => {
    const lab = lab3()
    lab.offer('lax', signed(3, base))
    lab.advance(2000)
    const record = lab.nodes.get('lax')!.persisted!
    const again = new Lab()
    const lax = again.add('lax', record.onDisk, { persisted: record })
    const sea = again.add('sea', signed(1, base))
    again.advance(2000)
    expect(sea.m.runningVersion).toBe(3)
    expect(lax.m.status(again.nowMs)).toMatchObject({ running: 3, floor: 3 })
    expect(again.offer('lax', signed(2, base))).toMatchObject({ accepted: false, reason: 'not_newer' })
  })
})

describe('attacks on spreading, each refused and counted', () => {
  /** A compromised relay (it has a session, but not the operator key) offering version 9. */
  function forgeFrom(lab: Lab, liar: string, to: string, file = signed(9, base, stranger.secretKey)): void {
    const bundle = NetworkVersions.bundleOf(file)
    lab.deliver(liar, to, encodeAnnounce({ newest: file.version, newestBytes: bundle.length, running: 1, healthy: false, healthyMs: 0 }))
    for (let i = 0; i * 1024 < bundle.length; i++) lab.deliver(liar, to, encodeChunk(file.version, bundle, i))
  }

  it('a version signed with another key, from a relay with a valid session, is refused and never fetched from it again', () => {
    const lab = lab3()
    lab.nodes.delete('dal') // dal is compromised: its messages are crafted below
    forgeFrom(lab, 'dal', 'lax')
    const lax = lab.nodes.get('lax')!
    expect(lax.m.counters.version_rejected_bad_signature).toBe(1)
    expect(lax.m.status(lab.nowMs)).toMatchObject({ running: 1, floor: 1 })
    expect(lax.m.status(lab.nowMs).newest).toBeUndefined()
    lab.sent.length = 0
    lab.deliver('dal', 'lax', encodeAnnounce({ newest: 9, newestBytes: 100, running: 1, healthy: false, healthyMs: 0 }))
    expect(lab.sent.filter((s) => s.from === 'lax')).toEqual([])
  })

  it('a validly signed file with its bytes altered after signing is refused', () => {
    const lab = lab3()
    lab.nodes.delete('dal')
    const good = signed(4, base)
    const altered = { ...good, bytes: new Uint8Array(Buffer.from(JSON.stringify({ relays: ['lax', 'sea', 'dal', 'evil'] }))) }
    forgeFrom(lab, 'dal', 'lax', altered)
    expect(lab.nodes.get('lax')!.m.counters.version_rejected_bad_signature).toBe(1)
    expect(lab.nodes.get('lax')!.m.runningVersion).toBe(1)
  })

  it('a replayed older (validly signed) version is not fetched, and refused when handed over', () => {
    const lab = lab3(signed(5, base))
    lab.sent.length = 0
    const old = NetworkVersions.bundleOf(signed(4, base))
    lab.deliver('sea', 'lax', encodeAnnounce({ newest: 4, newestBytes: old.length, running: 4, healthy: false, healthyMs: 0 }))
    expect(lab.sent.filter((s) => s.from === 'lax')).toEqual([])
    expect(lab.offer('lax', signed(4, base))).toMatchObject({ accepted: false, reason: 'not_newer' })
    expect(lab.nodes.get('lax')!.m.counters.version_rejected_not_newer).toBe(1)
  })

  it('after a rollback-free restart, an older signed version is refused (the persisted floor, not the file on disk, decides)', () => {
    const lax = new Lab().add('lax', signed(3, base), { persisted: { onDisk: signed(3, base), floor: 6 } })
    expect(lax.m.offer(0, signed(5, base)).verdict).toMatchObject({ accepted: false, reason: 'not_newer' })
    expect(lax.m.offer(0, signed(7, base)).verdict).toEqual({ accepted: true, version: 7 })
  })

  it('a message from a relay that is not in the network gets no reply and is counted', () => {
    const lab = lab3()
    const lax = lab.nodes.get('lax')!
    const actions = lax.m.onMessage(lab.nowMs, 'evil', encodeAnnounce({ newest: 9, newestBytes: 100, running: 9, healthy: false, healthyMs: 0 }))
    expect(actions).toEqual([])
    expect(lax.m.counters.version_unknown_peer).toBe(1)
  })

  it('malformed and oversized announcements are dropped and counted by reason', () => {
    const lab = lab3()
    const lax = lab.nodes.get('lax')!
    const big = Buffer.from(encodeAnnounce({ newest: 9, newestBytes: 100, running: 1, healthy: false, healthyMs: 0 }))
    big.writeUInt32BE(MAX_BUNDLE_BYTES + 1, 12)
    expect(lax.m.onMessage(lab.nowMs, 'sea', big)).toEqual([])
    expect(lax.m.onMessage(lab.nowMs, 'sea', new Uint8Array(100_000))).toEqual([])
    expect(lax.m.onMessage(lab.nowMs, 'sea', new Uint8Array([1, 2]))).toEqual([])
    expect(lax.m.counters).toMatchObject({ version_malformed: 3, version_malformed_too_large: 1, version_malformed_bad_type: 1, version_malformed_short: 1 })
  })

  it('chunks nobody asked for are dropped and counted', () => {
    const lab = lab3()
    const lax = lab.nodes.get('lax')!
    expect(lax.m.onMessage(lab.nowMs, 'sea', encodeChunk(9, NetworkVersions.bundleOf(signed(9, base)), 0))).toEqual([])
    expect(lax.m.counters.version_unexpected_chunk).toBe(1)
  })

  it('a fetch whose peer stops answering is dropped after the stall time and counted', () => {
    const lab = lab3()
    lab.nodes.delete('sea') // sea announces, then never answers a chunk request
    const lax = lab.nodes.get('lax')!
    lab.deliver('sea', 'lax', encodeAnnounce({ newest: 2, newestBytes: 5000, running: 2, healthy: false, healthyMs: 0 }))
    expect(lax.m.status(lab.nowMs).fetching).toEqual({ version: 2, from: 'sea', chunks: 0, of: 5 })
    lab.advance(11_000)
    expect(lax.m.counters.version_fetch_stalled).toBe(1)
    expect(lax.m.status(lab.nowMs).fetching).toBeUndefined()
    expect(lax.m.runningVersion).toBe(1)
  })
})

describe('canary roll-out', () => {
  const canary = (hold_s: number, extra: Partial<Content> = {}): Content => ({ ...base, rollout: { canaries: ['sea'], hold_s }, ...extra })

  it('the canary applies at once; the rest wait until it has run the version healthily for hold_s', () => {
    const lab = lab3()
    lab.offer('lax', signed(2, canary(30)))
    lab.advance(2000)
    expect(lab.running()).toEqual({ lax: 1, sea: 2, dal: 1 })
    expect(lab.nodes.get('lax')!.m.status(lab.nowMs)).toMatchObject({ held: { version: 2, reason: 'waiting_canaries' }, waiting_for: ['sea'] })
    lab.advance(25_000)
    expect(lab.running()).toEqual({ lax: 1, sea: 2, dal: 1 })
    lab.advance(10_000)
    expect(lab.running()).toEqual({ lax: 2, sea: 2, dal: 2 })
  })

  it('an unhealthy canary (map not fresh) holds the rest back; the hold starts again when it recovers', () => {
    const lab = lab3()
    const sea = lab.nodes.get('sea')!
    lab.offer('lax', signed(2, canary(30)))
    lab.advance(20_000)
    sea.health = { peersUp: 2, mapFresh: false }
    lab.advance(5_000)
    sea.health = { peersUp: 2, mapFresh: true }
    lab.advance(25_000)
    expect(lab.running()).toEqual({ lax: 1, sea: 2, dal: 1 })
    lab.advance(10_000)
    expect(lab.running()).toEqual({ lax: 2, sea: 2, dal: 2 })
  })

  it('a bad version that the canary refuses is held back everywhere', () => {
    const lab = lab3()
    lab.offer('lax', signed(2, canary(5, { badFor: ['sea'] })))
    lab.advance(60_000)
    expect(lab.running()).toEqual({ lax: 1, sea: 1, dal: 1 })
    expect(lab.nodes.get('sea')!.m.status(lab.nowMs).held).toMatchObject({ reason: 'invalid' })
    expect(lab.nodes.get('dal')!.m.status(lab.nowMs)).toMatchObject({ held: { reason: 'waiting_canaries' }, waiting_for: ['sea'] })
  })

  it('a canary that went silent does not count as healthy', () => {
    const lab = lab3()
    lab.offer('lax', signed(2, canary(5)))
    lab.advance(1000)
    lab.cut.add('sea->lax').add('sea->dal')
    lab.advance(60_000)
    expect(lab.running()).toEqual({ lax: 1, sea: 2, dal: 1 })
  })
})

describe('rollback after losing every peer', () => {
  it('rolls back to the previous version on its own, says so, and never adopts that version again', () => {
    const lab = new Lab()
    for (const id of RELAYS) lab.add(id, signed(1, base), { rollbackWindowMs: 30_000 })
    lab.advance(500)
    lab.offer('lax', signed(2, base))
    lab.advance(2000)
    const dal = lab.nodes.get('dal')!
    dal.health = { peersUp: 0, mapFresh: false }
    lab.advance(500)
    expect(dal.applied).toEqual([{ version: 2, why: 'adopt' }]) // a blip is not a cut
    lab.advance(600)
    expect(dal.applied).toEqual([{ version: 2, why: 'adopt' }, { version: 1, why: 'rollback' }])
    expect(dal.m.runningVersion).toBe(1)
    const s = dal.m.status(lab.nowMs)
    expect(s).toMatchObject({ running: 1, on_disk: 1, floor: 2, held: { version: 2, reason: 'rolled_back' }, last_rollback: { from: 2, to: 1 }, counters: { version_rollbacks: 1 } })
    expect(dal.logs.some((l) => l.level === 'error' && l.msg.includes('rolling back'))).toBe(true)
    expect(dal.persisted).toMatchObject({ onDisk: { version: 1 }, floor: 2, held: { reason: 'rolled_back' } })
    dal.health = { peersUp: 2, mapFresh: true }
    lab.advance(20_000)
    expect(dal.m.runningVersion).toBe(1)
    lab.offer('lax', signed(3, base))
    lab.advance(2000)
    expect(lab.running()).toEqual({ lax: 3, sea: 3, dal: 3 })
  })

  it('a version applied while the map blinks (no edge up at that tick, peers up just before) is still watched and rolled back', () => {
    const lab = new Lab()
    for (const id of RELAYS) lab.add(id, signed(1, base), { rollbackWindowMs: 30_000 })
    lab.advance(500)
    const dal = lab.nodes.get('dal')!
    dal.health = { peersUp: 0, mapFresh: false }
    lab.advance(200)
    lab.offer('lax', signed(2, base))
    lab.advance(300)
    expect(dal.applied).toEqual([{ version: 2, why: 'adopt' }])
    lab.advance(2000)
    expect(dal.applied).toEqual([{ version: 2, why: 'adopt' }, { version: 1, why: 'rollback' }])
    expect(dal.m.status(lab.nowMs)).toMatchObject({ running: 1, peers_up: 0, last_rollback: { from: 2, to: 1 } })
  })

  it('a relay whose peers were gone long before the apply does not blame the version', () => {
    const lab = new Lab()
    for (const id of RELAYS) lab.add(id, signed(1, base), { rollbackWindowMs: 30_000 })
    lab.advance(500)
    const dal = lab.nodes.get('dal')!
    dal.health = { peersUp: 0, mapFresh: false }
    lab.advance(5000)
    lab.offer('lax', signed(2, base))
    lab.advance(5000)
    expect(dal.applied).toEqual([{ version: 2, why: 'adopt' }])
    expect(dal.m.status(lab.nowMs).last_rollback).toBeUndefined()
  })

  it('losing peers after the window is not blamed on the version', () => {
    const lab = new Lab()
    for (const id of RELAYS) lab.add(id, signed(1, base), { rollbackWindowMs: 30_000 })
    lab.offer('lax', signed(2, base))
    lab.advance(31_000)
    const dal = lab.nodes.get('dal')!
    dal.health = { peersUp: 0, mapFresh: false }
    lab.advance(1000)
    expect(dal.m.runningVersion).toBe(2)
    expect(dal.m.status(lab.nowMs).last_rollback).toBeUndefined()
  })

  it('a rollback that needs a restart writes the previous version back to disk and says to restart', () => {
    const lab = lab3()
    lab.offer('lax', signed(2, base))
    lab.advance(1000)
    const dal = lab.nodes.get('dal')!
    dal.answer = (_v, why) => (why === 'rollback' ? { outcome: 'needs_restart', detail: 'live apply is not available' } : { outcome: 'applied' })
    dal.health = { peersUp: 0, mapFresh: false }
    lab.advance(1200)
    expect(dal.m.status(lab.nowMs)).toMatchObject({ on_disk: 1, held: { version: 2, reason: 'rolled_back' } })
    expect(dal.m.status(lab.nowMs).held?.detail).toContain('restart to run version 1')
  })

  it('a start that takes a version saved for a restart is watched too: no peer within the window rolls it back', () => {
    const lab = lab3()
    const sea = lab.nodes.get('sea')!
    sea.answer = () => ({ outcome: 'needs_restart', detail: 'live apply is not available' })
    lab.offer('lax', signed(2, base))
    lab.advance(1000)
    const record = sea.persisted!
    expect(record).toMatchObject({ onDisk: { version: 2 }, previous: { version: 1 }, held: { reason: 'needs_restart' } })
    const restarted = new Lab()
    restarted.nowMs = 50_000
    const again = restarted.add('sea', record.onDisk, { persisted: record })
    again.health = { peersUp: 0, mapFresh: false }
    again.answer = () => ({ outcome: 'needs_restart', detail: 'live apply is not available' })
    restarted.advance(1500)
    expect(again.applied).toEqual([{ version: 1, why: 'rollback' }])
    expect(again.persisted).toMatchObject({ onDisk: { version: 1 }, floor: 2, held: { version: 2, reason: 'rolled_back' } })
  })
})
