/**
 * Cross-field rules of a scenario: names refer to things that exist, the
 * WAN is a full mesh of directed PoP pairs (each defined once), events name
 * a pair and carry the fields their action needs.
 */
import type { ScenarioIssue } from './errors.js'
import { NETWORK_ACTIONS, ORIGIN_ACTIONS, RELAY_ACTIONS, type RawEvent, type RawScenario } from './schema.js'
import { LAB_NET6, prefixesOverlap } from './values.js'

/** Upper bound on the whole traffic phase, so a typo cannot run for hours. */
export const MAX_TRAFFIC_MS = 300_000

export function checkScenario(s: RawScenario): ScenarioIssue[] {
  const issues: ScenarioIssue[] = []
  const add = (path: string, message: string, fix: string): void => {
    issues.push({ path, message, fix })
  }
  const pops = new Set(s.pops)
  const nodes = new Map<string, string>()
  const unique = (n: string, path: string): void => {
    const seen = nodes.get(n)
    if (seen) add(path, `name "${n}" is already used at ${seen}`, 'give every PoP, client and origin its own name')
    else nodes.set(n, path)
  }
  s.pops.forEach((p, i) => unique(p, `pops[${i}]`))
  const popRef = (n: string, path: string): void => {
    if (!pops.has(n)) add(path, `"${n}" is not a PoP`, `use one of: ${s.pops.join(', ')}`)
  }
  s.clients.forEach((c, i) => {
    unique(c.name, `clients[${i}].name`)
    popRef(c.pop, `clients[${i}].pop`)
  })
  s.origins.forEach((o, i) => {
    unique(o.name, `origins[${i}].name`)
    popRef(o.wan_pop, `origins[${i}].wan_pop`)
    o.exits.forEach((e, j) => popRef(e, `origins[${i}].exits[${j}]`))
  })

  const defined = new Map<string, string>()
  s.wan.links.forEach((l, i) => {
    for (const [from, to] of endpoints(l, `wan.links[${i}]`, add, popRef)) {
      const key = `${from}>${to}`
      const seen = defined.get(key)
      if (seen) add(`wan.links[${i}]`, `${from} -> ${to} is already defined at ${seen}`, 'define each direction once (between: covers both)')
      else defined.set(key, `wan.links[${i}]`)
    }
  })
  const missing = s.pops.flatMap((a) => s.pops.filter((b) => b !== a && !defined.has(`${a}>${b}`)).map((b) => `${a} -> ${b}`))
  if (missing.length > 0 && issues.length === 0) {
    add('wan.links', `no delay for ${missing.slice(0, 6).join(', ')}${missing.length > 6 ? ` and ${missing.length - 6} more` : ''}`, 'add "- { between: [a, b], delay: 20ms }" or from/to entries: the WAN is a full mesh')
  }

  s.wan.links.forEach((l, i) => checkBurst(l.loss ?? s.wan.loss, l.burst, l.burst_loss, `wan.links[${i}]`, add))

  const relayEvents: { e: RawScenario['events'][number]; at: string }[] = []
  const originEvents: { e: RawScenario['events'][number]; at: string }[] = []
  s.events.forEach((e, i) => {
    const at = `events[${i}]`
    if (isRelayAction(e.action)) {
      relayEvents.push({ e, at })
      return
    }
    if (isOriginAction(e.action)) {
      originEvents.push({ e, at })
      return
    }
    if (e.pop !== undefined) add(`${at}.pop`, `${e.action} takes no pop`, 'name the link with from + to or between; pop is for kill and start')
    if (e.origin !== undefined || e.exit !== undefined) add(at, `${e.action} takes no origin/exit`, 'name the link with from + to or between; origin and exit are for cut-origin and restore-origin')
    endpoints(e, at, add, popRef)
    const values = e.delay !== undefined || e.factor !== undefined || e.jitter !== undefined || e.loss !== undefined || e.burst !== undefined || e.burst_loss !== undefined
    if (e.action === 'degrade' && !values) add(at, 'degrade changes nothing', 'set delay or factor, jitter, loss and/or burst')
    if (e.action !== 'degrade' && values) add(at, `${e.action} takes no delay/factor/jitter/loss/burst`, 'remove them, or use action: degrade')
    if (e.delay !== undefined && e.factor !== undefined) add(`${at}.factor`, 'both delay and factor', 'use delay (a new value) or factor (scales the delay in force), not both')
    if (e.action === 'degrade') checkBurst(e.loss, e.burst, e.burst_loss, at, add)
    const flapFields = e.period !== undefined || e.for !== undefined
    if (e.action === 'flap' && (e.period === undefined || e.for === undefined)) add(at, 'flap needs period and for', 'e.g. period: 400ms, for: 2s')
    if (e.action !== 'flap' && flapFields) add(at, 'period/for only apply to flap', 'remove them, or use action: flap')
  })
  checkRelayEvents(relayEvents, add, popRef, s.relays.network === 'signed')
  checkAddService(relayEvents, s, add)
  checkOriginEvents(originEvents, s, add)

  const clients = new Set(s.clients.map((c) => c.name))
  const origins = new Set(s.origins.map((o) => o.name))
  const flowNames = new Set<string>()
  let endMs = 0
  s.traffic.flows.forEach((f, i) => {
    const at = `traffic.flows[${i}]`
    if (flowNames.has(f.name)) add(`${at}.name`, `flow "${f.name}" is defined twice`, 'give each flow its own name')
    flowNames.add(f.name)
    if (!clients.has(f.client)) add(`${at}.client`, `"${f.client}" is not a client`, `use one of: ${[...clients].join(', ')}`)
    if (!origins.has(f.origin)) add(`${at}.origin`, `"${f.origin}" is not an origin`, `use one of: ${[...origins].join(', ')}`)
    endMs = Math.max(endMs, f.start + f.duration)
  })
  checkL3(s, add)
  if (endMs > MAX_TRAFFIC_MS) add('traffic.flows', `traffic runs for ${endMs / 1000} s`, `keep start + duration under ${MAX_TRAFFIC_MS / 1000} s`)
  return issues
}

