/**
 * The address plan of a lab run, all inside 198.18.0.0/15 (RFC 2544
 * benchmarking space), one /24 per link so the WAN emulator can tell the
 * WAN position of any address from its /24 alone:
 *
 *              client ns ──198.19.K.0/24── PoP ns ──198.18.I.0/24── wan ns
 *                                           │                        │
 *                        CNI 198.19.(100+10M+J).0/24      198.18.(100+M).0/24
 *                                           │                        │
 *                                       origin ns ───────────────────┘
 *
 * PoP I's relay listens on 198.18.I.2; client K is 198.19.K.2; origin M
 * answers the direct path on 198.18.(100+M).2 (its WAN position is its
 * wan_pop) and the exits on its service address 198.19.(200+M).1, which
 * each exit PoP routes over its CNI veth, never through the WAN.
 *
 * L3 sites add addresses, not links: a branch client (one with a prefix)
 * also holds the prefix's .2 on its veth, its PoP the .1; an L3 origin (a
 * data centre) holds its prefix's .1 on lo. The branch host routes the DC
 * prefix to its PoP, each exit routes the DC prefix over its CNI veth, and
 * the DC routes each branch prefix to the CNI address of the exit with the
 * shortest one-way path back to that branch. The routes into the relays'
 * TUNs (`tunRoutes`) can only be added once the relays have created them.
 *
 * IPv6 (`prefix6`) rides the same IPv4 overlay: the branch LAN gets ::2
 * (its PoP ::1), the DC ::1 on lo, each CNI veth fdcc:M:J::1 / ::2, and the
 * same routes are added for the IPv6 prefixes. Only then is IPv6 enabled,
 * in every namespace but `wan`.
 */
import { hostOf } from '../scenario/values.js'
import type { Scenario } from '../scenario/index.js'
import { shortestPaths } from '../run/expected.js'

export interface NodePlan {
  /** Scenario name of the node (PoP, client or origin id), or 'wan'. */
  name: string
  role: 'wan' | 'pop' | 'client' | 'origin'
}

export interface Veth {
  /** Namespace node names and interface names at each end. */
  a: string
  aIf: string
  aAddr: string
  b: string
  bIf: string
  bAddr: string
}

export interface AddressPlan {
  nodes: NodePlan[]
  veths: Veth[]
  /** Per node: routes as `ip route add` argument lists. */
  routes: Map<string, string[][]>
  /** wan-ns interfaces whose inbound traffic goes through the emulator. */
  wanIfs: string[]
  /** PoP -> relay overlay address. */
  relayAddr: Map<string, string>
  /** Client -> its gateway on its PoP: where it reaches the PoP relay's services. */
  clientGateway: Map<string, string>
  clientAddr: Map<string, string>
  /** Origin -> address the direct (WAN) path reaches. */
  originWanAddr: Map<string, string>
  /** Origin -> address exits reach over CNI. */
  originServiceAddr: Map<string, string>
  /** /24 index ((addr >>> 8) & 0x1ff) -> index of the PoP whose WAN position it has. */
  positions: { subnet: number; pop: number }[]
  /** Addresses beyond the veths' own: L3 branch LANs and data-centre hosts (`flags`: e.g. nodad). */
  addrs: { node: string; dev: string; addr: string; flags?: string[] }[]
  /** L3 branch client -> its host address inside its prefix. */
  branchHostAddr: Map<string, string>
  /** L3 origin -> its data-centre host address inside its prefix. */
  dcHostAddr: Map<string, string>
  /** The same inside the IPv6 prefixes (`prefix6`). */
  branchHostAddr6: Map<string, string>
  dcHostAddr6: Map<string, string>
  /** Whether any site has an IPv6 prefix: IPv6 is then enabled in every namespace but `wan`. */
  ipv6: boolean
  /** L3 origin -> branch client -> the exit the DC sends that branch's replies to. */
  returnExit: Map<string, Map<string, string>>
  /** Per PoP: routes into its relay's TUN (`ip route add` arguments), added after the relay is up. */
  tunRoutes: Map<string, string[][]>
}

/** The TUN device of a PoP's relay in L3 mode (at most 15 bytes: PoP names have 12). */
export const tunName = (pop: string): string => `op3${pop}`

