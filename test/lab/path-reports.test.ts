/**
 * Issue 15, item 6, in the lab (root only; `npm run test:lab`): the transit
 * relay of the active path starts dropping every data packet it carries
 * while it keeps answering probes (scenario relay-drops-data). The path
 * reports must make both directions leave it within 3 s, and the ingress's
 * `overpass routes` must count the demotion. Times are on the lab's shared
 * monotonic clock, never how long the test ran.
 */
import { expect, it } from 'vitest'
import { describeIf } from '../support/requirements.js'
import { LAB_SKIP_REASON, flow, scenarioResult } from './lab-helpers.js'
import { leftLinksAt } from '../../lab/run/series.js'

const AT_MS = 3000
const VIA_DAL = [['lax', 'dal'], ['dal', 'bos'], ['dal', 'atl']] as const

describeIf(LAB_SKIP_REASON, 'a relay that answers probes but drops data, in the lab', () => {
  it('is left within 3 s in both directions, and the demotion shows in overpass routes', async () => {
    const r = await scenarioResult('relay-drops-data')
    const o = flow(r, 'call', 'overpass')
    process.stderr.write(`[path-reports] paths ${o.paths.map((p) => `${p.t_ms}:${p.forward.join('>')}|${p.reply.join('>')}`).join('  ')}\n`)
    expect(o.sent).toBeGreaterThan(100)
    expect(r.relay_events.filter((e) => e.error !== undefined)).toEqual([])
    expect(o.paths.filter((p) => p.t_ms <= AT_MS).at(-1)?.forward).toContain('dal')
    const fwd = leftLinksAt(o.paths, 'forward', AT_MS, VIA_DAL)
    const rep = leftLinksAt(o.paths, 'reply', AT_MS, VIA_DAL)
    const ev = r.relay_events.find((e) => e.action === 'drop-data')
    process.stderr.write(`[path-reports] forward left dal after ${fwd === null ? 'never' : fwd - AT_MS} ms, reply after ${rep === null ? 'never' : rep - AT_MS} ms; first demotion shown at ${ev?.demoted_ms} ms: ${JSON.stringify(ev?.demotions)}\n`)
    expect(fwd).not.toBeNull()
    expect(fwd! - AT_MS).toBeLessThanOrEqual(3000)
    expect(rep).not.toBeNull()
    expect(rep! - AT_MS).toBeLessThanOrEqual(3000)
    expect(ev?.demoted_ms).not.toBeNull()
    expect(ev?.demotions?.lax).toBeGreaterThanOrEqual(1)
  })
})
