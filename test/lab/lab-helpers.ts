/** Shared set-up of the lab suite: the root/netns gate and one cached run per scenario. */
import { labAvailable } from '../../lab/topo/sh.js'
import { labRun } from '../../lab/run/run.js'
import type { FlowResult, LabResult } from '../../lab/run/result.js'

const avail = labAvailable()
export const LAB_SKIP_REASON = avail.ok ? undefined : avail.reason
if (LAB_SKIP_REASON) {
  process.stderr.write(`\n[test:lab] skipped: ${LAB_SKIP_REASON}. Run as root on Linux with iproute2: sudo npm run test:lab\n\n`)
}

const runs = new Map<string, Promise<LabResult>>()

/** Runs a shipped scenario once per suite (the compiled lab in dist/, like the CLI). */
export function scenarioResult(name: string): Promise<LabResult> {
  if (!runs.has(name)) {
    runs.set(name, labRun(`lab/scenarios/${name}.yaml`, { json: false, outDir: `dist/lab-reports/${name}`, log: () => {} }).then((r) => r.result))
  }
  return runs.get(name)!
}

export function flow(r: LabResult, name: string, via: 'direct' | 'overpass'): FlowResult {
  const f = r.flows.find((x) => x.name === name && x.via === via)
  if (!f) throw new Error(`no ${via} result for flow ${name} in ${r.scenario}`)
  return f
}
