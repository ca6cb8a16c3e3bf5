/**
 * Router.nextTickMs: the daemon's bridge sleeps until it (on the grid of
 * its 20 ms tick), so every deadline tick() keeps must be in it. FakeNet
 * checks every tick of every route test against it (helpers/fake-net.ts);
 * these cover the deadlines no other route test reaches.
 */
import { describe, expect, it } from 'vitest'
import { delays, FakeNet } from './helpers/fake-net.js'

describe('Router.nextTickMs', () => {
  it('covers the end of a path demotion: the routes come back when it ends, not at some later tick', () => {
    const net = new FakeNet({
      relays: ['i', 't', 'e'],
      services: [{ name: 'svc', ingress: ['i'], exits: ['e'] }],
      delayMs: delays({ 'i-t': 5, 't-e': 5 }, 30),
      tickMs: 20,
      seed: 3,
      origins: { svc: { method: 'icmp', fwdMs: { e: 1 }, revMs: { e: 1 } } },
    })
    net.run(5000)
    const i = net.router('i')
    expect(i.forwardPath('svc')!.path).toEqual(['i', 't', 'e'])
    const now = net.local('i')
    expect(i.demotePath!(now, ['i', 't', 'e'], now + 1500)).toBe(true)
    net.run(100)
    expect(i.forwardPath('svc')!.path).toEqual(['i', 'e'])
    // While demoted, the end of the demotion is a deadline.
    expect(i.nextTickMs!()).toBeLessThanOrEqual(now + 1500)
    // Back after the demotion and the switch hold (FakeNet checks no tick before nextTickMs did work).
    net.runUntil(() => i.forwardPath('svc')!.path.join('>') === 'i>t>e', 3000, 20)
    expect(i.forwardPath('svc')!.path).toEqual(['i', 't', 'e'])
  })

  it('is due at once before the first tick, whatever the clock reads', () => {
    const net = new FakeNet({ relays: ['a', 'b'], services: [], delayMs: () => 5, offsetsMs: { a: -3_600_000 } })
    expect(net.router('a').nextTickMs!()).toBe(-Infinity)
  })
})