export const MAX_POPS = 100
export const MAX_CLIENTS = 100
export const MAX_ORIGINS = 9
export const MAX_EXITS_PER_ORIGIN = 10

/** The emulator's key for an address: its /24 within 198.18.0.0/15. */
export function subnetIndex(a: number, b: number, c: number): number {
  return ((a === 198 && b === 19 ? 0x100 : 0) + c) & 0x1ff
}

export function planAddresses(s: Scenario): AddressPlan {
  if (s.pops.length > MAX_POPS || s.clients.length > MAX_CLIENTS || s.origins.length > MAX_ORIGINS || s.origins.some((o) => o.exits.length > MAX_EXITS_PER_ORIGIN)) {
    throw new Error(`the lab address plan allows ${MAX_POPS} PoPs, ${MAX_CLIENTS} clients, ${MAX_ORIGINS} origins with ${MAX_EXITS_PER_ORIGIN} exits each`)
  }
  const popIndex = new Map(s.pops.map((p, i) => [p, i]))
  const plan: AddressPlan = {
    nodes: [{ name: 'wan', role: 'wan' }],
    veths: [],
    routes: new Map(),
    wanIfs: [],
    relayAddr: new Map(),
    clientGateway: new Map(),
    clientAddr: new Map(),
    originWanAddr: new Map(),
    originServiceAddr: new Map(),
    positions: [],
    addrs: [],
    branchHostAddr: new Map(),
    dcHostAddr: new Map(),
    branchHostAddr6: new Map(),
    dcHostAddr6: new Map(),
    ipv6: s.clients.some((c) => c.prefix6 !== undefined) || s.origins.some((o) => o.prefix6 !== undefined),
    returnExit: new Map(),
    tunRoutes: new Map(),
  }
  const route = (node: string, ...args: string[]): void => {
    const list = plan.routes.get(node) ?? []
    list.push(args)
    plan.routes.set(node, list)
  }
  s.pops.forEach((p, i) => {
    plan.nodes.push({ name: p, role: 'pop' })
    plan.veths.push({ a: 'wan', aIf: `p${i}`, aAddr: `198.18.${i}.1/24`, b: p, bIf: 'wan0', bAddr: `198.18.${i}.2/24` })
    plan.wanIfs.push(`p${i}`)
    plan.relayAddr.set(p, `198.18.${i}.2`)
    plan.positions.push({ subnet: subnetIndex(198, 18, i), pop: i })
    route(p, 'default', 'via', `198.18.${i}.1`)
  })
  s.clients.forEach((c, k) => {
    const pop = popIndex.get(c.pop)!
    plan.nodes.push({ name: c.name, role: 'client' })
    plan.veths.push({ a: c.pop, aIf: `c${k}`, aAddr: `198.19.${k}.1/24`, b: c.name, bIf: 'eth0', bAddr: `198.19.${k}.2/24` })
    plan.clientAddr.set(c.name, `198.19.${k}.2`)
    plan.clientGateway.set(c.name, `198.19.${k}.1`)
    plan.positions.push({ subnet: subnetIndex(198, 19, k), pop })
    route(c.name, 'default', 'via', `198.19.${k}.1`)
    route('wan', `198.19.${k}.0/24`, 'via', `198.18.${pop}.2`)
  })
  s.origins.forEach((o, m) => {
    plan.nodes.push({ name: o.name, role: 'origin' })
    plan.veths.push({ a: 'wan', aIf: `o${m}`, aAddr: `198.18.${100 + m}.1/24`, b: o.name, bIf: 'wan0', bAddr: `198.18.${100 + m}.2/24` })
    plan.wanIfs.push(`o${m}`)
    plan.originWanAddr.set(o.name, `198.18.${100 + m}.2`)
    plan.originServiceAddr.set(o.name, `198.19.${200 + m}.1`)
    plan.positions.push({ subnet: subnetIndex(198, 18, 100 + m), pop: popIndex.get(o.wanPop)! })
    route(o.name, 'default', 'via', `198.18.${100 + m}.1`)
    o.exits.forEach((e, j) => {
      const net = `198.19.${100 + 10 * m + j}`
      plan.veths.push({ a: e, aIf: `x${m}`, aAddr: `${net}.1/24`, b: o.name, bIf: `x${j}`, bAddr: `${net}.2/24` })
      route(e, `198.19.${200 + m}.1/32`, 'via', `${net}.2`)
      if (o.prefix) route(e, o.prefix, 'via', `${net}.2`)
    })
  })
  planL3(s, plan, route)
  return plan
}

