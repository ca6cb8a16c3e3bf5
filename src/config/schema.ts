/**
 * zod schemas for the YAML file, one per section, so each section (and each
 * peer and service) validates on its own: a broken peer does not hide the
 * problems of the others. Leaves are converted here (durations to ms,
 * addresses to HostPort, keys to bytes); cross-field rules live in semantic.ts.
 */
import { z } from 'zod'
import { DEFAULT_REKEY_AFTER_MS, DEFAULT_REKEY_AFTER_PACKETS } from '../crypto/secure-endpoint.js'
import { DEFAULT_LOSS_DOWN_AFTER, DEFAULT_PROBE_INTERVAL_MS, MAX_PROBE_INTERVAL_MS } from '../probe/prober.js'
import { PROFILE_NAMES } from '../route/profiles.js'
import { DEFAULT_FLOOD_INTERVAL_MS, DEFAULT_MAX_LOSS_PCT } from '../route/router.js'
import { MAX_PATH_RELAYS } from '../wire/data.js'
import { ID_PATTERN, parseKey, formatDurationMs, parseDurationMs, parseEndpoint, parseHostPort, parsePercent, type Parsed } from './values.js'

// Defaults and limits of behaviour owned elsewhere are defined there, once; the file format only applies them.
export { DEFAULT_REKEY_AFTER_MS, DEFAULT_REKEY_AFTER_PACKETS, DEFAULT_LOSS_DOWN_AFTER, DEFAULT_PROBE_INTERVAL_MS, MAX_PROBE_INTERVAL_MS }
export { DEFAULT_FLOOD_INTERVAL_MS, DEFAULT_MAX_LOSS_PCT, MAX_PATH_RELAYS }

export const DEFAULT_MTU = 1500
/** Workers per relay: one lane each, and the wire has 32 lanes (wire/outer.ts). */
export const MAX_WORKERS = 32
/** Addresses one relay may list (`endpoints:`). */
export const MAX_PEER_ENDPOINTS = 4
export const DEFAULT_FLOW_IDLE_TIMEOUT_MS = 30_000
export const DEFAULT_MAX_FLOWS = 65_536
export const MAX_MAX_FLOWS = 1 << 24
export const DEFAULT_HOP_LIMIT = 8
export const DEFAULT_HOP_COST_MS = 0
export const ORIGIN_PROBE_METHODS = ['twamp', 'icmp', 'none'] as const
export const FALLBACK_MODES = ['none', 'direct'] as const
/** TWAMP-Light's well-known port (RFC 5357). */
export const DEFAULT_TWAMP_PORT = 862
export const DEFAULT_ORIGIN_PROBE_INTERVAL_MS = 250
export const DEFAULT_ASSUMED_RTT_MS = 1
export const controlSocketFor = (id: string): string => `/run/overpass/${id}.sock`
/** Default state file, next to the config file it belongs to. */
export const stateFileFor = (id: string): string => `${id}.state.json`

/** A string leaf parsed by `parse`; its failure message goes into the issue. */
function parsedString<T>(parse: (s: string) => Parsed<T>, echoInput = true, numberHint?: string) {
  const str = z.string({ error: (iss) => (numberHint && typeof iss.input === 'number' ? numberHint : undefined) })
  return str.transform((text, ctx): T => {
    const r = parse(text)
    if (r.ok) return r.value
    // Keys are never echoed: the message may end up in logs.
    const message = echoInput ? `${JSON.stringify(text)}: ${r.error}` : r.error
    ctx.addIssue({ code: 'custom', message, input: text })
    return z.NEVER
  })
}

const id = z.string().refine((v) => ID_PATTERN.test(v), { message: 'is not a valid id' })
const NO_UNIT = 'has no unit; a bare number could mean ms or s'
const hostPort = parsedString(parseHostPort)
/** A peer's address: an IP literal or a DNS name, with a port. */
const endpointAddress = parsedString(parseEndpoint)
const duration = parsedString(parseDurationMs, true, NO_UNIT)
const key = parsedString(parseKey, false)

/** A duration whose bounds are quoted back with units ("must be from 10ms to 250ms"). */
function boundedDuration(minMs: number, maxMs: number) {
  const parse = (text: string): Parsed<number> => {
    const r = parseDurationMs(text, minMs === 0)
    if (r.ok && (r.value < minMs || r.value > maxMs)) {
      return { ok: false, error: `must be from ${formatDurationMs(minMs)} to ${formatDurationMs(maxMs)}` }
    }
    return r
  }
  return parsedString(parse, true, NO_UNIT)
}

