/**
 * The tc-netem WAN backend's plan (pure; runs without root or netem) and the
 * backend choice.
 */
import { describe, expect, it } from 'vitest'
import { loadScenario } from '../../lab/scenario/index.js'
import { planAddresses } from '../../lab/topo/addressing.js'
import { LinkTable } from '../../lab/emulator/link-table.js'
import { netemArgs, netemChange, netemLayout, netemSetup } from '../../lab/wan/netem-plan.js'
import { WanBackendError, parseWanChoice, resolveWan } from '../../lab/wan/backend.js'

const scenario = loadScenario('lab/scenarios/asymmetric.yaml')
const layout = netemLayout(planAddresses(scenario), scenario.pops)
const table = new LinkTable(scenario.pops, scenario.links)
const pop = (name: string): number => scenario.pops.indexOf(name)
const stateOf = (from: number, to: number) => table.get(scenario.pops[from], scenario.pops[to])
const setup = netemSetup(layout, stateOf)

/** The netem arguments that packets from `src` get on their way out towards `dst`. */
function netemFor(src: string, dst: string): string[] | undefined {
  const dev = layout.ifaces.find((i) => i.position === pop(dst))!.dev
  const classOf = setup.find((c) => c[0] === 'filter' && c[3] === dev && c.includes(`198.18.${pop(src)}.0/24`))?.at(-1)
  const q = setup.find((c) => c[0] === 'qdisc' && c[3] === dev && c[5] === classOf)
  return q?.slice(q.indexOf('netem') + 1)
}

describe('tc netem WAN plan', () => {
  it('gives each directed PoP pair its own one-way delay, so asymmetry survives', () => {
    expect(netemFor('nyc', 'dal')?.slice(0, 2)).toEqual(['delay', '30ms'])
    expect(netemFor('dal', 'nyc')?.slice(0, 2)).toEqual(['delay', '18ms'])
    expect(netemFor('lax', 'nyc')?.slice(0, 2)).toEqual(['delay', '40ms'])
  })

  it('classifies an origin and the clients by the WAN position of their /24', () => {
    // o-nyc sits at nyc's WAN position and hangs off its own veth (o0).
    const toOrigin = layout.ifaces.filter((i) => i.position === pop('nyc')).map((i) => i.dev)
    expect(toOrigin).toEqual(['p3', 'o0'])
    // The client c-lax (198.19.0.0/24) is at lax's position: packets from it get lax's delays.
    const laxClass = setup.find((c) => c[0] === 'filter' && c[3] === 'o0' && c.includes('198.18.0.0/24'))?.at(-1)
    const clientClass = setup.find((c) => c[0] === 'filter' && c[3] === 'o0' && c.includes('198.19.0.0/24'))?.at(-1)
    expect(clientClass).toBe(laxClass)
  })

  it('leaves traffic within one position undelayed (no class for it)', () => {
    const dev = layout.ifaces.find((i) => i.position === pop('lax'))!.dev
    expect(setup.filter((c) => c[0] === 'filter' && c[3] === dev && c.includes('198.18.0.0/24'))).toEqual([])
    expect(setup.find((c) => c[0] === 'qdisc' && c[3] === dev && c[4] === 'root')).toContain('default')
  })

  it('maps jitter to the same mean and floor as the user-space emulator, and a cut to 100% loss', () => {
    expect(netemArgs({ delayMs: 20, jitterMs: 2, lossPct: 0.5, down: false })).toEqual(['delay', '22ms', '2ms', 'loss', '0.5%', 'limit', '100000'])
    expect(netemArgs({ delayMs: 20, jitterMs: 0, lossPct: 0, down: true })).toEqual(['delay', '20ms', 'loss', '100%', 'limit', '100000'])
  })

  it('maps bursty loss to netem\'s Gilbert-Elliott model with the emulator\'s chain', () => {
    // 5% in bursts of 4: p = 25 * 5/95 %, r = 25%, all lost in the bad state, none in the good one.
    expect(netemArgs({ delayMs: 20, jitterMs: 0, lossPct: 5, down: false, burstPackets: 4 })).toEqual(['delay', '20ms', 'loss', 'gemodel', '1.3158%', '25%', '100%', '0%', 'limit', '100000'])
    expect(netemArgs({ delayMs: 20, jitterMs: 0, lossPct: 5, down: true, burstPackets: 4 })).toEqual(['delay', '20ms', 'loss', '100%', 'limit', '100000'])
  })

  it('changes only the qdiscs of the directed link an event touches', () => {
    table.apply({ atMs: 0, from: 'lax', to: 'nyc', action: 'degrade', set: { delayMs: 70 } })
    const cmds = netemChange(layout, pop('lax'), pop('nyc'), stateOf(pop('lax'), pop('nyc')))
    // nyc's PoP veth and the origin behind nyc: both are downstream of lax -> nyc.
    expect(cmds.map((c) => c[3])).toEqual(['p3', 'o0'])
    for (const c of cmds) expect(c.slice(0, 2).concat(c.slice(c.indexOf('netem') + 1, c.indexOf('netem') + 3))).toEqual(['qdisc', 'change', 'delay', '70ms'])
    // Each change names the class whose netem the setup created for traffic from lax.
    const created = setup.filter((c) => c[0] === 'qdisc' && c[1] === 'add' && (c[3] === 'p3' || c[3] === 'o0')).map((c) => `${c[3]} ${c[5]} ${c[7]}`)
    for (const c of cmds) expect(created).toContain(`${c[3]} ${c[5]} ${c[7]}`)
    expect(netemChange(layout, pop('lax'), pop('lax'), stateOf(0, 0))).toEqual([])
  })
})

describe('WAN backend choice', () => {
  it('auto takes netem where the kernel has it and the emulator elsewhere', () => {
    expect(resolveWan('auto', 'ns', () => ({ ok: true }))).toBe('netem')
    expect(resolveWan('auto', 'ns', () => ({ ok: false, reason: 'Unknown qdisc "netem"' }))).toBe('emulator')
    expect(resolveWan('emulator', 'ns', () => ({ ok: true }))).toBe('emulator')
  })

  it('refuses a forced netem on a kernel without it, naming the fix', () => {
    expect(() => resolveWan('netem', 'ns', () => ({ ok: false, reason: 'Unknown qdisc "netem"' }))).toThrow(/modprobe sch_netem.*--wan emulator/)
    expect(() => parseWanChoice('tc')).toThrow(WanBackendError)
    expect(parseWanChoice(undefined)).toBe('auto')
  })
})
