/**
 * The lab's VoIP detour in miniature, for the loss-reaction tests and the
 * departure-distribution harness: ingress i, exit e, the active detour
 * i-a-e (37 ms with the origin leg) and a slower one i-b-e (42 ms), rtc
 * profile; loss models for one link (independent, or Gilbert-Elliott bursts
 * among the call's own packets, as the lab's emulator drops them).
 */
import { dropsPacket, gilbertForLoss, newLossChain, type LinkParams } from '../../../src/io/link-model.js'
import { seededRandom } from '../../../src/route/seeded-random.js'
import { delays, FakeNet } from './fake-net.js'

const HOUR = 3_600_000

function offsets(relays: string[], seed: number): Record<string, number> {
  const rnd = seededRandom(seed)
  return Object.fromEntries(relays.map((r) => [r, (rnd() * 2 - 1) * HOUR]))
}

export function detour(seed: number): FakeNet {
  const relays = ['i', 'a', 'b', 'e']
  return new FakeNet({
    relays,
    services: [{ name: 'call', ingress: ['i'], exits: ['e'], profile: 'rtc' }],
    delayMs: delays({ 'i-a': 15, 'a-e': 20, 'i-b': 25, 'b-e': 15, 'i-e': 50, 'a-b': 11 }, 60),
    offsetsMs: offsets(relays, seed),
    seed,
    origins: { call: { method: 'twamp', fwdMs: { e: 2 }, revMs: { e: 2 }, offsetMs: HOUR / 3 } },
  })
}

/** Independent random loss `p` on each direction of u-v (its own stream per direction), every message. */
export function lossyLink(net: FakeNet, u: string, v: string, p: number, seed: number): void {
  const streams = new Map([[`${u}>${v}`, seededRandom(seed * 7919 + 1)], [`${v}>${u}`, seededRandom(seed * 104729 + 2)]])
  net.tamper = (from, m) => {
    const s = streams.get(`${from}>${m.to}`)
    return s !== undefined && s() < p ? undefined : m
  }
}

/** The call's packets per direction: one every 20 ms (a VoIP call, as the lab's voip profile). */
export const CALL_PACKET_SPACING_MS = 20

/**
 * Loss `p` in bursts of `burst` packets on average on each direction of u-v
 * (Gilbert-Elliott, every packet of a burst lost: the lab's `burst:`). The
 * chain moves per packet, and on the lab's link the call's data packets
 * (one per CALL_PACKET_SPACING_MS each way) pass between the probes: the
 * chain also moves once for each of them, so a burst covers a mix of data
 * and probes as it does there.
 */
export function burstyLink(net: FakeNet, u: string, v: string, p: number, burst: number, seed: number): void {
  const link: LinkParams = { delayMs: 0, gilbertElliott: gilbertForLoss(100 * p, burst) }
  const dirs = new Map(
    [`${u}>${v}`, `${v}>${u}`].map((k, i) => [k, { rnd: seededRandom(seed * 7919 + 1 + i * 96_810), chain: newLossChain(), nextDataMs: net.clock.nowMs() }]),
  )
  net.tamper = (from, m) => {
    const d = dirs.get(`${from}>${m.to}`)
    if (d === undefined) return m
    const now = net.clock.nowMs()
    for (; d.nextDataMs <= now; d.nextDataMs += CALL_PACKET_SPACING_MS) dropsPacket(link, d.rnd, d.chain)
    return dropsPacket(link, d.rnd, d.chain) ? undefined : m
  }
}

export const fwdPath = (net: FakeNet): string[] => net.router('i').forwardPath('call')?.path ?? []
export const replyPath = (net: FakeNet): string[] => net.router('e').replyPath('call', 'i')?.path ?? []

/**
 * What a relay's bridge does from its traffic counters every 200 ms
 * (control/data-activity.ts): each relay on the call's paths marks the next
 * hop it sends the call's data to, so those edges are probed fast.
 */
export function markCallEdges(net: FakeNet): void {
  for (const path of [fwdPath(net), replyPath(net)]) {
    for (let k = 0; k + 1 < path.length; k++) net.router(path[k]).markActivePeer?.(path[k + 1], net.local(path[k]))
  }
}

/** Runs `ms`, marking the call's edges active every 200 ms (as data would). */
export function runWithCall(net: FakeNet, ms: number): void {
  for (let t = 0; t < ms; t += 200) {
    markCallEdges(net)
    net.run(200)
  }
}

export interface Reaction {
  /** ms after the onset until the path first avoided a (Infinity: never). */
  forwardLeftMs: number
  replyLeftMs: number
  /** Fraction of the observed time each direction still used a. */
  forwardOn: number
  replyOn: number
}

/** Watches the call for `ms` in 10 ms steps (marking its edges every 200 ms); with `untilBothLeft`, stops once both directions left a. */
export function observe(net: FakeNet, ms: number, untilBothLeft = false): Reaction {
  const r: Reaction = { forwardLeftMs: Infinity, replyLeftMs: Infinity, forwardOn: 0, replyOn: 0 }
  const steps = ms / 10
  for (let t = 10; t <= ms; t += 10) {
    if (t % 200 === 10) markCallEdges(net)
    net.run(10)
    if (fwdPath(net).includes('a')) r.forwardOn += 1 / steps
    else if (r.forwardLeftMs === Infinity) r.forwardLeftMs = t
    if (replyPath(net).includes('a')) r.replyOn += 1 / steps
    else if (r.replyLeftMs === Infinity) r.replyLeftMs = t
    if (untilBothLeft && r.forwardLeftMs !== Infinity && r.replyLeftMs !== Infinity) break
  }
  return r
}
