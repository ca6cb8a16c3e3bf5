/**
 * What the relays sent on the overlay over a run, read from each relay's
 * `status` at the end: datagrams and bytes to its peers (data, probes and
 * control together, sealed, without IP/UDP headers) and the redundant
 * copies its dedup windows dropped. Comparing a scenario with and without
 * `redundant: true` gives the bandwidth cost of duplication (docs/lab.md).
 */
import { controlRequest } from '../../src/daemon/control-server.js'
import type { LabRun } from '../topo/up.js'
import { controlSocket } from './relays.js'

export interface OverlayTraffic {
  packets_out: number
  bytes_out: number
  /** Redundant copies dropped as already delivered, all services (exits: forward copies; ingresses: reply copies). */
  duplicates_dropped: number
}

interface Status {
  peers?: Record<string, Record<string, unknown>>
  services?: Record<string, { drops?: Record<string, number> }>
}

/** Per PoP; a relay that does not answer is left out. */
export async function overlayTraffic(lab: LabRun): Promise<Record<string, OverlayTraffic>> {
  const out: Record<string, OverlayTraffic> = {}
  for (const pop of lab.scenario.pops) {
    const s = (await controlRequest(controlSocket(lab, pop), { cmd: 'status' }, 2000).catch(() => undefined)) as Status | undefined
    if (s === undefined) continue
    const t: OverlayTraffic = { packets_out: 0, bytes_out: 0, duplicates_dropped: 0 }
    for (const p of Object.values(s.peers ?? {})) {
      if (typeof p.packets_out === 'number') t.packets_out += p.packets_out
      if (typeof p.bytes_out === 'number') t.bytes_out += p.bytes_out
    }
    for (const svc of Object.values(s.services ?? {})) t.duplicates_dropped += svc.drops?.duplicate ?? 0
    out[pop] = t
  }
  return out
}