/** "5%" or a number 0..100; any other type gets one plain message instead of a union error. */
const percent = z.unknown().transform((value, ctx): number => {
  const r = parsePercent(value)
  if (r.ok) return r.value
  ctx.addIssue({ code: 'custom', message: r.error, input: value })
  return z.NEVER
})
const int = (min: number, max: number) => z.number().int().min(min).max(max)
const relayPath = z.array(z.string())

export const topSchema = z.strictObject({
  relay: z.record(z.string(), z.unknown()),
  peers: z.array(z.unknown()).nullish(),
  services: z.array(z.unknown()).nullish(),
  tuning: z.record(z.string(), z.unknown()).nullish(),
  routing: z.record(z.string(), z.unknown()).nullish(),
  l3: z.record(z.string(), z.unknown()).nullish(),
  metrics: z.record(z.string(), z.unknown()).nullish(),
})

export const relaySchema = z.strictObject({
  id,
  private_key: key.optional(),
  private_key_file: z.string().min(1).optional(),
  listen: hostPort,
  control_socket: z.string().min(1).optional(),
  state_file: z.string().min(1).optional(),
  mtu: int(1280, 9000).default(DEFAULT_MTU),
  workers: int(1, MAX_WORKERS).default(1),
})

export const peerSchema = z
  .strictObject({
    id,
    public_key: key,
    /** The peer's Ed25519 key for map-column signatures (crypto/column-signing.ts). */
    sign_key: key,
    /** Key rotation (docs/operating.md, Rotating a relay's key): the new key pair's keys, accepted as well as the current ones. */
    next_public_key: key.optional(),
    next_sign_key: key.optional(),
    /** Exactly one of endpoint and endpoints (load.ts checks it: a refinement here would hide the shape). */
    endpoint: endpointAddress.optional(),
    /** Several addresses (two providers, IPv4 and IPv6): peers use one and fail over (dataplane/peer-endpoints.ts). */
    endpoints: z.array(endpointAddress).min(1).max(MAX_PEER_ENDPOINTS).optional(),
  })
  .refine((p) => (p.next_public_key === undefined) === (p.next_sign_key === undefined), {
    message: 'next_public_key and next_sign_key go together (both from the new key pair: overpass keygen)',
    path: ['next_sign_key'],
  })

export const ingressSchema = z.strictObject({
  relay: z.string(),
  listen: hostPort,
})

/**
 * Port and assumed_rtt stay optional here (defaults are applied in load.ts) so
 * semantic.ts can tell a field that was written for the wrong method.
 */
export const originProbeSchema = z.strictObject({
  method: z.enum(ORIGIN_PROBE_METHODS),
  port: int(1, 65535).optional(),
  interval: boundedDuration(10, 10_000).default(DEFAULT_ORIGIN_PROBE_INTERVAL_MS),
  assumed_rtt: boundedDuration(0, 10_000).optional(),
})

export const serviceSchema = z.strictObject({
  name: id,
  // An l3 service is validated by l3ServiceSchema (load.ts picks by mode).
  mode: z.literal('l4').default('l4'),
  ingress: z.array(ingressSchema).min(1),
  origin: hostPort,
  exits: z.array(z.string()).min(1),
  delivery: z.enum(['proxy', 'proxy-protocol']).default('proxy'),
  paths: z.array(relayPath).default([]),
  reply_paths: z.array(relayPath).optional(),
  flow_idle_timeout: duration.default(DEFAULT_FLOW_IDLE_TIMEOUT_MS),
  max_flows: int(1, MAX_MAX_FLOWS).default(DEFAULT_MAX_FLOWS),
  // Default derived from max_flows in dataplane/flow-admission.ts (prefixFlowLimit).
  max_flows_per_prefix: int(1, MAX_MAX_FLOWS).optional(),
  profile: z.enum(PROFILE_NAMES).default('latency'),
  redundant: z.boolean().default(false),
  origin_probe: originProbeSchema.optional(),
  // With no overlay path to any exit, the ingress sends the flow straight to the origin (dataplane/direct-fallback.ts).
  fallback: z.enum(FALLBACK_MODES).default('none'),
})

/** Longest Linux interface name (IFNAMSIZ 16 with the NUL). */
export const MAX_TUN_NAME_CHARS = 15
export const OVERSIZE_WITHOUT_DF = ['fragment', 'drop'] as const
/** Smallest TUN MTU accepted: every IPv4 host must take 576-byte datagrams (l3/mtu.ts). */
export const MIN_L3_MTU = 576

