import { readdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { loadScenario, parseScenario, type ScenarioError } from '../../lab/scenario/index.js'

const BASE = `
name: t
pops: [a, b, c]
clients: [{ name: ca, pop: a }]
origins: [{ name: oc, wan_pop: c, exits: [c] }]
wan:
  links:
    - { between: [a, b], delay: 10ms }
    - { between: [b, c], delay: 10ms }
    - { from: a, to: c, delay: 30ms }
    - { from: c, to: a, delay: 12.5ms, jitter: 1ms, loss: 1% }
traffic:
  flows: [{ name: f, client: ca, origin: oc, profile: voip, duration: 2s }]
`

function issuesOf(text: string): { path: string; message: string; fix: string }[] {
  try {
    parseScenario(text)
  } catch (err) {
    expect((err as ScenarioError).name).toBe('ScenarioError')
    return (err as ScenarioError).issues
  }
  throw new Error('expected a ScenarioError')
}

describe('scenario files', () => {
  it('loads every shipped scenario', () => {
    const files = readdirSync('lab/scenarios').filter((f) => f.endsWith('.yaml'))
    expect(files.length).toBeGreaterThanOrEqual(4)
    for (const f of files) {
      const s = loadScenario(`lab/scenarios/${f}`)
      expect(s.links.length).toBe(s.pops.length * (s.pops.length - 1))
    }
  })

  it('splits a symmetric link into two directions and keeps fractional delays', () => {
    const s = parseScenario(BASE)
    const ab = s.links.filter((l) => (l.from === 'a' && l.to === 'b') || (l.from === 'b' && l.to === 'a'))
    expect(ab.map((l) => l.delayMs)).toEqual([10, 10])
    expect(s.links.find((l) => l.from === 'c' && l.to === 'a')).toMatchObject({ delayMs: 12.5, jitterMs: 1, lossPct: 1 })
  })

  it('names a missing direction of the full mesh', () => {
    const issues = issuesOf(BASE.replace('    - { from: a, to: c, delay: 30ms }\n', ''))
    expect(issues).toHaveLength(1)
    expect(issues[0].path).toBe('wan.links')
    expect(issues[0]).toMatchObject({ message: expect.stringContaining('a -> c') })
  })

  it('reports every bad reference with its own path', () => {
    const text = BASE.replace('pop: a }', 'pop: z }').replace('profile: voip', 'profile: video').replace('delay: 30ms', 'delay: 30')
    const paths = issuesOf(text).map((i) => i.path).sort()
    expect(paths).toEqual(['traffic.flows[0].profile', 'wan.links[2].delay'])
  })

  it('rejects a client at an unknown PoP', () => {
    const issues = issuesOf(BASE.replace('pop: a }', 'pop: z }'))
    expect(issues[0]).toMatchObject({ path: 'clients[0].pop', fix: 'use one of: a, b, c' })
  })

  it('expands a flap into cut/restore pairs, sorted by time', () => {
    const s = parseScenario(BASE + 'events:\n  - { at: 1s, action: flap, from: a, to: b, period: 400ms, for: 800ms }\n  - { at: 0.5s, action: degrade, between: [b, c], delay: 40ms }\n')
    expect(s.events.map((e) => [e.atMs, e.action, e.from])).toEqual([
      [500, 'degrade', 'b'], [500, 'degrade', 'c'], [1000, 'cut', 'a'], [1200, 'restore', 'a'], [1400, 'cut', 'a'], [1600, 'restore', 'a'],
    ])
  })

  it('suggests the allowed fields for an unknown one', () => {
    const issues = issuesOf(BASE.replace('wan:\n', 'wan:\n  lossy: 1%\n'))
    expect(issues[0]).toMatchObject({ path: 'wan.lossy', fix: expect.stringContaining('jitter, loss, links') })
  })
})

describe('scenario events for live-routing tests', () => {
  it('keeps a degrade factor, which scales the delay in force, and refuses it next to delay', () => {
    const s = parseScenario(BASE + 'events:\n  - { at: 1s, action: degrade, between: [a, b], factor: 2.5 }\n')
    expect(s.events.map((e) => [e.from, e.delayFactor, e.set])).toEqual([['a', 2.5, undefined], ['b', 2.5, undefined]])
    expect(issuesOf(BASE + 'events:\n  - { at: 1s, action: degrade, from: a, to: b, factor: 2, delay: 5ms }\n')[0]).toMatchObject({ path: 'events[0].factor', message: 'both delay and factor' })
    expect(issuesOf(BASE + 'events:\n  - { at: 2s, action: degrade, from: a, to: b, factor: -1 }\n')[0]).toMatchObject({ path: 'events[0].factor', fix: expect.stringContaining('plain number') })
  })

  it('keeps bursty loss on links and degrades, and checks its loss against the loss inside a burst', () => {
    const s = parseScenario(BASE.replace('{ between: [a, b], delay: 10ms }', '{ between: [a, b], delay: 10ms, loss: 3%, burst: 4 }') + 'events:\n  - { at: 1s, action: degrade, from: b, to: c, loss: 5%, burst: 8, burst_loss: 50% }\n')
    expect(s.links.find((l) => l.from === 'b' && l.to === 'a')).toMatchObject({ lossPct: 3, burstPackets: 4 })
    expect(s.links.find((l) => l.from === 'b' && l.to === 'c')?.burstPackets).toBeUndefined()
    expect(s.events[0].set).toEqual({ lossPct: 5, burstPackets: 8, burstLossPct: 50 })
    const bad = BASE.replace('{ between: [a, b], delay: 10ms }', '{ between: [a, b], delay: 10ms, burst: 4 }')
      .replace('{ between: [b, c], delay: 10ms }', '{ between: [b, c], delay: 10ms, loss: 60%, burst: 2, burst_loss: 50% }')
    expect(issuesOf(bad).map((i) => i.path).sort()).toEqual(['wan.links[0].loss', 'wan.links[1].loss'])
    expect(issuesOf(BASE.replace('{ from: a, to: c, delay: 30ms }', '{ from: a, to: c, delay: 30ms, loss: 1%, burst: 0.5 }'))[0]).toMatchObject({ path: 'wan.links[2].burst', fix: expect.stringContaining('packets') })
  })

  it('keeps relay kills and restarts apart from the link events, in time order', () => {
    const s = parseScenario(BASE + 'events:\n  - { at: 6s, action: start, pop: b }\n  - { at: 3s, action: kill, pop: b }\n  - { at: 4s, action: cut, from: a, to: c }\n')
    expect(s.relayEvents).toEqual([{ atMs: 3000, pop: 'b', action: 'kill' }, { atMs: 6000, pop: 'b', action: 'start' }])
    expect(s.events.map((e) => e.action)).toEqual(['cut'])
    expect(parseScenario(BASE).relayEvents).toEqual([])
  })

  it('refuses a start without an earlier kill, a second kill, a missing or unknown pop, and link fields on a relay event', () => {
    const issues = issuesOf(BASE + `events:
  - { at: 1s, action: start, pop: a }
  - { at: 2s, action: kill, pop: b }
  - { at: 3s, action: kill, pop: b }
  - { at: 4s, action: kill }
  - { at: 5s, action: kill, pop: z }
  - { at: 6s, action: kill, pop: c, from: a, to: b }
  - { at: 7s, action: cut, from: a, to: b, pop: a }
`)
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]))
    expect(byPath['events[0]']).toContain('running')
    expect(byPath['events[2]']).toContain('already killed by events[1]')
    expect(byPath['events[3]']).toContain('needs pop')
    expect(byPath['events[4].pop']).toContain('not a PoP')
    expect(byPath['events[5]']).toContain('not from, to')
    expect(byPath['events[6].pop']).toContain('takes no pop')
  })
})