type Add = (path: string, message: string, fix: string) => void

const isRelayAction = (a: string): boolean => (RELAY_ACTIONS as readonly string[]).includes(a)
const isOriginAction = (a: string): boolean => (ORIGIN_ACTIONS as readonly string[]).includes(a)

/** Fields a runner-side event must not carry, besides its own. */
const LINK_FIELDS = ['from', 'to', 'between', 'delay', 'factor', 'jitter', 'loss', 'burst', 'burst_loss', 'period', 'for'] as const

/**
 * cut-origin and restore-origin name an L4 origin and one of its exits and
 * nothing else; in time order, a leg is cut only while up and restored only
 * after a cut.
 */
function checkOriginEvents(list: { e: RawEvent; at: string }[], s: RawScenario, add: Add): void {
  const cutAt = new Map<string, string>()
  const ordered = list.map((x, i) => ({ ...x, i })).sort((a, b) => a.e.at - b.e.at || a.i - b.i)
  for (const { e, at } of ordered) {
    const extra = [...LINK_FIELDS, 'pop' as const].filter((k) => e[k] !== undefined)
    if (extra.length > 0) add(at, `${e.action} takes only at, origin and exit, not ${extra.join(', ')}`, 'remove them')
    if (e.origin === undefined || e.exit === undefined) {
      add(at, `${e.action} needs origin and exit`, 'e.g. origin: o-bos, exit: bos (one of the origin\'s exits)')
      continue
    }
    const o = s.origins.find((x) => x.name === e.origin)
    if (!o) {
      add(`${at}.origin`, `"${e.origin}" is not an origin`, `use one of: ${s.origins.map((x) => x.name).join(', ')}`)
      continue
    }
    if (o.prefix !== undefined) add(`${at}.origin`, `"${e.origin}" is an L3 data centre`, 'cut-origin works on L4 origins (a service address) only')
    if (!o.exits.includes(e.exit)) add(`${at}.exit`, `"${e.exit}" is not an exit of ${e.origin}`, `use one of: ${o.exits.join(', ')}`)
    const key = `${e.origin}/${e.exit}`
    const cut = cutAt.get(key)
    if (e.action === 'cut-origin' && cut) add(at, `the leg ${e.exit} -> ${e.origin} is already cut by ${cut}`, 'restore it first (action: restore-origin)')
    if (e.action === 'restore-origin' && !cut) add(at, `the leg ${e.exit} -> ${e.origin} is not cut at that time`, 'cut it first (action: cut-origin) at an earlier time')
    if (e.action === 'cut-origin') cutAt.set(key, at)
    else cutAt.delete(key)
  }
}

