/** What run.ts hands a flow agent and gets back. */
import type { FlowReport } from '../traffic/index.js'

export interface AgentFlow {
  /** Scenario flow name. */
  name: string
  via: 'direct' | 'overpass'
  flowId: number
  profile: 'game' | 'voip'
  target: { host: string; port: number }
  startMs: number
  durationMs: number
}

export interface AgentResult {
  flows: { flow: AgentFlow; report: FlowReport; samples: number[][] }[]
}
