/**
 * zod schemas for the YAML file, one per section, so each section (and each
 * peer and service) validates on its own: a broken peer does not hide the
 * problems of the others. Leaves are converted here (durations to ms,
 * addresses to HostPort, keys to bytes); cross-field rules live in semantic.ts.
 */
import { z } from 'zod'
import { ID_PATTERN, decodeKey, parseDurationMs, parseHostPort, type Parsed } from './values.js'

export const DEFAULT_MTU = 1500
export const DEFAULT_FLOW_IDLE_TIMEOUT_MS = 30_000
export const DEFAULT_MAX_FLOWS = 65_536
export const MAX_MAX_FLOWS = 1 << 24
export const DEFAULT_REKEY_AFTER_MS = 120_000
/** 2^40 packets: far below the 2^64 counter space, frequent enough to bound key exposure. */
export const DEFAULT_REKEY_AFTER_PACKETS = 2 ** 40
export const DEFAULT_HOP_LIMIT = 8
/** Longest static path, in relays (ingress and exit included). */
export const MAX_PATH_RELAYS = 8
export const controlSocketFor = (id: string): string => `/run/overpass/${id}.sock`

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
const hostPort = parsedString(parseHostPort)
const duration = parsedString(parseDurationMs, true, 'has no unit; a bare number could mean ms or s')
const key = parsedString(decodeKey, false)
const int = (min: number, max: number) => z.number().int().min(min).max(max)
const relayPath = z.array(z.string())

export const topSchema = z.strictObject({
  relay: z.record(z.string(), z.unknown()),
  peers: z.array(z.unknown()).nullish(),
  services: z.array(z.unknown()).nullish(),
  tuning: z.record(z.string(), z.unknown()).nullish(),
})

export const relaySchema = z.strictObject({
  id,
  private_key: key.optional(),
  private_key_file: z.string().min(1).optional(),
  listen: hostPort,
  control_socket: z.string().min(1).optional(),
  mtu: int(1280, 9000).default(DEFAULT_MTU),
})

export const peerSchema = z.strictObject({
  id,
  public_key: key,
  endpoint: hostPort,
})

export const ingressSchema = z.strictObject({
  relay: z.string(),
  listen: hostPort,
})

export const serviceSchema = z.strictObject({
  name: id,
  mode: z.literal('l4').default('l4'),
  ingress: z.array(ingressSchema).min(1),
  origin: hostPort,
  exits: z.array(z.string()).min(1),
  delivery: z.enum(['proxy', 'proxy-protocol']).default('proxy'),
  paths: z.array(relayPath).default([]),
  reply_paths: z.array(relayPath).optional(),
  flow_idle_timeout: duration.default(DEFAULT_FLOW_IDLE_TIMEOUT_MS),
  max_flows: int(1, MAX_MAX_FLOWS).default(DEFAULT_MAX_FLOWS),
})

export const tuningSchema = z.strictObject({
  rekey_after: duration.default(DEFAULT_REKEY_AFTER_MS),
  rekey_after_packets: int(1, Number.MAX_SAFE_INTEGER).default(DEFAULT_REKEY_AFTER_PACKETS),
  hop_limit: int(1, 255).default(DEFAULT_HOP_LIMIT),
})

export type RawRelay = z.output<typeof relaySchema>
export type RawPeer = z.output<typeof peerSchema>
export type RawService = z.output<typeof serviceSchema>
export type RawTuning = z.output<typeof tuningSchema>

/** Field names allowed at each (index-free) path, for "did you mean" on typos. */
export const KNOWN_FIELDS: Record<string, readonly string[]> = {
  '': Object.keys(topSchema.shape),
  relay: Object.keys(relaySchema.shape),
  'peers[]': Object.keys(peerSchema.shape),
  'services[]': Object.keys(serviceSchema.shape),
  'services[].ingress[]': Object.keys(ingressSchema.shape),
  tuning: Object.keys(tuningSchema.shape),
}