const tunName = z
  .string()
  .refine((v) => v.length >= 1 && v.length <= MAX_TUN_NAME_CHARS && v !== '.' && v !== '..' && !/[\s/:]/.test(v), {
    message: `is not a valid interface name (1-${MAX_TUN_NAME_CHARS} characters, no whitespace, "/" or ":")`,
  })

/** "auto" or a whole number of bytes; anything else gets one plain message instead of a union error. */
const l3Mtu = z.unknown().transform((value, ctx): number | 'auto' => {
  if (value === 'auto') return 'auto'
  if (typeof value === 'number' && Number.isInteger(value) && value >= MIN_L3_MTU && value <= 65535) return value
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is neither auto nor a whole number of bytes from ${MIN_L3_MTU}`, input: value })
  return z.NEVER
})

/** The relay's `l3:` section. Prefixes and addresses stay text here; config/l3.ts parses them with typed errors. */
export const l3Schema = z.strictObject({
  tun: tunName,
  mtu: l3Mtu.default('auto'),
  oversize_without_df: z.enum(OVERSIZE_WITHOUT_DF).default('fragment'),
  clamp_mss: z.boolean().default(true),
  address: z.union([z.string(), z.array(z.string()).min(1).max(2)]).optional(),
})

/** A `mode: l3` service: prefixes instead of ingress/origin; no delivery, reply paths or origin probe. */
export const l3ServiceSchema = z.strictObject({
  name: id,
  mode: z.literal('l3'),
  prefixes: z.array(z.string()).min(1),
  exits: z.array(z.string()).min(1),
  paths: z.array(relayPath).default([]),
  flow_idle_timeout: duration.default(DEFAULT_FLOW_IDLE_TIMEOUT_MS),
  max_flows: int(1, MAX_MAX_FLOWS).default(DEFAULT_MAX_FLOWS),
  profile: z.enum(PROFILE_NAMES).default('latency'),
  redundant: z.boolean().default(false),
})

export const tuningSchema = z.strictObject({
  rekey_after: duration.default(DEFAULT_REKEY_AFTER_MS),
  rekey_after_packets: int(1, Number.MAX_SAFE_INTEGER).default(DEFAULT_REKEY_AFTER_PACKETS),
  hop_limit: int(1, 255).default(DEFAULT_HOP_LIMIT),
})

export const routingSchema = z.strictObject({
  probe_interval: boundedDuration(10, MAX_PROBE_INTERVAL_MS).default(DEFAULT_PROBE_INTERVAL_MS),
  loss_down_after: int(1, 20).default(DEFAULT_LOSS_DOWN_AFTER),
  hop_cost: boundedDuration(0, 1000).default(DEFAULT_HOP_COST_MS),
  max_loss: percent.default(DEFAULT_MAX_LOSS_PCT),
  flood_interval: boundedDuration(100, 60_000).default(DEFAULT_FLOOD_INTERVAL_MS),
})

/**
 * The relay's `metrics:` section: one HTTP listener serving Prometheus text at
 * /metrics and, with status_page, a read-only status page (src/metrics/).
 * Absent means no listener.
 */
export const metricsSchema = z.strictObject({
  listen: hostPort,
  status_page: z.boolean().default(false),
})

export type RawRelay = z.output<typeof relaySchema>
export type RawPeer = z.output<typeof peerSchema>
export type RawService = z.output<typeof serviceSchema>
export type RawTuning = z.output<typeof tuningSchema>
export type RawRouting = z.output<typeof routingSchema>
export type RawOriginProbe = z.output<typeof originProbeSchema>
export type RawL3 = z.output<typeof l3Schema>
export type RawL3Service = z.output<typeof l3ServiceSchema>
export type RawMetrics = z.output<typeof metricsSchema>

/** Field names allowed at each (index-free) path, for "did you mean" on typos. */
export const KNOWN_FIELDS: Record<string, readonly string[]> = {
  '': Object.keys(topSchema.shape),
  relay: Object.keys(relaySchema.shape),
  'peers[]': Object.keys(peerSchema.shape),
  'services[]': [...new Set([...Object.keys(serviceSchema.shape), ...Object.keys(l3ServiceSchema.shape)])],
  'services[].ingress[]': Object.keys(ingressSchema.shape),
  'services[].origin_probe': Object.keys(originProbeSchema.shape),
  tuning: Object.keys(tuningSchema.shape),
  routing: Object.keys(routingSchema.shape),
  l3: Object.keys(l3Schema.shape),
  metrics: Object.keys(metricsSchema.shape),
}