describe('network-change events', () => {
  it('keeps them as relay events with a signed network and its tuning', () => {
    const s = parseScenario(BASE + 'relays: { network: signed, tuning: { rekey_after: 3s } }\nevents:\n  - { at: 1s, action: join, pop: b }\n  - { at: 3s, action: rotate-key, pop: b }\n  - { at: 5s, action: remove, pop: b }\n  - { at: 6s, action: canary-cut, pop: a }\n')
    expect(s.network).toBe('signed')
    expect(s.tuning).toEqual({ rekey_after: '3s' })
    expect(s.relayEvents.map((e) => `${e.action} ${e.pop}`)).toEqual(['join b', 'rotate-key b', 'remove b', 'canary-cut a'])
    expect(parseScenario(BASE).network).toBe('per-relay')
  })

  it('refuses them without a signed network, a change to a PoP not yet joined or already removed, and a second join', () => {
    expect(issuesOf(BASE + 'events:\n  - { at: 1s, action: move-endpoint, pop: a }\n')[0]).toMatchObject({ path: 'events[0].action', fix: 'set relays.network: signed' })
    const issues = issuesOf(BASE + `relays: { network: signed }
events:
  - { at: 1s, action: rotate-key, pop: b }
  - { at: 2s, action: join, pop: b }
  - { at: 3s, action: remove, pop: b }
  - { at: 4s, action: move-endpoint, pop: b }
  - { at: 5s, action: remove, pop: b }
  - { at: 6s, action: join, pop: c }
  - { at: 7s, action: join, pop: c }
`)
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]))
    expect(byPath['events[0]']).toContain('not running at that time')
    expect(byPath['events[3]']).toContain('not running at that time')
    expect(byPath['events[4]']).toContain('not running at that time')
    expect(byPath['events[6]']).toContain('already in the network')
    for (const ok of ['events[1]', 'events[2]', 'events[5]']) expect(byPath[ok], ok).toBeUndefined()
  })
  it('keeps a service addition at a PoP with an L4 flow and a bad canary version, and refuses a service addition where no flow enters', () => {
    const signed = BASE + 'relays: { network: signed }\nevents:\n'
    const s = parseScenario(signed + '  - { at: 1s, action: add-service, pop: a }\n  - { at: 2s, action: bad-canary, pop: b }\n')
    expect(s.relayEvents.map((e) => `${e.action} ${e.pop}`)).toEqual(['add-service a', 'bad-canary b'])
    expect(issuesOf(signed + '  - { at: 1s, action: add-service, pop: b }\n')[0]).toMatchObject({ path: 'events[0].pop', message: 'no L4 flow enters at b' })
    expect(issuesOf(BASE + 'events:\n  - { at: 1s, action: bad-canary, pop: a }\n')[0]).toMatchObject({ path: 'events[0].action', fix: 'set relays.network: signed' })
  })
})

