import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../src/route/seeded-random.js'
import { delays, FakeNet } from './helpers/fake-net.js'

const HOUR = 3_600_000

/**
 * The lab's failover scenario: lax -> bos rides dal (35 ms) until lax<->dal
 * is cut both ways. lax only learns that lax->dal is down from dal's column,
 * which can no longer come straight to lax: other relays must relay it
 * around the cut (lax's own column says dal->lax is down).
 */
function failover(seed: number): FakeNet {
  const relays = ['lax', 'dal', 'atl', 'bos']
  const rnd = seededRandom(seed)
  return new FakeNet({
    relays,
    services: [{ name: 'call', ingress: ['lax'], exits: ['bos'] }],
    delayMs: delays({ 'lax-bos': 50, 'lax-dal': 15, 'dal-bos': 20, 'lax-atl': 25, 'atl-bos': 15, 'dal-atl': 11 }, 80),
    offsetsMs: Object.fromEntries(relays.map((r) => [r, (rnd() * 2 - 1) * HOUR])),
    jitterMs: 0.5,
    seed,
    origins: { call: { method: 'twamp', fwdMs: { bos: 1 }, revMs: { bos: 1 } } },
  })
}

describe('a cut link on the active path', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`moves the forward path off it within 0.7 s: the far end's column is relayed around the cut (seed ${seed})`, () => {
      const net = failover(seed)
      const fwd = () => net.router('lax').forwardPath('call')?.path.join('>')
      // Long enough for every relay to have applied more than MAX_CHAIN_DELTAS deltas since its last out-of-sync whole column.
      net.run(30_000 + seed * 37)
      expect(fwd()).toBe('lax>dal>bos')
      net.cutEdge('lax', 'dal')
      net.cutEdge('dal', 'lax')
      const elapsed = net.runUntil(() => fwd() === 'lax>atl>bos', 5000, 1)
      expect(elapsed).toBeLessThan(700)
    })
  }

  // Relayers relay the far end's chain to the cut-off relay once per whole
  // column. Cut again before the far end sent a new whole column, and its
  // new 'down' delta (which usually reaches the relayers before the cut-off
  // relay's own 'down') was not relayed: in the lab's flap scenario the
  // second cut left the call on the cut link for 1.5 s.
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`moves the forward path off a link cut again 4 s after the first cut (seed ${seed})`, () => {
      const net = failover(seed)
      const fwd = () => net.router('lax').forwardPath('call')?.path.join('>')
      net.run(30_000 + seed * 37)
      expect(fwd()).toBe('lax>dal>bos')
      const cut = () => {
        net.cutEdge('lax', 'dal')
        net.cutEdge('dal', 'lax')
      }
      // The lab's flap: 2 s down, 2 s up, down again.
      cut()
      expect(net.runUntil(() => fwd() === 'lax>atl>bos', 2000, 1)).toBeLessThan(700)
      net.run(2000 - 700)
      net.restoreEdge('lax', 'dal')
      net.restoreEdge('dal', 'lax')
      const back = net.runUntil(() => fwd() === 'lax>dal>bos', 2000, 1)
      expect(back).toBeLessThan(2000)
      net.run(2000 - back)
      cut()
      const second = net.runUntil(() => fwd() !== 'lax>dal>bos', 5000, 1)
      expect(second).toBeLessThan(700)
    })
  }
})
