/**
 * Which peers this relay is sending data to, read from the peers' traffic
 * counters, so the router probes those edges at the fast interval
 * (probe/probe-rate.ts). Only the sender of an edge knows whether it
 * carries data: an ingress or exit from its own flows, a transit relay only
 * from what it forwards, which the routes do not tell it (the ingress
 * chooses the path).
 *
 * The counters also count the control plane's own packets (probes, map
 * floods, path reports), so the bridge reports those (`controlSent`) and
 * they are subtracted; what is left over DATA_ACTIVITY_MIN_PACKETS in
 * DATA_ACTIVITY_SAMPLE_MS is data. The counters are the router's worker's
 * (lane 0 and the native transit table it drains): data that other lanes
 * alone send does not make an edge fast.
 */
import type { Traffic } from '../dataplane/counters.js'

/** Traffic counters are sampled this often. */
export const DATA_ACTIVITY_SAMPLE_MS = 200
/**
 * Data packets in one sample that make a peer active: 15 a second and up (a
 * call sends 50, a game 20-60). A path report every 500 ms, or the odd
 * packet of an idle flow, does not.
 */
export const DATA_ACTIVITY_MIN_PACKETS = 3

export interface ActivityPeer {
  id: string
  traffic: Pick<Traffic, 'packetsOut'>
}

export class DataActivity {
  /** Per peer id: packetsOut at the last sample, and control packets sent to it since. */
  private readonly lastOut = new Map<string, number>()
  private readonly control = new Map<string, number>()
  private lastSampleMs = -Infinity

  /** The bridge sent `peer` a control-plane packet (it is in the peer's counters too). */
  controlSent(peer: string): void {
    this.control.set(peer, (this.control.get(peer) ?? 0) + 1)
  }

  /** Whether a sample is due (every DATA_ACTIVITY_SAMPLE_MS). */
  due(nowMs: number): boolean {
    return nowMs >= this.nextDueMs
  }

  /** When the next sample is due (the bridge wakes for it: an edge turns fast within one sample of its data). */
  get nextDueMs(): number {
    return this.lastSampleMs + DATA_ACTIVITY_SAMPLE_MS
  }

  /** Calls `active` with every peer that got data since the last sample. */
  sample(nowMs: number, peers: Iterable<ActivityPeer>, active: (peer: string) => void): void {
    this.lastSampleMs = nowMs
    for (const p of peers) {
      const out = p.traffic.packetsOut
      const before = this.lastOut.get(p.id)
      this.lastOut.set(p.id, out)
      const data = before === undefined ? 0 : out - before - (this.control.get(p.id) ?? 0)
      if (data >= DATA_ACTIVITY_MIN_PACKETS) active(p.id)
    }
    this.control.clear()
  }
}
