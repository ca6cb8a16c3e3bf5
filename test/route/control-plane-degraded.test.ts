/**
 * Degraded mode (route/column-hold.ts): when map updates stop arriving but
 * the relays are still heard (their probes arrive), paths stay on the last
 * good map; a relay that is no longer heard either is dropped as before.
 */
import { describe, expect, it } from 'vitest'
import type { RouterMessage } from '../../src/route/types.js'
import { delays, FakeNet } from './helpers/fake-net.js'

function net(): FakeNet {
  return new FakeNet({
    relays: ['i', 'a', 'b', 'e'],
    services: [{ name: 'svc', ingress: ['i'], exits: ['e'] }],
    delayMs: delays({ 'i-a': 10, 'a-e': 10, 'i-b': 10, 'b-e': 14, 'i-e': 60, 'a-b': 30 }, 60),
    seed: 3,
    origins: { svc: { method: 'twamp', fwdMs: { e: 2 }, revMs: { e: 2 } } },
  })
}

const fwd = (n: FakeNet) => n.router('i').forwardPath('svc')?.path.join('>') ?? 'none'
const reply = (n: FakeNet) => n.router('e').replyPath('svc', 'i')?.path.join('>') ?? 'none'
const loseControl = (m: RouterMessage) => (m.kind === 'control' ? undefined : m)

describe('degraded control plane', () => {
  it('keeps forward and reply paths for 30 s of lost map updates and says since when', () => {
    const n = net()
    n.run(5000)
    expect(fwd(n)).toBe('i>a>e')
    expect(n.router('i').controlPlane!()).toEqual({ degraded: false, held: [] })
    n.tamper = (_from, m) => loseControl(m)
    const lostAt = n.local('i')
    for (let t = 0; t < 300; t++) {
      n.run(100)
      expect(fwd(n)).toBe('i>a>e')
      expect(reply(n)).not.toBe('none')
    }
    const health = n.router('i').controlPlane!()
    expect(health.degraded).toBe(true)
    expect(health.held.sort()).toEqual(['a', 'b', 'e'])
    // Columns go stale 3.5 flood intervals (3.5 s by default) after the last update.
    expect(health.sinceMs! - lostAt).toBeGreaterThan(2000)
    expect(health.sinceMs! - lostAt).toBeLessThan(5000)
    expect(n.router('i').counters!().control_columns_held).toBe(3)
  })

  it('leaves degraded mode when updates arrive again', () => {
    const n = net()
    n.run(5000)
    n.tamper = (_from, m) => loseControl(m)
    n.run(10_000)
    expect(n.router('i').controlPlane!().degraded).toBe(true)
    n.tamper = undefined
    n.run(3000)
    expect(n.router('i').controlPlane!()).toEqual({ degraded: false, held: [] })
    expect(fwd(n)).toBe('i>a>e')
  })

  it('drops a relay that goes silent (no probes either) while updates are lost: news of down, not no news', () => {
    const n = net()
    n.run(5000)
    n.tamper = (_from, m) => loseControl(m)
    n.run(10_000)
    expect(fwd(n)).toBe('i>a>e')
    // a dies: nothing from or to it arrives any more.
    for (const r of ['i', 'b', 'e']) {
      n.cutEdge('a', r)
      n.cutEdge(r, 'a')
    }
    n.run(1000)
    expect(fwd(n)).toBe('i>b>e')
    expect(n.router('i').controlPlane!().held.sort()).toEqual(['b', 'e'])
  })

  it('without probes from a relay, its stale column is not kept (as before degraded mode)', () => {
    const n = net()
    n.run(5000)
    // Everything from a is lost, updates and probes: its column goes stale and nothing says a is alive.
    n.tamper = (from, m) => (from === 'a' ? undefined : m)
    n.run(6000)
    expect(fwd(n)).toBe('i>b>e')
    expect(n.router('i').controlPlane!()).toEqual({ degraded: false, held: [] })
  })

  it('honours an edge reported down by a fresh column while other columns are held', () => {
    const n = net()
    n.run(5000)
    // Only e's updates are lost; a and b still report.
    n.tamper = (from, m) => (from === 'e' && m.kind === 'control' ? undefined : m)
    n.run(6000)
    expect(n.router('i').controlPlane!().held).toEqual(['e'])
    // i->a breaks: a's fresh column says so; i must move although e's column is held.
    n.cutEdge('i', 'a')
    n.run(2000)
    expect(fwd(n)).toBe('i>b>e')
  })
})
