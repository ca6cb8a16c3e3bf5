/** The L3 part of the lab's address plan and relay configs (pure: no root needed). */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import { writeRelayConfigs } from '../../lab/run/relays.js'
import type { LabRun } from '../../lab/topo/up.js'
import { loadScenario } from '../../lab/scenario/index.js'
import { planAddresses } from '../../lab/topo/addressing.js'
import { expectedFor } from '../../lab/run/expected.js'
import { hasL3, l3Services } from '../../lab/run/l3-config.js'
import { countSources } from '../../lab/run/l3-capture.js'
import { parseIperf, parsePing } from '../../lab/run/l3-probes.js'

const s = loadScenario('lab/scenarios/sites.yaml')
const plan = planAddresses(s)
const routes = (node: string): string[] => (plan.routes.get(node) ?? []).map((r) => r.join(' '))

describe('sites scenario: L3 address plan', () => {
  it('puts each branch host in its prefix, routed to its PoP with its own source address', () => {
    expect(plan.branchHostAddr.get('b-lax')).toBe('10.101.0.2')
    expect(plan.addrs).toContainEqual({ node: 'lax', dev: 'c0', addr: '10.101.0.1/24' })
    expect(routes('b-lax')).toContain('10.200.0.0/24 via 10.101.0.1 src 10.101.0.2')
  })

  it('routes the DC prefix over each exit\'s CNI link and the branch prefixes into the exits\' TUNs', () => {
    expect(routes('dal')).toContain('10.200.0.0/24 via 198.19.100.2')
    expect(routes('atl')).toContain('10.200.0.0/24 via 198.19.101.2')
    expect(plan.tunRoutes.get('dal')!.map((r) => r.join(' '))).toEqual([
      '10.101.0.0/24 dev op3dal', '10.102.0.0/24 dev op3dal', '10.103.0.0/24 dev op3dal',
      'fd00:101::/64 dev op3dal', 'fd00:102::/64 dev op3dal', 'fd00:103::/64 dev op3dal',
    ])
    expect(plan.tunRoutes.get('lax')!.map((r) => r.join(' '))).toEqual(['10.200.0.0/24 dev op3lax', 'fd00:200::/64 dev op3lax'])
    expect(plan.tunRoutes.get('chi')!.map((r) => r.join(' '))).toEqual(['10.200.0.0/24 dev op3chi', 'fd00:200::/64 dev op3chi'])
  })

  it('gives IPv6 the same plan: hosts, CNI addresses, routes and return exits, with no DAD delay', () => {
    expect(plan.ipv6).toBe(true)
    expect(plan.branchHostAddr6.get('b-lax')).toBe('fd00:101::2')
    expect(plan.dcHostAddr6.get('dc')).toBe('fd00:200::1')
    expect(plan.addrs).toContainEqual({ node: 'lax', dev: 'c0', addr: 'fd00:101::1/64', flags: ['nodad'] })
    expect(plan.addrs).toContainEqual({ node: 'dal', dev: 'x0', addr: 'fdcc:0:0::1/64', flags: ['nodad'] })
    expect(plan.addrs).toContainEqual({ node: 'dc', dev: 'x1', addr: 'fdcc:0:1::2/64', flags: ['nodad'] })
    expect(routes('b-lax')).toContain('fd00:200::/64 via fd00:101::1 src fd00:101::2')
    expect(routes('dal')).toContain('fd00:200::/64 via fdcc:0:0::2')
    for (const c of ['b-lax', 'b-sea', 'b-chi']) {
      const exit = plan.returnExit.get('dc')!.get(c)!
      const cni = exit === 'dal' ? 'fdcc:0:0::1' : 'fdcc:0:1::1'
      expect(routes('dc')).toContain(`${s.clients.find((x) => x.name === c)!.prefix6} via ${cni}`)
    }
  })

  it('sends each branch\'s replies to the exit with the shortest one-way path back to it', () => {
    for (const c of ['b-lax', 'b-sea', 'b-chi']) {
      const exit = plan.returnExit.get('dc')!.get(c)!
      expect(exit).toBe(expectedFor(s, c, 'dc').bestReversePath[0])
      const cni = exit === 'dal' ? '198.19.100.1' : '198.19.101.1'
      expect(routes('dc')).toContain(`${s.clients.find((x) => x.name === c)!.prefix} via ${cni}`)
    }
  })

  it('has a branch whose fastest path to the DC is a detour through another PoP', () => {
    const e = expectedFor(s, 'b-lax', 'dc')
    expect(e.bestForwardPath).toEqual(['lax', 'sea', 'dal'])
    expect(e.bestForwardMs).toBeLessThan(e.directForwardMs - 10)
  })

  it('leaves L4-only scenarios without L3 addresses or routes', () => {
    const p = planAddresses(loadScenario('lab/scenarios/us-sites.yaml'))
    expect(p.addrs).toEqual([])
    expect(p.tunRoutes.size).toBe(0)
  })
})

