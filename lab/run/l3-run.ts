/**
 * The L3 phase of a run with branch sites: after the warm-up, a capture
 * starts in each data centre, then ping and iperf3 cross the overlay from
 * every branch; the game/voip flows follow (run.ts) while the capture
 * still runs, so it sees all three protocols; then the capture is read.
 */
import type { LabRun } from '../topo/up.js'
import { MAX_CAPTURE_S, finishCaptures, startCaptures, type RunningCapture } from './l3-capture.js'
import { l3Pairs, pingPairs, tcpPairs } from './l3-probes.js'
import type { L3Pair, L3Result, PingResult, TcpResult } from './result.js'

export interface L3Phase {
  pairs: L3Pair[]
  ping: PingResult[]
  tcp: TcpResult[]
  captures?: RunningCapture[]
}

/** Generous per-pair budget for ping + iperf3 (their own timeouts are shorter). */
const PER_PAIR_S = 30

/** `flowsMs`: how long the flows after this phase take, so the capture outlasts them. */
export async function beginL3(lab: LabRun, flowsMs: number, log: (l: string) => void): Promise<L3Phase> {
  const pairs = l3Pairs(lab)
  const dcs = [...new Set(pairs.map((p) => p.dc))]
  const captureS = Math.min(MAX_CAPTURE_S, 20 + PER_PAIR_S * pairs.length + flowsMs / 1000)
  const captures = await startCaptures(lab, dcs, captureS)
  log(`${lab.state.run}: L3: ${captures ? `capturing in ${dcs.join(', ')}; ` : 'tshark missing, no capture; '}ping and iperf3 from ${pairs.map((p) => p.site).join(', ')}`)
  const ping = await pingPairs(lab, pairs)
  const tcp = await tcpPairs(lab, pairs)
  return { pairs, ping, tcp, ...(captures ? { captures } : {}) }
}

export async function endL3(lab: LabRun, phase: L3Phase): Promise<L3Result> {
  const base = { pairs: phase.pairs, ping: phase.ping, tcp: phase.tcp }
  if (!phase.captures) return { ...base, capture: [], capture_skipped: 'tshark is not installed' }
  return { ...base, capture: await finishCaptures(lab, phase.captures, lab.plan.branchHostAddr) }
}
