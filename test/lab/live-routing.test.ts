/**
 * The situations of issue 15's table, one lab run each (root only; `npm run
 * test:lab`): loss on the active detour (independent and bursty), a
 * flapping link, a transit relay cut off from everyone, an exit's origin
 * leg failing. Each test prints its figures next to the target and writes
 * them to dist/lab-reports/live-routing-targets.json.
 *
 * The targets are what issue 15's routing work must reach. A test always
 * checks that the situation happened and the flow ran; the targets the
 * relays have met in every lab run so far are checked by default (flap
 * damping; loss reaction within 3 s both ways, with the active edges probed
 * fast; the transit cut's gap, with their 150 ms silence deadline:
 * docs/routing.md, "Lab figures"), the others only with
 * OVERPASS_LAB_TARGETS=enforce. Bounds are on what the relays did,
 * measured on the shared monotonic clock, never on how long a test ran.
 */
import fs from 'node:fs'
import { afterAll, expect, it } from 'vitest'
import { describeIf } from '../support/requirements.js'
import { LAB_SKIP_REASON, flow, scenarioRerun, scenarioResult } from './lab-helpers.js'
import { leftLinksAt, reentries } from '../../lab/run/series.js'
import type { FlowResult, LabResult } from '../../lab/run/result.js'
import { formatPathChecks } from '../../lab/run/path-checks.js'

const ENFORCE = process.env.OVERPASS_LAB_TARGETS === 'enforce'

interface Figure {
  scenario: string
  figure: string
  value: number | null
  target: string
  met: boolean
}
const figures: Figure[] = []

/**
 * Records a figure against its target, prints it, and checks it when
 * targets are enforced, or always for `enforced` ones (targets the relays
 * have met in 3 of 3 runs).
 */
function report(scenario: string, figure: string, value: number | null, target: string, met: boolean, enforced = false): void {
  figures.push({ scenario, figure, value, target, met })
  process.stderr.write(`[live-routing] ${scenario}: ${figure} = ${value === null ? 'never' : +value.toFixed(1)} (target ${target}: ${met ? 'met' : 'MISSED'})\n`)
  if (ENFORCE || enforced) expect(met, `${scenario}: ${figure} = ${value} (target ${target})`).toBe(true)
}

function describeFlow(r: LabResult, o: FlowResult): void {
  const events = o.around_events.map((e) => `${e.at_ms}ms ${e.what}: gap ${e.gap_ms}, lost ${e.lost_forward}/${e.lost_reverse}, p50 ${e.forward.p50_ms.toFixed(1)}/${e.reverse.p50_ms.toFixed(1)}`).join('; ')
  process.stderr.write(`[live-routing] ${r.scenario}: sent ${o.sent}, loss ${o.loss_pct.toFixed(2)}% (fwd ${o.forward_loss_pct}%, rev ${o.reverse_loss_pct}%), longest gap ${o.max_gap_ms.toFixed(0)} ms, path changes ${o.path_changes.forward}/${o.path_changes.reply}; ${events}\n`)
  for (const l of formatPathChecks(r.path_checks)) process.stderr.write(`[live-routing] ${r.scenario}: path check at ${l}\n`)
  process.stderr.write(`[live-routing] ${r.scenario}: paths ${o.paths.map((p) => `${p.t_ms}:${p.forward.join('>')}|${p.reply.join('>')}`).join('  ')}\n`)
}

/** The flow ran and the situation happened. */
function sane(r: LabResult, o: FlowResult): void {
  expect(o.sent).toBeGreaterThan(100)
  expect(o.received).toBeGreaterThan(0.5 * o.sent)
  expect([...r.relay_events, ...r.origin_events].filter((e) => e.error !== undefined)).toEqual([])
}

/** A scenario's run and the overpass flow of `service` in it, logged (describeFlow) and checked sane. */
async function saneFlow(scenario: string, service = 'call'): Promise<{ r: LabResult; o: FlowResult }> {
  const r = await scenarioResult(scenario)
  const o = flow(r, service, 'overpass')
  describeFlow(r, o)
  sane(r, o)
  return { r, o }
}

/** Bytes all relays sent on the overlay over the run (data, probes, control), kB: the cost of duplication, compared across scenarios. */
const overlayKb = (r: LabResult): number => Object.values(r.overlay_traffic ?? {}).reduce((a, t) => a + t.bytes_out, 0) / 1000

const ms = (left: number | null, eventMs: number): number | null => (left === null ? null : left - eventMs)

