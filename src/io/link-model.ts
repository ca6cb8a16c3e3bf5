/**
 * The one link model: what one direction of an emulated link does to a
 * packet. Sans-IO and pure: given the direction's parameters, a random
 * source, the time the packet enters and the release time of the packet
 * ahead of it, it decides drop or the release time. Every emulated link
 * uses it: the lab's WAN emulator (lab/emulator/link-table.ts), the
 * loopback link emulator (lab/linkemu/udp-link.ts), the in-process fakes
 * (io/fake-network.ts, test/route/helpers/fake-net.ts) and the simulator
 * (sim/partition.ts, on its packed per-link arrays).
 *
 * - delay: a fixed one-way delay;
 * - jitter: an extra delay, exponential with mean `jitterMs` (queueing
 *   delay has a long right tail);
 * - FIFO: a packet never leaves before the one ahead of it on the same
 *   direction. The WAN reorders rarely, and FIFO keeps the flows'
 *   reordering counters meaningful. Pass `lastDueMs = -Infinity` for none;
 * - loss: independent per packet, `lossPct` percent;
 * - bursty loss (optional): a Gilbert-Elliott chain instead of independent
 *   loss. Real paths lose packets in runs (a queue overflowing, a radio
 *   fading), and a loss detector that reacts to runs must be tested on runs.
 *   The chain has a good and a bad state, moves between them per packet with
 *   probabilities `toBad` and `toGood`, and loses `lossGoodPct` / `lossBadPct`
 *   of the packets in each. Its state lives with the caller (`LossChain`, one
 *   per direction), since these parameters are plain values that events
 *   replace;
 * - down (a cut): every packet is dropped, no random number is drawn.
 *
 * Random draws happen in this order and only when needed: one for loss
 * (when lossPct > 0), then one for jitter (when jitterMs > 0 and the packet
 * was not dropped). With a Gilbert-Elliott chain the loss draws are instead
 * one for the state transition, then one for loss when the state's loss is
 * strictly between 0 and 100%. Seeded tests and the simulator's
 * byte-identical output depend on that order and on the exact arithmetic
 * below; without a chain configured nothing here changes them.
 */

/**
 * A Gilbert-Elliott loss model: per packet, the chain first moves (good ->
 * bad with probability `toBad`, bad -> good with `toGood`), then the packet
 * is lost with the loss of the state it is in. In the long run the chain is
 * bad a share toBad / (toBad + toGood) of the packets, and a bad period
 * lasts 1 / toGood packets on average. With lossBadPct 100 and lossGoodPct 0
 * (Gilbert's model, the defaults) every bad packet is lost, so that is also
 * the loss rate and the mean length of a run of losses.
 */
export interface GilbertElliott {
  /** Per-packet probability of moving from the good to the bad state, in (0, 1]. */
  toBad: number
  /** Per-packet probability of moving from the bad to the good state, in (0, 1]. */
  toGood: number
  /** Loss in the good state, percent (default 0). */
  lossGoodPct?: number
  /** Loss in the bad state, percent (default 100). */
  lossBadPct?: number
}

/** The mutable state of one direction's Gilbert-Elliott chain (starts good). */
export interface LossChain {
  bad: boolean
}

export const newLossChain = (): LossChain => ({ bad: false })

/**
 * The chain with long-run loss `lossPct` whose bad periods last
 * `burstPackets` packets on average, losing `lossBadPct` of their packets
 * (nothing is lost in the good state). Solves toBad / (toBad + toGood) =
 * lossPct / lossBadPct with toGood = 1 / burstPackets. Needs
 * 0 < lossPct < lossBadPct (a chain that is always bad is a cut) and
 * burstPackets >= 1.
 */
export function gilbertForLoss(lossPct: number, burstPackets: number, lossBadPct = 100): GilbertElliott {
  const badShare = lossPct / lossBadPct
  const toGood = 1 / burstPackets
  return { toBad: (toGood * badShare) / (1 - badShare), toGood, lossGoodPct: 0, lossBadPct }
}

/** Long-run loss of a chain, percent: the state shares weighted by their losses. */
export function gilbertLossPct(ge: GilbertElliott): number {
  const bad = ge.toBad / (ge.toBad + ge.toGood)
  return bad * (ge.lossBadPct ?? 100) + (1 - bad) * (ge.lossGoodPct ?? 0)
}

/** One direction of a link. Events (cut, degrade, restore) replace these values. */
export interface LinkParams {
  /** One-way delay, ms. */
  delayMs: number
  /** Mean of the exponential extra delay, ms (0 or absent: none). */
  jitterMs?: number
  /** Loss probability in percent (0 or absent: none). */
  lossPct?: number
  /** A cut: drops everything. */
  down?: boolean
  /** Bursty loss: decides loss instead of `lossPct` when the caller passes a LossChain. */
  gilbertElliott?: GilbertElliott
}

/** decideRelease's answer for a dropped packet (release times are never negative). */
export const DROP = -1

/**
 * Whether the direction drops this packet: a cut, or loss. Independent loss
 * draws from `random` only when lossPct > 0. With `gilbertElliott` and a
 * `chain`, the chain decides instead (it ignores lossPct); without a chain
 * the link falls back to independent `lossPct`.
 */
export function dropsPacket(link: LinkParams, random: () => number, chain?: LossChain): boolean {
  if (link.down === true) return true
  const ge = link.gilbertElliott
  if (ge !== undefined && chain !== undefined) return chainDrops(ge, chain, random)
  const lossPct = link.lossPct ?? 0
  return lossPct > 0 && random() < lossPct / 100
}

function chainDrops(ge: GilbertElliott, chain: LossChain, random: () => number): boolean {
  const u = random()
  if (chain.bad ? u < ge.toGood : u < ge.toBad) chain.bad = !chain.bad
  const lossPct = chain.bad ? ge.lossBadPct ?? 100 : ge.lossGoodPct ?? 0
  if (lossPct <= 0) return false
  if (lossPct >= 100) return true
  return random() < lossPct / 100
}

/**
 * Release time of a packet that entered at `nowMs` and was not dropped:
 * delay plus jitter, but never before `lastDueMs` (FIFO). Draws from
 * `random` only when jitterMs > 0.
 */
export function releaseAtMs(link: LinkParams, nowMs: number, lastDueMs: number, random: () => number): number {
  const jitterMs = link.jitterMs ?? 0
  let at = nowMs + link.delayMs
  if (jitterMs > 0) at += -jitterMs * Math.log(1 - random())
  return at < lastDueMs ? lastDueMs : at
}

/**
 * The whole decision for one packet: DROP, or its release time. The caller
 * keeps the returned time as the direction's next `lastDueMs`. Loss and
 * jitter may draw from separate streams (the simulator keeps one of each
 * per sender); by default both come from `lossRandom`. `chain` is the
 * direction's Gilbert-Elliott state, needed when `link.gilbertElliott` is set.
 */
export function decideRelease(link: LinkParams, nowMs: number, lastDueMs: number, lossRandom: () => number, jitterRandom: () => number = lossRandom, chain?: LossChain): number {
  if (dropsPacket(link, lossRandom, chain)) return DROP
  return releaseAtMs(link, nowMs, lastDueMs, jitterRandom)
}
