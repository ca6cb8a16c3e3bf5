/**
 * What each relay's check of the map against its traffic did over a run
 * (src/control/path-reports.ts), read from `routes` at the end: how many
 * paths it demoted, why, and the latest verdicts. A flow that leaves a
 * healthy path for no visible reason is explained here or nowhere, so every
 * run records it (result.json `path_checks`, and the test logs).
 */
import fs from 'node:fs'
import path from 'node:path'
import { controlRequest } from '../../src/daemon/control-server.js'
import type { PathChecksView } from '../../src/route/types.js'
import type { LabRun } from '../topo/up.js'
import { monoMs } from '../traffic/index.js'
import { controlSocket } from './relays.js'

/** A relay's path checks, each recent verdict also placed on the run's clock (`at_ms`, ms since traffic t0, ±1 ms). */
export type RunPathChecks = Omit<PathChecksView, 'recent'> & { recent: (PathChecksView['recent'][number] & { at_ms: number })[] }

/** Per PoP; a relay that does not answer, or has no path reports, is left out. */
export async function pathChecks(lab: LabRun, t0Ms: number): Promise<Record<string, RunPathChecks>> {
  const out: Record<string, RunPathChecks> = {}
  for (const pop of lab.scenario.pops) {
    const r = (await controlRequest(controlSocket(lab, pop), { cmd: 'routes' }, 2000).catch(() => undefined)) as { path_checks?: PathChecksView } | undefined
    const readMs = monoMs()
    const c = r?.path_checks
    if (c !== undefined) out[pop] = { ...c, recent: c.recent.map((d) => ({ ...d, at_ms: Math.round(readMs - d.ago_ms - t0Ms) })) }
  }
  return out
}

/** One line per relay that demoted anything: "lax: 1 demotion(s) (loss 1, delay 0): lax>dal>bos loss 100 > 20 at 848 ms". */
export function formatPathChecks(checks: Record<string, RunPathChecks> | undefined): string[] {
  const lines: string[] = []
  for (const [pop, c] of Object.entries(checks ?? {})) {
    if (c.demotions === 0) continue
    const recent = c.recent.map((d) => `${d.path.join('>')} ${d.reason} ${d.measured} > ${d.limit} at ${d.at_ms} ms`).join('; ')
    lines.push(`${pop}: ${c.demotions} demotion(s) (loss ${c.by_reason.loss}, delay ${c.by_reason.delay}): ${recent}`)
  }
  return lines
}

/**
 * Copies the run's process logs (relays, clients, origins, emulator) into
 * `outDir/logs` before teardown deletes the run directory: the relays log
 * every route change and demotion, which is how a surprising path is
 * explained after the fact.
 */
export function keepLogs(lab: LabRun, outDir: string): void {
  try {
    const dir = path.join(outDir, 'logs')
    fs.rmSync(dir, { recursive: true, force: true })
    fs.mkdirSync(dir, { recursive: true })
    for (const f of fs.readdirSync(lab.state.dir)) if (f.endsWith('.log')) fs.copyFileSync(path.join(lab.state.dir, f), path.join(dir, f))
  } catch {
    // Best effort: a report without logs is still a report.
  }
}
