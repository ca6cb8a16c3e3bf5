import { describe, expect, it } from 'vitest'
import { FakeNet } from './helpers/fake-net.js'

// lab/scenarios/relay-restart.yaml: a call from lax to bos; direct 50 ms, via
// dal 35 ms, via atl 45 ms. The rtc profile weighs jitter x3, so a few ms of
// jitter that is not there would be enough to trade the detour for a worse one.
const ONE_WAY: Record<string, Record<string, number>> = {
  lax: { dal: 15, atl: 30, bos: 50 },
  dal: { lax: 15, atl: 11, bos: 20 },
  atl: { lax: 30, dal: 11, bos: 15 },
  bos: { lax: 50, dal: 20, atl: 15 },
}
const RELAYS = Object.keys(ONE_WAY)

function callNet(seed: number): FakeNet {
  return new FakeNet({
    relays: RELAYS,
    services: [{ name: 'call', ingress: ['lax'], exits: ['bos'], profile: 'rtc' }],
    delayMs: (a, b) => ONE_WAY[a][b],
    seed,
    jitterMs: 0.1,
    origins: { call: { method: 'icmp', fwdMs: { bos: 1 }, revMs: { bos: 1 } } },
  })
}

const fwd = (net: FakeNet) => net.router('lax').forwardPath('call')?.path.join('>') ?? 'none'
const reply = (net: FakeNet) => net.router('bos').replyPath('call', 'lax')?.path.join('>') ?? 'none'

/**
 * `relay` stops reading its socket for `ms`: every probe sent to it meanwhile
 * is read when the stall ends, the first one `ms` late, in the order sent
 * (one socket queue; reading each takes a little: 1 ms per 100 ms of send
 * spacing, more than the net's 0.1 ms noise, which would reorder them).
 * What a process descheduled on a loaded host, or busy starting up, sees.
 */
function stall(net: FakeNet, relay: string, ms: number, stepMs = 1): void {
  for (let k = 0; k < ms; k += stepMs) {
    for (const from of RELAYS) if (from !== relay) net.setDelay(from, relay, ONE_WAY[from][relay] + ms - k + k / 100)
    net.run(stepMs)
  }
  for (const from of RELAYS) if (from !== relay) net.setDelay(from, relay, ONE_WAY[from][relay])
}

/** The distinct values `read` took, sampled every 50 ms for `ms`. */
function pathsOver(net: FakeNet, ms: number, read: (n: FakeNet) => string): Set<string> {
  const seen = new Set<string>()
  for (let t = 0; t < ms; t += 50) {
    seen.add(read(net))
    net.run(50)
  }
  return seen
}

describe('a relay process stall does not move a call off its best path', () => {
  // 200 ms: with the probe interval (100 ms) still under the 350 ms silence
  // deadline, so what is checked here is the delay estimators; a stall past
  // the deadline is the silence check's to tell apart (docs/routing.md).
  it('keeps the 35 ms detour in both directions when its transit relay stalls for 200 ms', () => {
    for (const seed of [1, 2, 3]) {
      const net = callNet(seed)
      net.run(15_000)
      expect(fwd(net)).toBe('lax>dal>bos')
      expect(reply(net)).toBe('bos>dal>lax')
      stall(net, 'dal', 200)
      // The stall is well under the silence deadline of the normal probe interval's edges... 
      expect([...pathsOver(net, 10_000, fwd)], `seed ${seed}`).toEqual(['lax>dal>bos'])
      expect([...pathsOver(net, 5_000, reply)], `seed ${seed}`).toEqual(['bos>dal>lax'])
    }
  })

  it('keeps it when the ingress itself stalls (every edge into it reads late)', () => {
    const net = callNet(4)
    net.run(15_000)
    stall(net, 'lax', 200)
    net.run(1000)
    stall(net, 'bos', 200)
    expect([...pathsOver(net, 10_000, fwd)]).toEqual(['lax>dal>bos'])
  })

  it('finds the detour within 4 s of a cold start in which every relay stalled once', () => {
    for (const seed of [1, 2, 3]) {
      const net = callNet(seed)
      net.run(300)
      for (const r of RELAYS) stall(net, r, 200)
      const ms = net.runUntil(() => fwd(net) === 'lax>dal>bos' && reply(net) === 'bos>dal>lax', 10_000, 50)
      expect(ms + 1100).toBeLessThan(4000)
      expect([...pathsOver(net, 5_000, fwd)]).toEqual(['lax>dal>bos'])
    }
  })
})
