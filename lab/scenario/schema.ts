/**
 * zod schema of a scenario file. Shapes only; names that must refer to
 * something (a PoP, a client) and the full-mesh rule are checked in
 * semantic.ts so every problem is reported with its own path.
 */
import { z } from 'zod'
import { burstPackets, duration, factor, ipv4Prefix, ipv6Prefix, name, percent } from './values.js'

const pair = z.tuple([name, name])

export const linkSchema = z.strictObject({
  from: name.optional(),
  to: name.optional(),
  /** Shorthand for both directions with the same values. */
  between: pair.optional(),
  delay: duration,
  jitter: duration.optional(),
  loss: percent.optional(),
  /** Bursty loss: the mean length of a loss burst in packets (Gilbert-Elliott); absent: independent loss. */
  burst: burstPackets.optional(),
  /** Loss inside a burst (default 100%). */
  burst_loss: percent.optional(),
})

/** Link actions go to the WAN backend; relay actions (kill, start) to the runner. */
export const LINK_ACTIONS = ['degrade', 'cut', 'restore', 'flap'] as const
/** drop-data / forward-data: the PoP's relay drops (again forwards) the data it carries as a transit, still answering probes. */
/**
 * Network changes (relays.network: signed; run/network-changes.ts), each made
 * only through signed versions of the network file pushed to one member:
 * join (a new PoP bootstraps and is added), rotate-key, move-endpoint,
 * remove (then the PoP's relay is stopped), canary-cut (a version that cuts
 * its canary off, which must roll it back by itself), add-service (a
 * second service with its ingress at the PoP, which must host a client),
 * bad-canary (a version invalid for its canary, the PoP, which must refuse
 * it while every other relay holds it).
 */
export const NETWORK_ACTIONS = ['join', 'rotate-key', 'move-endpoint', 'remove', 'canary-cut', 'add-service', 'bad-canary'] as const
export const RELAY_ACTIONS = ['kill', 'start', 'drop-data', 'forward-data', ...NETWORK_ACTIONS] as const
/** An exit's origin leg (its CNI link to an origin): runner-side too. */
export const ORIGIN_ACTIONS = ['cut-origin', 'restore-origin'] as const

export const eventSchema = z.strictObject({
  at: duration,
  action: z.enum([...LINK_ACTIONS, ...RELAY_ACTIONS, ...ORIGIN_ACTIONS]),
  from: name.optional(),
  to: name.optional(),
  between: pair.optional(),
  /** kill/start: the PoP whose relay process is killed or started again. */
  pop: name.optional(),
  /** cut-origin/restore-origin: the origin and the exit whose leg to it fails or comes back. */
  origin: name.optional(),
  exit: name.optional(),
  delay: duration.optional(),
  /** degrade: multiply the delay in force by this (instead of setting `delay`). */
  factor: factor.optional(),
  jitter: duration.optional(),
  loss: percent.optional(),
  burst: burstPackets.optional(),
  burst_loss: percent.optional(),
  /** flap: one cut-and-restore cycle lasts `period`; flapping lasts `for`. */
  period: duration.optional(),
  for: duration.optional(),
})

/** A client with a `prefix` is an L3 branch site: a LAN behind its PoP's TUN; `prefix6` adds IPv6 to it. */
const clientSchema = z.strictObject({ name, pop: name, prefix: ipv4Prefix.optional(), prefix6: ipv6Prefix.optional() })
/** An origin with a `prefix` is an L3 data centre, reached over the exits' TUNs and CNI links; `prefix6` adds IPv6. */
const originSchema = z.strictObject({
  name,
  wan_pop: name,
  exits: z.array(name).min(1),
  port: z.number().int().min(1024).max(65535).default(9000),
  prefix: ipv4Prefix.optional(),
  prefix6: ipv6Prefix.optional(),
})
const flowSchema = z.strictObject({
  name,
  client: name,
  origin: name,
  profile: z.enum(['game', 'voip']),
  start: duration.default(0),
  duration,
})
const wanSchema = z.strictObject({
  jitter: duration.default(0),
  loss: percent.default(0),
  links: z.array(linkSchema).min(1),
})
const trafficSchema = z.strictObject({
  warmup: duration.default(4000),
  flows: z.array(flowSchema).min(1),
})
const relaysSchema = z.strictObject({
  origin_probe: z.enum(['none', 'twamp']).default('none'),
  /** Every service duplicates each datagram over two relay-disjoint paths (services[].redundant). */
  redundant: z.boolean().default(false),
  /** The exits' origin probe interval (services[].origin_probe.interval); default the relay's. */
  origin_probe_interval: duration.optional(),
  routing: z.record(z.string(), z.unknown()).default({}),
  /**
   * per-relay: one config file per relay (the default). signed: one network
   * file signed by an operator key plus a local file per relay, as
   * `overpass init` writes; needed by the network-change actions.
   */
  network: z.enum(['per-relay', 'signed']).default('per-relay'),
  /** signed: passed through to the network file's `tuning:` section (e.g. rekey_after). */
  tuning: z.record(z.string(), z.unknown()).default({}),
})

export const scenarioSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, { message: 'must be a lowercase id (letters, digits, - or _)' }),
  description: z.string().default(''),
  pops: z.array(name).min(2),
  clients: z.array(clientSchema).min(1),
  origins: z.array(originSchema).min(1),
  wan: wanSchema,
  events: z.array(eventSchema).default([]),
  traffic: trafficSchema,
  relays: relaysSchema.default({ origin_probe: 'none', redundant: false, routing: {}, network: 'per-relay', tuning: {} }),
})

export type RawScenario = z.output<typeof scenarioSchema>
export type RawLink = z.output<typeof linkSchema>
export type RawEvent = z.output<typeof eventSchema>

/** Fields allowed per place, for "did you mean" on unknown keys. */
export const KNOWN: Record<string, string[]> = {
  '': Object.keys(scenarioSchema.shape),
  'clients[]': Object.keys(clientSchema.shape),
  'origins[]': Object.keys(originSchema.shape),
  wan: Object.keys(wanSchema.shape),
  'wan.links[]': Object.keys(linkSchema.shape),
  traffic: Object.keys(trafficSchema.shape),
  'traffic.flows[]': Object.keys(flowSchema.shape),
  relays: Object.keys(relaysSchema.shape),
  'events[]': Object.keys(eventSchema.shape),
}
