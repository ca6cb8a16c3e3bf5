/**
 * The L3 phase of a run with branch sites: after the warm-up, a capture
 * starts in each data centre and ping crosses the overlay from every
 * branch; the game/voip flows follow (run.ts); iperf3 runs last, while the
 * capture still runs, so it sees all three protocols; then the capture is
 * read. TCP goes last because a bulk transfer loads the relays of this
 * one machine: their probes then see loss and jitter, and the routers
 * rightly avoid those edges for a few seconds, which would move the game
 * flows off their steady paths.
 */
import type { LabRun } from '../topo/up.js'
import { MAX_CAPTURE_S, finishCaptures, startCaptures, type RunningCapture } from './l3-capture.js'
import { l3Pairs, pingPairs, tcpPairs } from './l3-probes.js'
import type { L3Pair, L3Result, PingResult } from './result.js'

export interface L3Phase {
  pairs: L3Pair[]
  ping: PingResult[]
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
  log(`${lab.state.run}: L3: ${captures ? `capturing in ${dcs.join(', ')}; ` : 'tshark missing, no capture; '}ping from ${pairs.map((p) => p.site).join(', ')}, iperf3 after the flows`)
  const ping = await pingPairs(lab, pairs)
  return { pairs, ping, ...(captures ? { captures } : {}) }
}

/** After the flows: iperf3 from every branch, then the capture is stopped and read. */
export async function endL3(lab: LabRun, phase: L3Phase): Promise<L3Result> {
  const tcp = await tcpPairs(lab, phase.pairs)
  const base = { pairs: phase.pairs, ping: phase.ping, tcp }
  if (!phase.captures) return { ...base, capture: [], capture_skipped: 'tshark is not installed' }
  return { ...base, capture: await finishCaptures(lab, phase.captures, [...lab.plan.branchHostAddr.values(), ...lab.plan.branchHostAddr6.values()]) }
}
