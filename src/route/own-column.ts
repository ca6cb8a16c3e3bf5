import type { OriginEdge } from '../probe/origin-edge.js'
import type { Prober } from '../probe/prober.js'
import { MAP_MSG_TYPE, MAP_MSG_VERSION } from './control-message.js'
import type { EdgeTuple, MapUpdate, OriginTuple } from './control-message.js'
import { significantDelta } from './link-map.js'

export const enum ColumnChange {
  None = 0,
  /** A delay moved by more than max(1 ms, 5%), or loss crossed the disqualification limit. */
  Delay = 1,
  /** An edge appeared, went up or went down. */
  Reachability = 2,
}

/**
 * This relay's own inbound column: builds the map update we flood, and tells
 * whether measurements moved enough since the last flood to flood at once.
 */
export class OwnColumn {
  private seq = 0
  private readonly lastPseudo: Float64Array
  private readonly lastUp: Int8Array
  private readonly lastLoss: Float64Array
  private readonly lastOFwd: Float64Array
  private readonly lastOUp: Int8Array
  private readonly lastOLoss: Float64Array

  constructor(
    private readonly self: string,
    private readonly relays: readonly string[],
    private readonly bootId: number,
    /** service index -> name, for the services this relay is an exit of. */
    private readonly exitServices: ReadonlyMap<number, string>,
    private readonly maxLossPct: number,
    serviceCount: number,
  ) {
    const n = relays.length
    this.lastPseudo = new Float64Array(n).fill(NaN)
    this.lastUp = new Int8Array(n).fill(-1)
    this.lastLoss = new Float64Array(n)
    this.lastOFwd = new Float64Array(serviceCount).fill(NaN)
    this.lastOUp = new Int8Array(serviceCount).fill(-1)
    this.lastOLoss = new Float64Array(serviceCount)
  }

  changed(prober: Prober, origins: ReadonlyMap<number, OriginEdge>): ColumnChange {
    let change = ColumnChange.None
    for (let i = 0; i < this.relays.length; i++) {
      const e = prober.inbound[i]
      if (this.relays[i] === this.self || !e.heard) continue
      if (this.lastUp[i] !== (e.up ? 1 : 0)) return ColumnChange.Reachability
      const lossFlip = this.lastLoss[i] > this.maxLossPct !== e.loss.lossPct() > this.maxLossPct
      const delayMs = this.lastPseudo[i] - (Number.isFinite(e.offset.thetaMs) ? e.offset.thetaMs : this.lastPseudo[i])
      if (lossFlip || significantDelta(e.delay.smoothedMs - this.lastPseudo[i], delayMs)) change = ColumnChange.Delay
    }
    for (const [s, o] of origins) {
      if (o.fwd.samples === 0) continue
      if (this.lastOUp[s] !== (o.up ? 1 : 0)) return ColumnChange.Reachability
      const lossFlip = this.lastOLoss[s] > this.maxLossPct !== o.loss.lossPct() > this.maxLossPct
      const trueMs = o.method === 'twamp' ? this.lastOFwd[s] - o.offset.thetaMs : this.lastOFwd[s]
      if (lossFlip || significantDelta(o.fwd.smoothedMs - this.lastOFwd[s], trueMs)) change = ColumnChange.Delay
    }
    return change
  }

  /** The next map update (and remembers it as the last flooded state). */
  build(prober: Prober, origins: ReadonlyMap<number, OriginEdge>): MapUpdate {
    const edges: EdgeTuple[] = []
    for (let i = 0; i < this.relays.length; i++) {
      const e = prober.inbound[i]
      if (this.relays[i] === this.self || !e.heard) continue
      const loss = e.loss.lossPct()
      edges.push([
        this.relays[i], e.delay.smoothedMs, e.delay.minMs, orNull(e.offset.thetaMs), orNull(e.offset.rttMs),
        e.delay.jitterMs, loss, e.up,
      ])
      this.lastPseudo[i] = e.delay.smoothedMs
      this.lastUp[i] = e.up ? 1 : 0
      this.lastLoss[i] = loss
    }
    const out: OriginTuple[] = []
    for (const [s, o] of origins) {
      if (o.fwd.samples === 0) continue
      const loss = o.loss.lossPct()
      out.push([
        this.exitServices.get(s)!, o.method, o.fwd.smoothedMs, o.rev.smoothedMs,
        o.method === 'twamp' ? orNull(o.offset.thetaMs) : null, orNull(o.offset.rttMs), o.fwd.jitterMs, loss, o.up,
      ])
      this.lastOFwd[s] = o.fwd.smoothedMs
      this.lastOUp[s] = o.up ? 1 : 0
      this.lastOLoss[s] = loss
    }
    return { type: MAP_MSG_TYPE, v: MAP_MSG_VERSION, origin: this.self, boot: this.bootId, seq: this.seq++, edges, origins: out }
  }
}

function orNull(x: number): number | null {
  return Number.isFinite(x) ? x : null
}
