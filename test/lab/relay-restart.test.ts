/**
 * Issue 15, item 7 (root only; `npm run test:lab`): the transit relay of a
 * call is killed (SIGKILL) and started again with the same config, keys and
 * state file (lab/scenarios/relay-restart.yaml). The call must survive the
 * crash on another path, and the restarted relay must handshake with every
 * peer again, come back with a new boot id, and be taken into every
 * peer's map at once. The figures (gap, loss each way, how long each step
 * took) are printed, not only checked. Bounds are on what the relays did
 * (measured on the shared monotonic clock), never on how long the test ran.
 */
import { expect, it } from 'vitest'
import { describeIf } from '../support/requirements.js'
import { LAB_SKIP_REASON, flow, scenarioResult } from './lab-helpers.js'
import type { PathSample } from '../../lab/run/paths.js'
import { formatPathChecks } from '../../lab/run/path-checks.js'

/** The samples of a flow's path series in force at some time in [fromMs, toMs] (the series keeps changes only). */
function inForce(paths: PathSample[], fromMs: number, toMs: number): PathSample[] {
  const before = paths.filter((p) => p.t_ms <= fromMs).at(-1)
  return [...(before ? [before] : []), ...paths.filter((p) => p.t_ms > fromMs && p.t_ms <= toMs)].filter((p) => p.forward.length > 0)
}

/** A peer's map must take the restarted relay's column within this of the relay answering (several flood intervals). */
const MAP_ACCEPT_BOUND_MS = 3000

describeIf(LAB_SKIP_REASON, 'relay crash and restart in the lab', () => {
  it('relay-restart: the call survives the crash, the relay comes back with a new boot id, sessions and a place in every map', async () => {
    const r = await scenarioResult('relay-restart')
    const o = flow(r, 'call', 'overpass')
    const kill = r.relay_events.find((e) => e.action === 'kill')!
    const start = r.relay_events.find((e) => e.action === 'start')!
    const afterKill = o.around_events.find((e) => e.what === 'kill dal')!
    const afterStart = o.around_events.find((e) => e.what === 'start dal')!
    const backViaDal = o.paths.find((p) => p.t_ms > start.ready_ms! && p.forward.includes('dal'))
    process.stderr.write([
      `[relay-restart] call: sent ${o.sent}, loss ${o.loss_pct.toFixed(2)}% (forward ${o.forward_loss_pct}%, reverse ${o.reverse_loss_pct}%), longest gap ${o.max_gap_ms.toFixed(0)} ms, path changes fwd ${o.path_changes.forward} / reply ${o.path_changes.reply}`,
      `[relay-restart] after the kill (${afterKill.window_ms.join('-')} ms): gap ${afterKill.gap_ms} ms (origin side ${afterKill.forward_gap_ms} ms), lost ${afterKill.lost_forward} fwd / ${afterKill.lost_reverse} rev, p50 ${afterKill.forward.p50_ms} / ${afterKill.reverse.p50_ms} ms`,
      `[relay-restart] after the start (${afterStart.window_ms.join('-')} ms): gap ${afterStart.gap_ms} ms, lost ${afterStart.lost_forward} fwd / ${afterStart.lost_reverse} rev, p50 ${afterStart.forward.p50_ms} / ${afterStart.reverse.p50_ms} ms`,
      `[relay-restart] restart: killed at ${kill.applied_ms} ms, spawned ${start.applied_ms} ms, ready ${start.ready_ms} ms, boot ${start.previous_boot_id} -> ${start.boot_id}, sessions ${start.sessions_ms} ms, maps ${JSON.stringify(start.map_accepted_ms)}, replay drops ${start.replay_drops}, state file ${start.state_file}`,
      `[relay-restart] the call's forward path is back via dal ${backViaDal ? `${(backViaDal.t_ms - start.ready_ms!).toFixed(0)} ms after the relay answered` : 'never'}`,
      `[relay-restart] paths: ${o.paths.map((p) => `${p.t_ms}:${p.forward.join('>')}|${p.reply.join('>')}`).join('  ')}`,
      ...formatPathChecks(r.path_checks).map((l) => `[relay-restart] path check at ${l}`),
      '',
    ].join('\n'))

    expect(kill.error).toBeUndefined()
    expect(start.error).toBeUndefined()
    // The relay had written its handshake timestamps, and restarted with them.
    expect(start.state_file).toBe(true)
    // A new boot id, so peers do not take its fresh map numbering for stale updates.
    expect(start.boot_id).toBeTypeOf('number')
    expect(start.previous_boot_id).toBeTypeOf('number')
    expect(start.boot_id).not.toBe(start.previous_boot_id)
    // It handshook with every peer again, and none refused it as a replay.
    expect(start.sessions_ms).not.toBeNull()
    expect(start.replay_drops).toBe(0)
    // Every peer's map took its new column at once.
    for (const [peer, at] of Object.entries(start.map_accepted_ms ?? {})) {
      expect(at, `map at ${peer}`).not.toBeNull()
      expect(at! - start.ready_ms!, `map at ${peer}`).toBeLessThan(MAP_ACCEPT_BOUND_MS)
    }
    expect(Object.keys(start.map_accepted_ms ?? {}).sort()).toEqual(['atl', 'bos', 'lax'])

    // The call rode the relay when it was killed ...
    expect(inForce(o.paths, kill.applied_ms, kill.applied_ms)[0]?.forward).toContain('dal')
    // ... survived the crash on another path ...
    expect(o.received).toBeGreaterThan(0.9 * o.sent)
    expect(afterKill.gap_ms).toBeLessThan(1000)
    const whileDead = inForce(o.paths, kill.applied_ms + 1000, start.applied_ms)
    expect(whileDead.length).toBeGreaterThan(0)
    for (const p of whileDead) expect(p.forward).not.toContain('dal')
    // ... and the restarted relay carries it again: Dallas is the best detour by 10 ms.
    expect(backViaDal).toBeDefined()
    expect(afterStart.lost_forward + afterStart.lost_reverse).toBeLessThan(0.05 * afterStart.forward.count + 5)
  })
})
