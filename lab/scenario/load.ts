/**
 * Scenario YAML → Scenario. Stages: YAML syntax, zod shapes, cross-field
 * rules, then normalisation (symmetric links split into two directions,
 * flaps expanded into cuts and restores, events sorted by time).
 */
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { ScenarioError } from './errors.js'
import { scenarioSchema, type RawEvent, type RawScenario } from './schema.js'
import { checkScenario } from './semantic.js'
import { ORIGIN_ACTIONS, RELAY_ACTIONS } from './schema.js'
import type { DirectedLink, LinkEvent, OriginEvent, RelayEvent, Scenario } from './types.js'
import { fromZod } from './zod-issues.js'

export function loadScenario(file: string): Scenario {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ScenarioError([{ path: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, fix: 'check the path, e.g. lab/scenarios/us-sites.yaml' }], file)
  }
  return parseScenario(text, file)
}

export function parseScenario(text: string, sourcePath?: string): Scenario {
  let doc: unknown
  try {
    doc = parse(text)
  } catch (err) {
    throw new ScenarioError([{ path: '', message: `YAML syntax error: ${(err as Error).message.split('\n')[0]}`, fix: 'fix the YAML syntax' }], sourcePath)
  }
  const r = scenarioSchema.safeParse(doc ?? {})
  if (!r.success) throw new ScenarioError(fromZod(r.error.issues), sourcePath)
  const issues = checkScenario(r.data)
  if (issues.length > 0) throw new ScenarioError(issues, sourcePath)
  return normalise(r.data)
}

function normalise(s: RawScenario): Scenario {
  const links: DirectedLink[] = []
  for (const l of s.wan.links) {
    const dirs: [string, string][] = l.between ? [l.between, [l.between[1], l.between[0]]] : [[l.from!, l.to!]]
    const burst = l.burst !== undefined ? { burstPackets: l.burst, ...(l.burst_loss !== undefined ? { burstLossPct: l.burst_loss } : {}) } : {}
    for (const [from, to] of dirs) links.push({ from, to, delayMs: l.delay, jitterMs: l.jitter ?? s.wan.jitter, lossPct: l.loss ?? s.wan.loss, down: false, ...burst })
  }
  return {
    name: s.name,
    description: s.description,
    pops: s.pops,
    clients: s.clients.map((c) => ({ name: c.name, pop: c.pop, ...(c.prefix ? { prefix: c.prefix } : {}), ...(c.prefix6 ? { prefix6: c.prefix6 } : {}) })),
    origins: s.origins.map((o) => ({ name: o.name, wanPop: o.wan_pop, exits: o.exits, port: o.port, ...(o.prefix ? { prefix: o.prefix } : {}), ...(o.prefix6 ? { prefix6: o.prefix6 } : {}) })),
    links,
    events: s.events.filter((e) => isLinkAction(e.action)).flatMap(expandEvent).sort((a, b) => a.atMs - b.atMs),
    relayEvents: s.events.filter((e) => isRelayAction(e.action)).map((e): RelayEvent => ({ atMs: e.at, pop: e.pop!, action: e.action as RelayEvent['action'] })).sort((a, b) => a.atMs - b.atMs),
    originEvents: s.events.filter((e) => isOriginAction(e.action)).map((e): OriginEvent => ({ atMs: e.at, origin: e.origin!, exit: e.exit!, action: e.action === 'cut-origin' ? 'cut' : 'restore' })).sort((a, b) => a.atMs - b.atMs),
    warmupMs: s.traffic.warmup,
    flows: s.traffic.flows.map((f) => ({ name: f.name, client: f.client, origin: f.origin, profile: f.profile, startMs: f.start, durationMs: f.duration })),
    routing: s.relays.routing,
    originProbe: s.relays.origin_probe,
    redundant: s.relays.redundant,
    network: s.relays.network,
    tuning: s.relays.tuning,
    ...(s.relays.origin_probe_interval !== undefined ? { originProbeIntervalMs: s.relays.origin_probe_interval } : {}),
  }
}

const isRelayAction = (a: string): boolean => (RELAY_ACTIONS as readonly string[]).includes(a)
const isOriginAction = (a: string): boolean => (ORIGIN_ACTIONS as readonly string[]).includes(a)
const isLinkAction = (a: string): boolean => !isRelayAction(a) && !isOriginAction(a)

function expandEvent(e: RawEvent): LinkEvent[] {
  const pairs: [string, string][] = e.between ? [e.between, [e.between[1], e.between[0]]] : [[e.from!, e.to!]]
  const out: LinkEvent[] = []
  for (const [from, to] of pairs) {
    if (e.action === 'flap') {
      // Down for the first half of each period, up for the second; ends up.
      const period = e.period!
      for (let t = 0; t < e.for!; t += period) {
        out.push({ atMs: e.at + t, from, to, action: 'cut' })
        out.push({ atMs: e.at + t + period / 2, from, to, action: 'restore' })
      }
      continue
    }
    if (e.action === 'degrade') {
      const set = {
        ...(e.delay !== undefined ? { delayMs: e.delay } : {}),
        ...(e.jitter !== undefined ? { jitterMs: e.jitter } : {}),
        ...(e.loss !== undefined ? { lossPct: e.loss } : {}),
        ...(e.burst !== undefined ? { burstPackets: e.burst } : {}),
        ...(e.burst_loss !== undefined ? { burstLossPct: e.burst_loss } : {}),
      }
      out.push({ atMs: e.at, from, to, action: 'degrade', ...(Object.keys(set).length > 0 ? { set } : {}), ...(e.factor !== undefined ? { delayFactor: e.factor } : {}) })
      continue
    }
    out.push({ atMs: e.at, from, to, action: e.action as 'cut' | 'restore' })
  }
  return out
}
