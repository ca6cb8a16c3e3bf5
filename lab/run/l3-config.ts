/**
 * The L3 part of a lab relay's config (docs/l3-mode.md): every relay of a
 * run with L3 sites owns a TUN (`op3<pop>`), and every relay file carries
 * the same `mode: l3` services: one per data centre (its IPv4 and IPv6 prefixes, its exits)
 * and one per branch site (its prefixes, its PoP as the only exit, which is
 * where the DC's replies are delivered).
 */
import type { RenderL3, RenderService } from '../../src/config/render.js'
import type { Scenario } from '../scenario/index.js'
import { tunName } from '../topo/addressing.js'

export interface L3Service extends RenderService {
  name: string
  mode: 'l3'
  prefixes: string[]
  exits: string[]
  profile: 'latency' | 'gaming' | 'rtc'
}

/** Whether the scenario has L3 traffic: a flow from a branch site to a data centre. */
export function hasL3(s: Scenario): boolean {
  return s.flows.some((f) => isL3Flow(s, f.client, f.origin))
}

export function isL3Flow(s: Scenario, client: string, origin: string): boolean {
  return s.clients.find((c) => c.name === client)?.prefix !== undefined && s.origins.find((o) => o.name === origin)?.prefix !== undefined
}

export function l3Services(s: Scenario): L3Service[] {
  const profileOf = (flows: Scenario['flows']): L3Service['profile'] => (flows.some((f) => f.profile === 'voip') ? 'rtc' : 'gaming')
  const dcs = s.origins.filter((o) => o.prefix !== undefined).map((o): L3Service => ({
    name: o.name, mode: 'l3', prefixes: withV6(o.prefix!, o.prefix6), exits: o.exits, profile: profileOf(s.flows.filter((f) => f.origin === o.name)),
  }))
  const sites = s.clients.filter((c) => c.prefix !== undefined).map((c): L3Service => ({
    name: c.name, mode: 'l3', prefixes: withV6(c.prefix!, c.prefix6), exits: [c.pop], profile: profileOf(s.flows.filter((f) => f.client === c.name)),
  }))
  return [...dcs, ...sites]
}

const withV6 = (v4: string, v6: string | undefined): string[] => (v6 === undefined ? [v4] : [v4, v6])

/** The relay's `l3:` section. */
export function l3Section(pop: string): RenderL3 {
  return { tun: tunName(pop), mtu: 'auto', oversize_without_df: 'fragment' }
}
