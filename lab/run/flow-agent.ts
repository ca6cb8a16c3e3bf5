/**
 * The client: runs measured flows (traffic/) from inside a client
 * namespace, each at t0 + its start time on the shared CLOCK_MONOTONIC, and
 * writes every flow's report and per-packet samples to a JSON file.
 *
 *   node dist/lab/run/flow-agent.js --spec DIR/flows-c-lax.json --out DIR/result-c-lax.json
 */
import fs from 'node:fs'
import { MeasuredFlow, TRAFFIC_PROFILES, monoMs, type FlowReport } from '../traffic/index.js'
import type { AgentFlow, AgentResult } from './agent-types.js'
import { argValue } from '../topo/argv.js'

/** How long to keep listening for replies after the last packet is sent. */
const DRAIN_MS = 1500

async function runOne(f: AgentFlow, t0Ms: number): Promise<{ flow: AgentFlow; report: FlowReport; samples: number[][] }> {
  const profile = TRAFFIC_PROFILES[f.profile]
  const flow = new MeasuredFlow(f.name, profile, f.target, f.flowId)
  await flow.open('0.0.0.0')
  await new Promise((r) => setTimeout(r, Math.max(0, t0Ms + f.startMs - monoMs())))
  await flow.run(Math.max(1, Math.round((f.durationMs / 1000) * profile.ratePerSec)))
  await new Promise((r) => setTimeout(r, DRAIN_MS))
  flow.close()
  // Compact samples: [seq, send time since t0, forward one-way, reverse one-way, receive time since t0] in ms.
  const samples = flow.samples.map((s) => [s.seq, +(s.sentMs - t0Ms).toFixed(3), +s.forwardMs.toFixed(3), +s.reverseMs.toFixed(3), +(s.receivedMs - t0Ms).toFixed(3)])
  return { flow: f, report: flow.report(), samples }
}

const spec = JSON.parse(fs.readFileSync(argValue('--spec'), 'utf8')) as { t0Ms: number; flows: AgentFlow[] }
const results = await Promise.all(spec.flows.map((f) => runOne(f, spec.t0Ms)))
const out: AgentResult = { flows: results }
fs.writeFileSync(argValue('--out'), JSON.stringify(out))
process.exit(0)