describe('origin-leg events', () => {
  const TWO_EXITS = BASE.replace('exits: [c] }', 'exits: [b, c] }')

  it('keeps cut-origin and restore-origin apart from the link events, and the origin probe interval', () => {
    const s = parseScenario(TWO_EXITS + 'relays: { origin_probe: twamp, origin_probe_interval: 250ms }\nevents:\n  - { at: 5s, action: restore-origin, origin: oc, exit: b }\n  - { at: 2s, action: cut-origin, origin: oc, exit: b }\n')
    expect(s.originEvents).toEqual([{ atMs: 2000, origin: 'oc', exit: 'b', action: 'cut' }, { atMs: 5000, origin: 'oc', exit: 'b', action: 'restore' }])
    expect(s.events).toEqual([])
    expect(s.relayEvents).toEqual([])
    expect(s.originProbeIntervalMs).toBe(250)
    expect(s.redundant).toBe(false)
    expect(parseScenario(BASE + 'relays: { redundant: true }\n').redundant).toBe(true)
  })

  it('refuses a leg that is not an exit of the origin, a restore without a cut, and link fields', () => {
    const issues = issuesOf(TWO_EXITS + `events:
  - { at: 1s, action: cut-origin, origin: oc, exit: a }
  - { at: 2s, action: restore-origin, origin: oc, exit: c }
  - { at: 3s, action: cut-origin, origin: oc, exit: b, loss: 1% }
  - { at: 4s, action: cut-origin, origin: zz, exit: b }
  - { at: 5s, action: cut-origin, exit: b }
  - { at: 6s, action: cut, from: a, to: b, origin: oc }
`)
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]))
    expect(byPath['events[0].exit']).toContain('not an exit of oc')
    expect(byPath['events[1]']).toContain('not cut at that time')
    expect(byPath['events[2]']).toContain('not loss')
    expect(byPath['events[3].origin']).toContain('not an origin')
    expect(byPath['events[4]']).toContain('needs origin and exit')
    expect(byPath['events[5]']).toContain('takes no origin/exit')
  })
})