/**
 * A bursty link needs a loss to spread into bursts, below the loss inside a
 * burst (a chain that must always be bad is a cut). A degrade may set burst
 * without loss (it keeps the loss in force), so `lossPct` may be undefined.
 */
function checkBurst(lossPct: number | undefined, burst: number | undefined, burstLossPct: number | undefined, at: string, add: Add): void {
  if (burst === undefined) {
    if (burstLossPct !== undefined) add(`${at}.burst_loss`, 'burst_loss without burst', 'add burst (the mean burst length in packets), or remove burst_loss')
    return
  }
  if (lossPct === undefined) return
  const inBurst = burstLossPct ?? 100
  if (lossPct <= 0) add(`${at}.loss`, 'burst without loss', 'set loss (the long-run loss, e.g. 5%) next to burst')
  else if (lossPct >= inBurst) add(`${at}.loss`, `loss ${lossPct}% is not below the loss inside a burst (${inBurst}%)`, 'lower loss, or raise burst_loss (default 100%)')
}

/**
 * kill and start name a PoP and nothing else; in time order, a relay is
 * killed only while it runs and started only after a kill. The network
 * changes need `relays.network: signed`; a PoP that joins runs no relay
 * before its join, and one that is removed none after it.
 */
function checkRelayEvents(list: { e: RawEvent; at: string }[], add: Add, popRef: (n: string, p: string) => void, signed: boolean): void {
  const killedAt = new Map<string, string>()
  const ordered = list.map((x, i) => ({ ...x, i })).sort((a, b) => a.e.at - b.e.at || a.i - b.i)
  // A joining PoP is outside the network (no relay running) until its join.
  for (const { e, at } of ordered) if (e.action === 'join' && e.pop !== undefined && !killedAt.has(e.pop)) killedAt.set(e.pop, `${at} (not yet joined)`)
  for (const { e, at } of ordered) {
    const extra = [...LINK_FIELDS, 'origin' as const, 'exit' as const].filter((k) => e[k] !== undefined)
    if (extra.length > 0) add(at, `${e.action} takes only at and pop, not ${extra.join(', ')}`, 'remove them; a link change is a separate degrade/cut/restore/flap event')
    if (e.pop === undefined) {
      add(at, `${e.action} needs pop`, 'name the PoP whose relay to kill or start, e.g. pop: dal')
      continue
    }
    popRef(e.pop, `${at}.pop`)
    const network = (NETWORK_ACTIONS as readonly string[]).includes(e.action)
    if (network && !signed) add(`${at}.action`, `${e.action} is a signed network version`, 'set relays.network: signed')
    if (e.action === 'drop-data' || e.action === 'forward-data') continue
    const killed = killedAt.get(e.pop)
    if (e.action === 'join') {
      if (!killed?.endsWith('(not yet joined)')) add(at, `${e.pop} is already in the network at that time`, 'a PoP joins once, before any other event of its relay')
      killedAt.delete(e.pop)
      continue
    }
    if (network && e.action !== 'remove' && killed) add(at, `the relay of ${e.pop} is not running at that time (${killed})`, `move the ${e.action} to a time when it runs`)
    if (e.action === 'remove') {
      if (killed) add(at, `the relay of ${e.pop} is not running at that time (${killed})`, 'remove a running PoP')
      killedAt.set(e.pop, `${at} (removed)`)
      continue
    }
    if (network) continue
    if (e.action === 'kill' && killed) add(at, `the relay of ${e.pop} is already killed by ${killed}`, `start it again first (action: start, pop: ${e.pop})`)
    if (e.action === 'start' && !killed) add(at, `the relay of ${e.pop} is running at that time`, `kill it first (action: kill, pop: ${e.pop}) at an earlier time`)
    if (e.action === 'kill') killedAt.set(e.pop, at)
    else killedAt.delete(e.pop)
  }
}

/**
 * add-service clones the service of the first L4 flow entering at the PoP
 * (run/network-changes.ts), and a client there probes it: the PoP needs a
 * client with such a flow.
 */
