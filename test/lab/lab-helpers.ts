/** Shared set-up of the lab suite: the root/netns gate and one cached run per scenario. */
import { labAvailable } from '../../lab/topo/sh.js'
import { labRun } from '../../lab/run/run.js'
import type { FlowResult, LabResult } from '../../lab/run/result.js'

const avail = labAvailable()
export const LAB_SKIP_REASON = avail.ok ? undefined : avail.reason
if (LAB_SKIP_REASON) {
  process.stderr.write(`\n[test:lab] skipped: ${LAB_SKIP_REASON}. Run as root on Linux: sudo npm run test:lab (README: System packages)\n\n`)
}

const runs = new Map<string, Promise<LabResult>>()

/** Runs a shipped scenario once per suite (the compiled lab in dist/, like the CLI). */
export function scenarioResult(name: string): Promise<LabResult> {
  if (!runs.has(name)) {
    runs.set(name, labRun(`lab/scenarios/${name}.yaml`, { json: false, outDir: `dist/lab-reports/${name}`, log: () => {} }).then((r) => r.result))
  }
  return runs.get(name)!
}

/** Runs a shipped scenario again, apart from the cached run (its own output directory, `<name>-<tag>`). */
export async function scenarioRerun(name: string, tag: string): Promise<LabResult> {
  return (await labRun(`lab/scenarios/${name}.yaml`, { json: false, outDir: `dist/lab-reports/${name}-${tag}`, log: () => {} })).result
}

export function flow(r: LabResult, name: string, via: 'direct' | 'overpass'): FlowResult {
  const f = r.flows.find((x) => x.name === name && x.via === via)
  if (!f) throw new Error(`no ${via} result for flow ${name} in ${r.scenario}`)
  return f
}

/**
 * How much later than the scenario's delay the direct flow of the same run
 * arrived at p50, per direction (never below 0): what the host (hypervisor
 * steal, a loaded emulator) added to every path in that run. Checks of an
 * Overpass flow against the scenario's optimum allow it on top of the
 * relays' own overhead, so a stolen CPU does not read as a relay's cost.
 */
export function hostExcessMs(r: LabResult, name: string): { forward: number; reverse: number } {
  const d = flow(r, name, 'direct')
  return {
    forward: Math.max(0, d.forward.p50_ms - d.expected.directForwardMs),
    reverse: Math.max(0, d.reverse.p50_ms - d.expected.directReverseMs),
  }
}