const L3 = `
name: t3
pops: [a, b, c]
clients:
  - { name: ba, pop: a, prefix: 10.101.0.0/24 }
  - { name: bb, pop: b, prefix: 10.102.0.0/24 }
origins: [{ name: dc, wan_pop: c, exits: [b, c], prefix: 10.200.0.0/24 }]
wan:
  links:
    - { between: [a, b], delay: 10ms }
    - { between: [b, c], delay: 10ms }
    - { between: [a, c], delay: 30ms }
traffic:
  flows:
    - { name: f, client: ba, origin: dc, profile: game, duration: 2s }
    - { name: g, client: bb, origin: dc, profile: game, duration: 2s }
`

describe('L3 sites in scenario files', () => {
  it('keeps branch and data-centre prefixes', () => {
    const s = parseScenario(L3)
    expect(s.clients.map((c) => c.prefix)).toEqual(['10.101.0.0/24', '10.102.0.0/24'])
    expect(s.origins[0]).toMatchObject({ prefix: '10.200.0.0/24', exits: ['b', 'c'] })
    expect(parseScenario(BASE).clients[0].prefix).toBeUndefined()
  })

  it('rejects overlapping prefixes and prefixes inside the lab\'s 198.18.0.0/15', () => {
    const issues = issuesOf(L3.replace('10.102.0.0/24', '10.101.0.0/16').replace('10.200.0.0/24', '198.19.5.0/24'))
    expect(issues.map((i) => i.path).sort()).toEqual(['clients[1].prefix', 'origins[0].prefix'])
    expect(issues.find((i) => i.path === 'origins[0].prefix')).toMatchObject({ message: expect.stringContaining('198.18.0.0/15') })
  })

  it('names a prefix that is not an IPv4 network with a fix', () => {
    const issues = issuesOf(L3.replace('10.101.0.0/24', '10.101.0.1/24').replace('10.102.0.0/24', '10.102.0.0/31'))
    expect(issues.map((i) => i.path).sort()).toEqual(['clients[0].prefix', 'clients[1].prefix'])
    expect(issues[0].fix).toContain('10.101.0.0/24')
  })

  it('keeps IPv6 prefixes next to the IPv4 ones', () => {
    const s = parseScenario(L3.replace('prefix: 10.101.0.0/24 }', 'prefix: 10.101.0.0/24, prefix6: "fd00:101::/64" }').replace('prefix: 10.200.0.0/24 }', 'prefix: 10.200.0.0/24, prefix6: "fd00:200::/64" }'))
    expect(s.clients[0].prefix6).toBe('fd00:101::/64')
    expect(s.origins[0].prefix6).toBe('fd00:200::/64')
  })

  it('names an IPv4 prefix given as prefix6', () => {
    const issues = issuesOf(L3.replace('{ name: ba, pop: a, prefix: 10.101.0.0/24 }', '{ name: ba, pop: a, prefix: 10.101.0.0/24, prefix6: 10.9.0.0/24 }'))
    expect(issues.find((i) => i.path === 'clients[0].prefix6')).toMatchObject({ message: expect.stringContaining('put an IPv4 one in prefix') })
  })

  it('names an IPv6 prefix without an IPv4 one, and one inside the lab\'s fdcc::/16', () => {
    const issues = issuesOf(L3
      .replace('{ name: bb, pop: b, prefix: 10.102.0.0/24 }', '{ name: bb, pop: b, prefix6: "fd00:102::/64" }')
      .replace('prefix: 10.200.0.0/24 }', 'prefix: 10.200.0.0/24, prefix6: "fdcc:5::/64" }'))
    expect(issues.find((i) => i.path === 'clients[1].prefix6')).toMatchObject({ fix: expect.stringContaining('add prefix (IPv4) too') })
    expect(issues.find((i) => i.path === 'origins[0].prefix6')).toMatchObject({ message: expect.stringContaining('fdcc::/16') })
  })

  it('refuses a flow from a client without a prefix to an L3 data centre', () => {
    const issues = issuesOf(L3.replace('{ name: bb, pop: b, prefix: 10.102.0.0/24 }', '{ name: bb, pop: b }'))
    expect(issues).toHaveLength(1)
    expect(issues[0]).toMatchObject({ path: 'traffic.flows[1].client', fix: expect.stringContaining('give bb a prefix') })
  })
})
