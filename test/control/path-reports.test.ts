/** Path reports at run time (control/path-reports.ts): who gets them, and what a bad one costs (a counted drop). */
import { afterEach, describe, expect, it } from 'vitest'
import { nameId } from '../../src/wire/ids.js'
import { encodePathReport, MAX_REPORT_LEN } from '../../src/wire/path-report.js'
import { WAN_RELAYS, startWanRelays } from '../daemon/four-relay-wan.js'

const BASE = 7400
let cleanup: (() => void) | undefined
afterEach(() => cleanup?.())

async function world() {
  const { clock, byName, stop } = await startWanRelays(BASE)
  cleanup = stop
  return { clock, byName }
}

function report(reporter: string): Buffer {
  const b = Buffer.alloc(MAX_REPORT_LEN)
  return b.subarray(0, encodePathReport(b, { reporter: nameId(reporter), seq: 1, entries: [] }))
}

describe('path reports', () => {
  it('flow only between the two ends of a service path (lax ingress, dal exit), twice a second', async () => {
    const w = await world()
    w.clock.advance(5000)
    const sent = (n: string) => w.byName(n).bridge.pathChecks()?.reports_sent ?? 0
    const got = (n: string) => w.byName(n).bridge.pathChecks()?.reports_received ?? 0
    // 5 s: one at start, then every 500 ms; the last may still be on its way.
    expect([sent('lax'), sent('dal'), sent('sea'), sent('atl')]).toEqual([11, 11, 0, 0])
    expect(got('lax')).toBeGreaterThanOrEqual(10)
    expect(got('dal')).toBeGreaterThanOrEqual(10)
    expect([got('sea'), got('atl')]).toEqual([0, 0])
    // Nobody counted one as malformed or unexpected, and nobody saw an unknown kind.
    for (const n of WAN_RELAYS) expect(Object.keys(w.byName(n).relay.stats().drops).filter((k) => k.startsWith('path_report') || k === 'bad_inner_kind')).toEqual([])
  })

  it('drops and counts malformed, mis-sent and unexpected reports', async () => {
    const w = await world()
    const lax = w.byName('lax')
    const peer = (id: string) => lax.relay.peerById(id)!
    const before = lax.bridge.pathChecks()!.reports_received
    lax.bridge.onPathReport(peer('dal'), Buffer.from([1, 0, 0]), 0)
    lax.bridge.onPathReport(peer('dal'), report('sea'), 0)
    lax.bridge.onPathReport(peer('sea'), report('sea'), 0)
    const drops = lax.relay.stats().drops
    expect(drops).toMatchObject({
      path_report_malformed: 1, path_report_malformed_truncated: 1, path_report_wrong_sender: 1, path_report_unexpected: 1,
    })
    expect(lax.bridge.pathChecks()!.reports_received).toBe(before)
    lax.bridge.onPathReport(peer('dal'), report('dal'), 0)
    expect(lax.bridge.pathChecks()!.reports_received).toBe(before + 1)
  })
})
