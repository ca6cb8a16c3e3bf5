/**
 * Issue 14, points 1 and 2, against relays wired as the daemon wires them
 * (four-relay-wan.ts): atl is a member relay that turned hostile. It holds
 * a valid overlay key, so everything it sends arrives authenticated as
 * atl's; it sends crafted kind-2 control plaintexts to lax over the real
 * encrypted overlay. lax must drop and count each one, keep running, and
 * keep applying dal's real column.
 */
import { Packr } from 'msgpackr'
import { afterEach, describe, expect, it } from 'vitest'
import { KIND_CONTROL } from '../../src/wire/data.js'
import { startWanRelays } from './four-relay-wan.js'

const BASE = 7400
let cleanup: (() => void) | undefined
afterEach(() => cleanup?.())

async function world() {
  const { clock, byName, stop } = await startWanRelays(BASE)
  cleanup = stop
  const lax = byName('lax')
  const atl = byName('atl')
  /** atl seals `body` as a control plaintext to lax. */
  const atlSends = (body: Uint8Array) => {
    const plain = Buffer.alloc(1 + body.length)
    plain[0] = KIND_CONTROL
    plain.set(body, 1)
    atl.relay.sendPlain(atl.relay.peerById('lax')!, plain, plain.length)
  }
  const laxDrops = () => lax.relay.stats().drops as Record<string, number>
  const laxRouter = () => lax.bridge.router.counters!()
  /** lax's copy of dal's column: the edges into dal. */
  const intoDal = () => lax.bridge.router.edges().filter((e) => e.to === 'dal')
  return { clock, lax, atl, atlSends, laxDrops, laxRouter, intoDal }
}

/** A forged column of dal, as the issue reproduced it: a new boot and 0.04 ms edges. */
function forgedDal(boot: number, seq: number): Record<string, unknown> {
  return {
    type: 'overpass.map', v: 1, origin: 'dal', boot, seq,
    edges: [['lax', 0.04, 0.04, 0, 0.08, 0, 0, true], ['sea', 0.04, 0.04, 0, 0.08, 0, 0, true], ['atl', 0.04, 0.04, 0, 0.08, 0, 0, true]],
    origins: [['game', 'icmp', 0.04, 0.04, null, 0.08, 0, 0, true]],
  }
}

describe('a member relay sending crafted control messages', () => {
  it('cannot take over another relay\'s column: the forgery is refused and counted, the real one keeps applying', async () => {
    const w = await world()
    w.clock.advance(3000)
    const honest = w.intoDal().find((e) => e.from === 'sea')!.pseudoMs
    expect(honest).toBeGreaterThan(5)
    const acceptedBefore = w.laxRouter().control_accepted
    // The forger keeps resending, as in the reproduction.
    let seq = 0
    for (let i = 0; i < 40; i++) {
      w.atlSends(new Packr({ useRecords: false }).pack(forgedDal(0xdeadbeef, seq++)))
      w.clock.advance(100)
    }
    expect(w.laxRouter().control_forged_unsigned).toBe(40)
    for (const e of w.intoDal()) expect(e.pseudoMs).toBeGreaterThan(1)
    expect(w.intoDal().find((e) => e.from === 'sea')!.pseudoMs).toBeCloseTo(honest, 0)
    // dal's real updates kept arriving and applying meanwhile, and its column is fresh.
    expect(w.laxRouter().control_accepted).toBeGreaterThan(acceptedBefore + 3)
    expect(w.intoDal().every((e) => e.up && e.ageMs < 1500)).toBe(true)
  })

  it('drops each hostile encoding by reason and keeps routing', async () => {
    const w = await world()
    w.clock.advance(2000)
    const cyclic: Record<string, unknown> = forgedDal(1, 0)
    cyclic.loop = cyclic
    let bomb: unknown = ['x']
    for (let i = 0; i < 40; i++) bomb = [bomb, bomb]
    const attacks = [
      new Packr({ structuredClone: true }).pack(cyclic),
      new Packr({ structuredClone: true }).pack({ ...forgedDal(2, 0), bomb }),
      new Packr({ useRecords: true }).pack(forgedDal(3, 0)),
      Buffer.alloc(30_000, 0x91), // 30k nested arrays
    ]
    for (const a of attacks) w.atlSends(a)
    w.clock.advance(50)
    const d = w.laxDrops()
    expect(d.control_malformed_ext_type).toBe(3)
    expect(d.control_malformed_too_deep).toBe(1)
    // Still routing on the honest map.
    w.clock.advance(2000)
    expect(w.lax.bridge.router.forwardPath('game')?.path).toEqual(['lax', 'sea', 'dal'])
    expect(w.intoDal().every((e) => e.up && e.ageMs < 1500)).toBe(true)
  })

  it('contains a handler that throws: the message is dropped and counted, the relay carries on', async () => {
    const w = await world()
    w.clock.advance(1000)
    const router = w.lax.bridge.router
    const real = router.onControl.bind(router)
    let thrown = 0
    router.onControl = (now, from, msg) => {
      if (from === 'atl') {
        thrown++
        throw new RangeError('Maximum call stack size exceeded')
      }
      return real(now, from, msg)
    }
    for (let i = 0; i < 5; i++) w.atlSends(new Packr({ useRecords: false }).pack({ type: 'overpass.resync', v: 1, origin: 'atl' }))
    w.clock.advance(2000)
    expect(thrown).toBeGreaterThan(0)
    expect(w.laxDrops().control_handler_error).toBe(thrown)
    expect(w.intoDal().every((e) => e.up && e.ageMs < 1500)).toBe(true)
  })
})