describe('sites scenario: L3 relay services', () => {
  it('makes one mode: l3 service per DC and per branch (IPv4 and IPv6 prefixes), the branch PoP as its exit', () => {
    expect(hasL3(s)).toBe(true)
    expect(l3Services(s)).toEqual([
      { name: 'dc', mode: 'l3', prefixes: ['10.200.0.0/24', 'fd00:200::/64'], exits: ['dal', 'atl'], profile: 'gaming' },
      { name: 'b-lax', mode: 'l3', prefixes: ['10.101.0.0/24', 'fd00:101::/64'], exits: ['lax'], profile: 'gaming' },
      { name: 'b-sea', mode: 'l3', prefixes: ['10.102.0.0/24', 'fd00:102::/64'], exits: ['sea'], profile: 'gaming' },
      { name: 'b-chi', mode: 'l3', prefixes: ['10.103.0.0/24', 'fd00:103::/64'], exits: ['chi'], profile: 'gaming' },
    ])
  })
})

describe('sites scenario: relay configs', () => {
  it('renders relay files that the config loader accepts, each with a TUN and the L3 services', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'op-sites-'))
    try {
      const lab = { scenario: s, plan, state: { run: 'op0000', dir }, ns: (n: string) => n } as unknown as LabRun
      const files = writeRelayConfigs(lab)
      expect([...files.keys()]).toEqual(s.pops)
      for (const [pop, file] of files) {
        const cfg = parseConfig(readFileSync(file, 'utf8'), { sourcePath: file })
        expect(cfg.l3?.tun).toBe(`op3${pop}`)
        expect(cfg.services.map((x) => `${x.name}:${x.mode}`)).toEqual(['dc:l3', 'b-lax:l3', 'b-sea:l3', 'b-chi:l3'])
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('the DC capture count', () => {
  it('counts IPv6 sources from the ipv6 columns, with ICMPv6 by name', () => {
    const text = '\t\tfd00:101::2\t58\n\t\tfd00:101::2\t6\n10.101.0.2\t1\t\t\n\t\tfdcc:0:0::1\t58\n'
    const r = countSources(text, new Set(['fd00:101::2', '10.101.0.2']))
    expect(r.packets).toBe(4)
    expect(r.sources).toContainEqual({ addr: 'fd00:101::2', packets: 2, protos: { icmpv6: 1, tcp: 1 } })
    expect(r.sources).toContainEqual({ addr: '10.101.0.2', packets: 1, protos: { icmp: 1 } })
    expect(r.foreign).toEqual([{ addr: 'fdcc:0:0::1', packets: 1, protos: { icmpv6: 1 } }])
  })

  it('splits captured sources into branch hosts and anything else, per protocol', () => {
    const text = '10.101.0.2\t1\n10.101.0.2\t6\n10.101.0.2\t17\n198.18.3.2\t17\n\n10.102.0.2\t6\n'
    const c = countSources(text, new Set(['10.101.0.2', '10.102.0.2']))
    expect(c.packets).toBe(5)
    expect(c.sources).toEqual([
      { addr: '10.101.0.2', packets: 3, protos: { icmp: 1, tcp: 1, udp: 1 } },
      { addr: '10.102.0.2', packets: 1, protos: { tcp: 1 } },
    ])
    expect(c.foreign).toEqual([{ addr: '198.18.3.2', packets: 1, protos: { udp: 1 } }])
  })

  it('reads ping and iperf3 summaries', () => {
    expect(parsePing('10 packets transmitted, 9 received, 10% packet loss, time 1802ms\nrtt min/avg/max/mdev = 56.1/57.2/60.3/1.1 ms\n')).toEqual({ sent: 10, received: 9, rtt_min_ms: 56.1, rtt_avg_ms: 57.2, rtt_max_ms: 60.3 })
    expect(parseIperf('{"error":"unable to connect to server"}', 1)).toEqual({ bytes: 0, error: 'unable to connect to server' })
    expect(parseIperf('', null)).toMatchObject({ error: 'iperf3 timed out' })
  })
})
