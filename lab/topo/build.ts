/**
 * Builds a run's namespaces from its address plan: one `wan` router, one
 * namespace per PoP, client and origin, veths with addresses, routes, and
 * the policy rules that steer every packet arriving at the wan router from
 * a PoP or an origin into routing table 100, whose only route (added by the
 * emulator once its TUN is up) is the TUN device.
 */
import type { AddressPlan } from './addressing.js'
import { nsName } from './naming.js'
import { inNs, ip } from './sh.js'
import { saveState, type LabState } from './state.js'

export const EMULATOR_TABLE = 100
export const EMULATOR_RULE_PREF = 100

const SYSCTLS = [
  'net.ipv4.ip_forward=1',
  // The emulator writes transit packets back in on the TUN: a reverse-path check would drop them.
  'net.ipv4.conf.all.rp_filter=0',
  'net.ipv4.conf.default.rp_filter=0',
  // IPv6 router solicitations and MLD would only be noise on the links.
  'net.ipv6.conf.all.disable_ipv6=1',
  'net.ipv6.conf.default.disable_ipv6=1',
]

/**
 * Runs with IPv6 sites (addressing.ts): IPv6 on, forwarding on, and no
 * duplicate-address detection or router solicitations (addresses usable at
 * once, no noise). The `wan` router keeps it off: the WAN carries IPv4 only.
 */
const IPV6_SYSCTLS = [
  'net.ipv6.conf.all.disable_ipv6=0',
  'net.ipv6.conf.default.disable_ipv6=0',
  'net.ipv6.conf.all.forwarding=1',
  'net.ipv6.conf.all.accept_dad=0',
  'net.ipv6.conf.default.accept_dad=0',
  'net.ipv6.conf.all.router_solicitations=0',
  'net.ipv6.conf.default.router_solicitations=0',
]

export function buildTopology(state: LabState, plan: AddressPlan): void {
  const ns = (node: string): string => nsName(state.run, node)
  for (const n of plan.nodes) {
    ip(undefined, 'netns', 'add', ns(n.name))
    state.namespaces.push(ns(n.name))
    saveState(state)
    ip(ns(n.name), 'link', 'set', 'lo', 'up')
    inNs(ns(n.name), 'sysctl', '-q', '-w', ...SYSCTLS, ...(plan.ipv6 && n.role !== 'wan' ? IPV6_SYSCTLS : []))
  }
  for (const v of plan.veths) {
    ip(undefined, 'link', 'add', v.aIf, 'netns', ns(v.a), 'type', 'veth', 'peer', 'name', v.bIf, 'netns', ns(v.b))
    ip(ns(v.a), 'addr', 'add', v.aAddr, 'dev', v.aIf)
    ip(ns(v.b), 'addr', 'add', v.bAddr, 'dev', v.bIf)
    ip(ns(v.a), 'link', 'set', v.aIf, 'up')
    ip(ns(v.b), 'link', 'set', v.bIf, 'up')
  }
  for (const [origin, addr] of plan.originServiceAddr) ip(ns(origin), 'addr', 'add', `${addr}/32`, 'dev', 'lo')
  for (const a of plan.addrs) ip(ns(a.node), 'addr', 'add', a.addr, 'dev', a.dev, ...(a.flags ?? []))
  for (const [node, routes] of plan.routes) for (const r of routes) ip(ns(node), 'route', 'add', ...r)
  for (const dev of plan.wanIfs) ip(ns('wan'), 'rule', 'add', 'iif', dev, 'lookup', String(EMULATOR_TABLE), 'pref', String(EMULATOR_RULE_PREF))
}
