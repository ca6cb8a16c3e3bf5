/**
 * A router taking over another's run (Router.resumePoint / continueFrom,
 * used by a live config change): its probes and map columns carry the old
 * run's boot ids with sequence numbers going on, and its first flood is a
 * whole column, so peers take them as the same run's next ones.
 */
import { describe, expect, it } from 'vitest'
import { decodeProbe, emptyProbeFields } from '../../src/probe/probe-codec.js'
import { createRouter, MAP_MSG_TYPE, type MapUpdate, type RouterMessage } from '../../src/route/index.js'

const init = (bootId: number) => ({ self: 'x', relays: ['x', 'y', 'z'], services: [], random: () => 0.5, bootId })

function probesOf(out: RouterMessage[]): { bootId: number; seq: number }[] {
  return out.filter((m) => m.kind === 'probe').map((m) => {
    const f = emptyProbeFields()
    decodeProbe((m as { bytes: Uint8Array }).bytes, f)
    return { bootId: f.bootId, seq: f.seq }
  })
}

function columnsOf(out: RouterMessage[]): MapUpdate[] {
  return out.flatMap((m) => (m.kind === 'control' && (m.msg as MapUpdate).type === MAP_MSG_TYPE ? [m.msg as MapUpdate] : []))
}

describe('a router continuing another router\'s run', () => {
  it('sends probes and columns with the old boot ids and the next sequence numbers, the first column whole', () => {
    const old = createRouter(init(111))
    let lastProbe = -1
    let lastColumn = -1
    for (let t = 0; t <= 5000; t += 50) {
      const out = old.tick(t)
      for (const p of probesOf(out)) lastProbe = p.seq
      for (const c of columnsOf(out)) lastColumn = c.seq
    }
    expect(lastProbe).toBeGreaterThan(10)
    expect(lastColumn).toBeGreaterThan(1)
    const next = createRouter(init(222))
    next.tick(0) // a shadow router has ticked on its own boot before it takes over
    next.continueFrom!(old.resumePoint!())
    const probes: { bootId: number; seq: number }[] = []
    const columns: MapUpdate[] = []
    for (let t = 5050; t <= 7000 && (probes.length === 0 || columns.length === 0); t += 50) {
      const out = next.tick(t)
      probes.push(...probesOf(out))
      columns.push(...columnsOf(out))
    }
    expect(probes[0]).toEqual({ bootId: 111, seq: lastProbe + 1 })
    expect(columns[0]).toMatchObject({ boot: 111, seq: lastColumn + 1 })
    expect(columns[0].full).not.toBe(false)
  })
})