describeIf(LAB_SKIP_REASON, 'issue 15 situations in the lab', () => {
  afterAll(() => {
    fs.mkdirSync('dist/lab-reports', { recursive: true })
    fs.writeFileSync('dist/lab-reports/live-routing-targets.json', JSON.stringify(figures, null, 2))
  })

  /**
   * How long a call takes to leave a link that starts losing 5% is a random
   * variable: the detector needs a second loss (or a burst that takes both
   * probes of a fast round), and chance decides when it comes. By the
   * fake-clock model (test/route/loss-departure-distribution.test.ts, 1000
   * seeds; docs/routing.md, "The fast loss detector") a direction takes over
   * 3 s in ~2-3% of runs with the loss in bursts, ~0.2% without. So the lab
   * checks the 3 s target as the statistical target it is: a run in which a
   * direction misses is followed by one more run of the scenario, and the
   * check fails only if that run misses too. Both runs' figures are printed
   * and recorded. Chance alone then fails it in about 1 CI run in 400 or
   * fewer; relays that stopped reacting to loss miss in both runs.
   */
  const LOSS_DEPARTURE_LIMIT_MS = 3000
  const lossDepartures = (r: LabResult, o: FlowResult): { fwd: number | null; rep: number | null } => {
    const at = 3000
    const link = [['dal', 'bos']] as const
    // The call rode the lossy link when the loss appeared.
    expect(o.paths.filter((p) => p.t_ms <= at).at(-1)?.forward, `${r.scenario}: the call was not on the lossy link's detour when the loss appeared`).toEqual(['lax', 'dal', 'bos'])
    return { fwd: ms(leftLinksAt(o.paths, 'forward', at, link), at), rep: ms(leftLinksAt(o.paths, 'reply', at, link), at) }
  }
  const within = (v: number | null): boolean => v !== null && v <= LOSS_DEPARTURE_LIMIT_MS

  for (const name of ['detour-loss', 'detour-loss-bursty']) {
    it(`${name}: both directions leave a link of the active detour within 3 s of 5% loss appearing on it (a miss is run again once: a statistical target)`, async () => {
      const { r, o } = await saneFlow(name)
      let d = lossDepartures(r, o)
      report(name, 'flow loss after the event (%)', (100 * (o.around_events[0].lost_forward + o.around_events[0].lost_reverse)) / Math.max(1, o.around_events[0].forward.count + o.around_events[0].lost_forward), 'informational', true)
      if (!within(d.fwd) || !within(d.rep)) {
        report(name, 'first run: forward path left the lossy link after (ms)', d.fwd, '<= 3000, informational: re-run', within(d.fwd))
        report(name, 'first run: reply path left the lossy link after (ms)', d.rep, '<= 3000, informational: re-run', within(d.rep))
        const again = await scenarioRerun(name, 'rerun')
        const o2 = flow(again, 'call', 'overpass')
        describeFlow(again, o2)
        sane(again, o2)
        d = lossDepartures(again, o2)
      }
      report(name, 'forward path left the lossy link after (ms)', d.fwd, '<= 3000', within(d.fwd), true)
      report(name, 'reply path left the lossy link after (ms)', d.rep, '<= 3000', within(d.rep), true)
    }, 2 * 180_000)
  }

  it('flap: after the second cut the flow avoids a flapping link, at most one re-entry', async () => {
    const { r, o } = await saneFlow('flap', 'game')
    expect(r.events.filter((e) => e.action === 'cut')).toHaveLength(10)
    const link = [['lax', 'dal']] as const
    const secondCut = 6000
    const after = reentries(o.paths, 'forward', secondCut, link)
    report('flap', 're-entries onto the flapping link after the second cut (forward)', after, '<= 1', after <= 1, true)
    report('flap', 're-entries onto the flapping link over all cuts (forward)', reentries(o.paths, 'forward', 2000, link), 'informational', true)
    report('flap', 're-entries onto the flapping link over all cuts (reply)', reentries(o.paths, 'reply', 2000, link), 'informational', true)
    report('flap', 'packets lost', o.sent - o.received, 'informational', true)
  })

  it('transit-cut: a gap of at most 300 ms when the transit relay is cut off from everyone', async () => {
    const { r, o } = await saneFlow('transit-cut')
    expect(o.paths.filter((p) => p.t_ms <= 3000).at(-1)?.forward).toContain('dal')
    const e = o.around_events[0]
    report('transit-cut', 'longest gap after the cut (ms)', e.gap_ms, '<= 300 (without redundancy)', e.gap_ms <= 300, true)
    report('transit-cut', 'packets lost after the cut', e.lost_forward + e.lost_reverse, '0 with redundancy (not configured here)', true)
    report('transit-cut', 'overlay bytes sent by all relays (kB)', overlayKb(r), 'informational (vs transit-cut-redundant)', true)
  })

  it('transit-cut-redundant: nothing lost and nothing delivered twice when the transit relay of a redundant service is cut off', async () => {
    const { r, o } = await saneFlow('transit-cut-redundant')
    const e = o.around_events[0]
    report('transit-cut-redundant', 'packets lost after the cut', e.lost_forward + e.lost_reverse, '0', e.lost_forward + e.lost_reverse === 0)
    report('transit-cut-redundant', 'longest gap after the cut (ms)', e.gap_ms, 'informational', true)
    report('transit-cut-redundant', 'copies the origin received twice', o.origin_duplicates, '0', o.origin_duplicates === 0)
    report('transit-cut-redundant', 'echoes the client received twice', o.client_duplicates, '0', o.client_duplicates === 0)
    report('transit-cut-redundant', 'overlay bytes sent by all relays (kB)', overlayKb(r), 'informational (vs transit-cut)', true)
  })

  it('transit-cut-redundant-exits: with two exits, both copies go to the call\'s exit: nothing lost, nothing delivered twice', async () => {
    const { r, o } = await saneFlow('transit-cut-redundant-exits')
    const e = o.around_events[0]
    report('transit-cut-redundant-exits', 'packets lost after the cut', e.lost_forward + e.lost_reverse, '0', e.lost_forward + e.lost_reverse === 0)
    report('transit-cut-redundant-exits', 'copies the origin received twice', o.origin_duplicates, '0', o.origin_duplicates === 0)
    report('transit-cut-redundant-exits', 'echoes the client received twice', o.client_duplicates, '0', o.client_duplicates === 0)
    // The call's exit, Boston, drops the second copy of every datagram; Atlanta, the best exit after the cut, none.
    report('transit-cut-redundant-exits', 'redundant copies dropped at the bos exit', r.overlay_traffic?.bos?.duplicates_dropped ?? null, 'informational (about one per datagram)', true)
    report('transit-cut-redundant-exits', 'redundant copies dropped at the atl exit', r.overlay_traffic?.atl?.duplicates_dropped ?? null, '0 (the call keeps its exit)', r.overlay_traffic?.atl?.duplicates_dropped === 0)
    report('transit-cut-redundant-exits', 'overlay bytes sent by all relays (kB)', overlayKb(r), 'informational', true)
  })

  it('origin-leg: flows move to another exit within 500 ms of the active exit\'s origin leg failing', async () => {
    const { r, o } = await saneFlow('origin-leg')
    expect(r.origin_events.map((e) => e.action)).toEqual(['cut', 'restore'])
    const at = 3000
    expect(o.paths.filter((p) => p.t_ms <= at).at(-1)?.forward.at(-1)).toBe('atl')
    const moved = o.paths.find((p) => p.t_ms > at && p.forward.length > 0 && p.forward.at(-1) !== 'atl')
    // The runner cuts the leg with `ip route` when the event is due; on a loaded host that lands later than 3 s.
    const appliedMs = r.origin_events[0].applied_ms
    const movedMs = moved ? moved.t_ms - appliedMs : null
    const e = o.around_events[0]
    // The flow moved when the origin got datagrams again: the longest time it
    // got nothing bounds the move from above (datagrams every 20 ms). The
    // path is polled every 100 ms, which adds up to 100 ms to its figure.
    // Enforced: the miss rule (origin/probe-pacing.ts) bounds it at ~450 ms
    // in this geometry (docs/routing.md, Failover timing).
    report('origin-leg', 'the origin got nothing from the flow for (ms)', e.forward_gap_ms, '<= 500', e.forward_gap_ms <= 500, true)
    report('origin-leg', 'forward path seen on another exit after the cut was applied (ms, 100 ms polls)', movedMs, 'informational', movedMs !== null)
    report('origin-leg', 'the cut was applied after its time by (ms)', appliedMs - at, 'informational', true)
    report('origin-leg', 'longest gap after the failure (ms)', e.gap_ms, 'informational', true)
    report('origin-leg', 'packets lost after the failure', e.lost_forward + e.lost_reverse, 'informational', true)
  })
})
