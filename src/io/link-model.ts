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
 * - down (a cut): every packet is dropped, no random number is drawn.
 *
 * Random draws happen in this order and only when needed: one for loss
 * (when lossPct > 0), then one for jitter (when jitterMs > 0 and the packet
 * was not dropped). Seeded tests and the simulator's byte-identical output
 * depend on that order and on the exact arithmetic below.
 */

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
}

/** decideRelease's answer for a dropped packet (release times are never negative). */
export const DROP = -1

/** Whether the direction drops this packet: a cut, or loss (draws from `random` only when lossPct > 0). */
export function dropsPacket(link: LinkParams, random: () => number): boolean {
  if (link.down === true) return true
  const lossPct = link.lossPct ?? 0
  return lossPct > 0 && random() < lossPct / 100
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
 * per sender); by default both come from `lossRandom`.
 */
export function decideRelease(link: LinkParams, nowMs: number, lastDueMs: number, lossRandom: () => number, jitterRandom: () => number = lossRandom): number {
  if (dropsPacket(link, lossRandom)) return DROP
  return releaseAtMs(link, nowMs, lastDueMs, jitterRandom)
}
