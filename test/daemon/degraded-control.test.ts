/**
 * Degraded mode on the data plane: with every map update lost for 30 s
 * (the control messages reach no router) the relays keep forwarding on
 * their last good paths, and status says the control plane is degraded.
 * Four relays on the in-memory WAN of four-relay-wan.ts (lax>sea>dal is
 * the best forward path, dal>lax the best reply).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { controlPlaneView } from '../../src/daemon/relay-views.js'
import { WAN_RELAYS, echoOriginAndClient, startWanRelays } from './four-relay-wan.js'

const BASE = 7600
let cleanup: (() => void) | undefined
afterEach(() => cleanup?.())

async function world() {
  const { clock, net, cut, parts, byName, stop } = await startWanRelays(BASE)
  const { received, send, close } = echoOriginAndClient(net)
  cleanup = () => {
    stop()
    close()
  }
  /** Every control message a relay receives from now on is lost before its router sees it. */
  const loseControl = () => {
    for (const p of parts) p.bridge.onControl = () => {}
  }
  return { clock, cut, send, received, byName, loseControl }
}

describe('degraded control plane on the data plane', () => {
  it('keeps data flowing on the last good paths through 30 s of lost map updates, and status says so', async () => {
    const w = await world()
    w.clock.advance(5000)
    const lax = w.byName('lax')
    expect(lax.router.forwardPath('game')?.path).toEqual(['lax', 'sea', 'dal'])
    expect(controlPlaneView(lax.router)).toEqual({ degraded: false, held: [] })
    w.loseControl()
    for (let s = 0; s < 30; s++) {
      w.send(`p${s}`)
      w.clock.advance(1000)
    }
    expect(w.received).toEqual(Array.from({ length: 30 }, (_, s) => `p${s}`))
    expect(lax.router.forwardPath('game')?.path).toEqual(['lax', 'sea', 'dal'])
    const view = controlPlaneView(lax.router, Date.parse('2026-01-01T00:01:00Z'))!
    expect(view.degraded).toBe(true)
    expect(view.held.sort()).toEqual(['atl', 'dal', 'sea'])
    expect(view.degraded_for_s).toBeGreaterThan(25)
    expect(view.degraded_for_s).toBeLessThan(28)
    expect(Math.abs(Date.parse(view.degraded_since!) - (Date.parse('2026-01-01T00:01:00Z') - view.degraded_for_s! * 1000))).toBeLessThan(100)
  })

  it('still moves off a relay that stops answering altogether while updates are lost', async () => {
    const w = await world()
    w.clock.advance(5000)
    w.loseControl()
    w.clock.advance(10_000)
    for (const r of WAN_RELAYS) if (r !== 'sea') w.cut.add(`sea>${r}`).add(`${r}>sea`)
    w.clock.advance(1000)
    const path = w.byName('lax').router.forwardPath('game')?.path
    expect(path).toBeDefined()
    expect(path).not.toContain('sea')
    w.send('after')
    w.clock.advance(300)
    expect(w.received).toContain('after')
  })
})