function checkAddService(list: { e: RawEvent; at: string }[], s: RawScenario, add: Add): void {
  for (const { e, at } of list) {
    if (e.action !== 'add-service' || e.pop === undefined) continue
    const clients = new Set(s.clients.filter((c) => c.pop === e.pop && c.prefix === undefined).map((c) => c.name))
    const l4 = new Set(s.origins.filter((o) => o.prefix === undefined).map((o) => o.name))
    if (!s.traffic.flows.some((f) => clients.has(f.client) && l4.has(f.origin))) add(`${at}.pop`, `no L4 flow enters at ${e.pop}`, 'add-service adds a second service beside the one of a flow from a client at the PoP: pick a PoP with one')
  }
}

/** The lab's own address space: an L3 prefix inside it would be routed into the WAN. */
const LAB_NET = '198.18.0.0/15'

/**
 * L3 sites: prefixes are disjoint and outside the lab's own 198.18.0.0/15,
 * an IPv6 prefix comes with an IPv4 one, and a flow to an L3 data centre starts at an L3 branch (only a branch
 * host has an address inside a prefix the overlay carries).
 */
function checkL3(s: RawScenario, add: Add): void {
  const prefixes: { prefix: string; path: string }[] = []
  const collect = (x: { prefix?: string; prefix6?: string }, at: string): void => {
    if (x.prefix) prefixes.push({ prefix: x.prefix, path: `${at}.prefix` })
    if (x.prefix6) prefixes.push({ prefix: x.prefix6, path: `${at}.prefix6` })
    // The flows and probes of a site use its IPv4 host; IPv6 is carried in addition.
    if (x.prefix6 && !x.prefix) add(`${at}.prefix6`, 'an IPv6 prefix without an IPv4 prefix', 'add prefix (IPv4) too: the lab\'s flows use the IPv4 host, ping and the capture check both')
  }
  s.clients.forEach((c, i) => collect(c, `clients[${i}]`))
  s.origins.forEach((o, i) => collect(o, `origins[${i}]`))
  prefixes.forEach((p, i) => {
    if (prefixesOverlap(p.prefix, LAB_NET)) add(p.path, `${p.prefix} overlaps the lab's own ${LAB_NET}`, 'use a private prefix, e.g. 10.101.0.0/24')
    if (prefixesOverlap(p.prefix, LAB_NET6)) add(p.path, `${p.prefix} overlaps the lab's own ${LAB_NET6}`, 'use another unique-local prefix, e.g. fd00:101::/64')
    const other = prefixes.slice(0, i).find((q) => prefixesOverlap(p.prefix, q.prefix))
    if (other) add(p.path, `${p.prefix} overlaps ${other.prefix} at ${other.path}`, 'give every site and data centre its own prefix')
  })
  s.traffic.flows.forEach((f, i) => {
    const origin = s.origins.find((o) => o.name === f.origin)
    const client = s.clients.find((c) => c.name === f.client)
    if (origin?.prefix && client && !client.prefix) {
      add(`traffic.flows[${i}].client`, `"${f.client}" has no prefix, but "${f.origin}" is an L3 data centre`, `give ${f.client} a prefix (an L3 branch site), or send to an origin without one`)
    }
  })
}

/** The directed pairs an entry with from/to or between names; problems go to `add`. */
function endpoints(e: { from?: string; to?: string; between?: [string, string] }, at: string, add: Add, popRef: (n: string, p: string) => void): [string, string][] {
  const directed = e.from !== undefined || e.to !== undefined
  if (directed === (e.between !== undefined)) {
    add(at, directed ? 'has both from/to and between' : 'names no PoP pair', 'use either from + to (one direction) or between: [a, b] (both)')
    return []
  }
  if (e.between) {
    const [a, b] = e.between
    popRef(a, `${at}.between[0]`)
    popRef(b, `${at}.between[1]`)
    if (a === b) add(`${at}.between`, 'names the same PoP twice', 'name two different PoPs')
    return [[a, b], [b, a]]
  }
  if (e.from === undefined || e.to === undefined) {
    add(at, e.from === undefined ? 'has to but no from' : 'has from but no to', 'set both from and to')
    return []
  }
  popRef(e.from, `${at}.from`)
  popRef(e.to, `${at}.to`)
  if (e.from === e.to) add(`${at}.to`, 'is the same PoP as from', 'name two different PoPs')
  return [[e.from, e.to]]
}
