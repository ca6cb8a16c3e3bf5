import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../src/route/seeded-random.js'
import { delays, FakeNet } from './helpers/fake-net.js'

const HOUR = 3_600_000

function offsets(relays: string[], seed: number): Record<string, number> {
  const rnd = seededRandom(seed)
  return Object.fromEntries(relays.map((r) => [r, (rnd() * 2 - 1) * HOUR]))
}

/**
 * The lab's VoIP detour in miniature: ingress i, exit e, the active detour
 * i-a-e (37 ms with the origin leg) and a slower one i-b-e (42 ms), rtc profile.
 */
function detour(seed: number): FakeNet {
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
function lossyLink(net: FakeNet, u: string, v: string, p: number, seed: number): void {
  const streams = new Map([[`${u}>${v}`, seededRandom(seed * 7919 + 1)], [`${v}>${u}`, seededRandom(seed * 104729 + 2)]])
  net.tamper = (from, m) => {
    const s = streams.get(`${from}>${m.to}`)
    return s !== undefined && s() < p ? undefined : m
  }
}

interface Reaction {
  /** ms after the onset until the path first avoided a (Infinity: never). */
  forwardLeftMs: number
  replyLeftMs: number
  /** Fraction of the observed time each direction still used a. */
  forwardOn: number
  replyOn: number
}

function observe(net: FakeNet, ms: number): Reaction {
  const fwd = () => net.router('i').forwardPath('call')?.path ?? []
  const reply = () => net.router('e').replyPath('call', 'i')?.path ?? []
  const r: Reaction = { forwardLeftMs: Infinity, replyLeftMs: Infinity, forwardOn: 0, replyOn: 0 }
  const steps = ms / 10
  for (let t = 10; t <= ms; t += 10) {
    net.run(10)
    if (fwd().includes('a')) r.forwardOn += 1 / steps
    else if (r.forwardLeftMs === Infinity) r.forwardLeftMs = t
    if (reply().includes('a')) r.replyOn += 1 / steps
    else if (r.replyLeftMs === Infinity) r.replyLeftMs = t
  }
  return r
}

describe('loss reaction', () => {
  // Before the fast detector, 5% loss moved the 100-probe mean across the
  // 5% limit after ~10 s, or never: in these runs the reply path stayed on
  // the lossy link for the whole 20 s in some seeds.
  it('moves both the forward and the reply path off a link that starts losing 5% both ways', () => {
    const rows: Reaction[] = []
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const net = detour(seed)
      net.run(6000)
      expect(net.router('i').forwardPath('call')!.path).toEqual(['i', 'a', 'e'])
      expect(net.router('e').replyPath('call', 'i')!.path).toEqual(['e', 'a', 'i'])
      lossyLink(net, 'i', 'a', 0.05, seed)
      rows.push(observe(net, 20_000))
    }
    console.log(rows.map((r, i) => `seed ${i + 1}: forward left ${r.forwardLeftMs} ms, on ${(100 * r.forwardOn).toFixed(0)}%; reply left ${r.replyLeftMs} ms, on ${(100 * r.replyOn).toFixed(0)}%`).join('\n'))
    for (const r of rows) {
      expect(r.forwardLeftMs).toBeLessThan(8000)
      expect(r.replyLeftMs).toBeLessThan(8000)
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    expect(mean(rows.map((r) => r.replyOn))).toBeLessThan(0.3)
    expect(mean(rows.map((r) => r.forwardOn))).toBeLessThan(0.3)
  })
})