/** The CNI veth of origin m's j-th exit in IPv6: fdcc:M:J::1 at the exit, ::2 at the origin. */
export const cni6 = (m: number, j: number, end: 1 | 2): string => `fdcc:${m}:${j}::${end}` // inside LAB_NET6

/** The L3 sites' addresses and routes (nothing when the scenario has no prefixes). */
function planL3(s: Scenario, plan: AddressPlan, route: (node: string, ...args: string[]) => void): void {
  const branches = s.clients.filter((c) => c.prefix !== undefined)
  const dcs = s.origins.filter((o) => o.prefix !== undefined)
  if (branches.length === 0 || dcs.length === 0) return
  const sp = shortestPaths(s)
  const tunRoute = (pop: string, prefix: string): void => {
    const list = plan.tunRoutes.get(pop) ?? []
    if (!list.some((r) => r[0] === prefix)) list.push([prefix, 'dev', tunName(pop)])
    plan.tunRoutes.set(pop, list)
  }
  // Each family the same way: `pick` gives a node's prefix of that family, `hosts` records the host addresses.
  const family = (pick: (x: { prefix?: string; prefix6?: string }) => string | undefined, v6: boolean): void => {
    const flags = v6 ? ['nodad'] : undefined
    const cniAddr = (m: number, j: number, end: 1 | 2): string => (v6 ? cni6(m, j, end) : `198.19.${100 + 10 * m + j}.${end}`)
    for (const c of branches) {
      const cp = pick(c)
      if (cp === undefined) continue
      const k = s.clients.indexOf(c)
      const host = hostOf(cp, 2)
      const gw = hostOf(cp, 1)
      const len = cp.split('/')[1]
      ;(v6 ? plan.branchHostAddr6 : plan.branchHostAddr).set(c.name, host)
      plan.addrs.push({ node: c.name, dev: 'eth0', addr: `${host}/${len}`, flags }, { node: c.pop, dev: `c${k}`, addr: `${gw}/${len}`, flags })
      for (const o of dcs) {
        const op = pick(o)
        if (op === undefined) continue
        route(c.name, op, 'via', gw, 'src', host)
        // A branch at one of the DC's exits reaches it over that exit's CNI link, not the overlay.
        if (!o.exits.includes(c.pop)) tunRoute(c.pop, op)
      }
    }
    for (const o of dcs) {
      const op = pick(o)
      if (op === undefined) continue
      const m = s.origins.indexOf(o)
      const dcHost = hostOf(op, 1)
      ;(v6 ? plan.dcHostAddr6 : plan.dcHostAddr).set(o.name, dcHost)
      plan.addrs.push({ node: o.name, dev: 'lo', addr: `${dcHost}/${v6 ? 128 : 32}`, flags })
      if (v6) {
        o.exits.forEach((e, j) => {
          plan.addrs.push({ node: e, dev: `x${m}`, addr: `${cni6(m, j, 1)}/64`, flags }, { node: o.name, dev: `x${j}`, addr: `${cni6(m, j, 2)}/64`, flags })
          route(e, op, 'via', cni6(m, j, 2))
        })
      }
      const back = plan.returnExit.get(o.name) ?? new Map<string, string>()
      for (const c of branches) {
        const cp = pick(c)
        if (cp === undefined) continue
        const exit = [...o.exits].sort((a, b) => sp.ms(a, c.pop) - sp.ms(b, c.pop))[0]
        back.set(c.name, exit)
        route(o.name, cp, 'via', cniAddr(m, o.exits.indexOf(exit), 1))
        for (const e of o.exits) if (e !== c.pop) tunRoute(e, cp)
      }
      plan.returnExit.set(o.name, back)
    }
  }
  family((x) => x.prefix, false)
  family((x) => x.prefix6, true)
}
