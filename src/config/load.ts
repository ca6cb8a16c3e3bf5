/**
 * YAML text → RelayConfig. Stages: YAML syntax, top-level shape, each section
 * and list entry on its own (zod), key resolution, then cross-field rules.
 * Every stage that can run does, and all issues are thrown together in one
 * ConfigError with line numbers where the YAML node can be found.
 */
import { assertOwnerOnly, readFileWithMode } from './file-mode.js'
import { dirname, isAbsolute, resolve } from 'node:path'
import { LineCounter, parseDocument, type Document } from 'yaml'
import type { z } from 'zod'
import { ConfigError, parsePath, type ConfigIssue, type PathSegment } from './errors.js'
import {
  DEFAULT_ASSUMED_RTT_MS,
  DEFAULT_ORIGIN_PROBE_INTERVAL_MS,
  DEFAULT_TWAMP_PORT,
  controlSocketFor,
  stateFileFor,
  l3Schema,
  l3ServiceSchema,
  metricsSchema,
  peerSchema,
  relaySchema,
  routingSchema,
  serviceSchema,
  topSchema,
  tuningSchema,
  type RawPeer,
  type RawL3Service,
  type RawOriginProbe,
  type RawRelay,
  type RawRouting,
  type RawService,
  type RawTuning,
} from './schema.js'
import { isIPv6 } from 'node:net'
import { parsePrefix } from '../l3/prefix.js'
import { checkL3, normaliseL3 } from './l3.js'
import { fixFor } from './fixes.js'
import { checkSemantics, type Indexed, type SemanticService } from './semantic.js'
import type { OriginProbeConfig, PeerConfig, RelayConfig, RelayIdentity, RoutingConfig, ServiceConfig } from './types.js'
import { parseKey, extractPrivateKeyText, publicKeyOf } from './values.js'
import { fromZodIssues } from './zod-issues.js'
import { NETWORK_FILE_GIVEN, isLocalFile, isNetworkFile, loadLocal } from './local-file.js'

export interface ParseOptions {
  /** Shown in messages and stored in RelayConfig.sourcePath. */
  sourcePath?: string
  /** Base for relative private_key_file, control_socket and state_file paths; default dirname(sourcePath) or cwd. */
  baseDir?: string
  /**
   * Permission bits of the file the text was read from (loadConfig sets it).
   * With `private_key` inline, a file that group or others can read is
   * refused (InsecureFileModeError), as a key file is.
   */
  sourceMode?: number
}

export function loadConfig(path: string, options: Omit<ParseOptions, 'sourcePath' | 'sourceMode'> = {}): RelayConfig {
  let file: { text: string; mode: number }
  try {
    file = readFileWithMode(path)
  } catch (err) {
    const message = `cannot read config file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`
    throw new ConfigError([{ path: '', message, fix: 'check the path given with -c' }], path)
  }
  return parseConfig(file.text, { ...options, sourcePath: path, sourceMode: file.mode, baseDir: options.baseDir ?? dirname(resolve(path)) })
}

export function parseConfig(text: string, options: ParseOptions = {}): RelayConfig {
  const { sourcePath } = options
  const baseDir = options.baseDir ?? (sourcePath ? dirname(resolve(sourcePath)) : process.cwd())

  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines })
  if (doc.errors.length > 0) throw new ConfigError(doc.errors.map(syntaxIssue), sourcePath)

  const raw: unknown = doc.toJS({ maxAliasCount: 100 })
  // A local file names a signed network file (local-file.ts); the two compose into this same shape.
  if (isLocalFile(raw)) return loadLocal(raw, doc, lines, { ...options, baseDir })
  if (isNetworkFile(raw)) throw new ConfigError([NETWORK_FILE_GIVEN], sourcePath)
  try {
    return validateRaw(raw, { ...options, baseDir })
  } catch (err) {
    if (!(err instanceof ConfigError) || err.name !== 'ConfigError') throw err
    throw new ConfigError(err.issues.map((i) => withLine(i, doc, lines)), sourcePath)
  }
}

/**
 * The one-file shape as a plain object → RelayConfig, or a ConfigError
 * without line numbers (the caller knows the documents: parseConfig, or
 * local-file.ts, which composes this shape from a local and a network file).
 */
export function validateRaw(raw: unknown, options: ParseOptions & { baseDir: string }): RelayConfig {
  const { sourcePath, baseDir } = options
  const issues: ConfigIssue[] = []
  // The top-level check reports shape problems; sections are then validated
  // from the raw values anyway, so a typo in one key does not hide the rest.
  section(topSchema, raw ?? {}, [], issues)
  const top = isMapping(raw) ? raw : {}
  const rawRelay = isMapping(top.relay) ? top.relay : undefined
  const relay = rawRelay && section(relaySchema, rawRelay, ['relay'], issues)
  const privateKey = rawRelay && resolvePrivateKey(rawRelay, relay, baseDir, issues, options)
  const peerList = Array.isArray(top.peers) ? top.peers : []
  const peers = peerList.map((p, i) => oneEndpointField(entry(peerSchema, p, ['peers', i], issues), issues))
  const serviceList = Array.isArray(top.services) ? top.services : []
  const services: (Indexed<RawService | RawL3Service> | undefined)[] = serviceList.map((s, i) =>
    isL3(s) ? entry(l3ServiceSchema, s, ['services', i], issues) : entry(serviceSchema, s, ['services', i], issues),
  )
  const tuning = optionalSection(tuningSchema, top.tuning, 'tuning', issues)
  const routing = optionalSection(routingSchema, top.routing, 'routing', issues)
  // Unlike tuning/routing, an absent l3 section means "no TUN", not "all defaults".
  const l3Present = top.l3 != null
  const l3 = l3Present ? optionalSection(l3Schema, top.l3, 'l3', issues) : undefined
  // Like l3: absent means no HTTP listener.
  const metricsPresent = top.metrics != null
  const metrics = metricsPresent ? optionalSection(metricsSchema, top.metrics, 'metrics', issues) : undefined

  const okPeers = peers.filter(isIndexed).map(({ index, value }) => ({ index, value: toPeer(value) }))
  const peerParts = peerList.map((p, i) => ({ index: i, value: peers[i] ? toPeer(peers[i].value) : partialPeer(p) }))
  const publicKey = privateKey ? publicKeyOf(privateKey) : undefined
  issues.push(
    ...checkSemantics({
      relay: { ...(relay ?? partialOf(relaySchema, rawRelay)), publicKey },
      peers: peerParts,
      peersComplete: peerParts.every((p) => p.value.id !== undefined),
      services: serviceList.map((raw, i) => ({ index: i, value: semanticService(services[i]?.value, raw) })),
      hopLimit: tuning?.hop_limit,
    }),
  )
  // The underlay family decides the overlay overhead, hence the largest TUN MTU (same rule as the Relay).
  const ipv6Underlay = (relay !== undefined && isIPv6(relay.listen.host)) || okPeers.some((p) => isIPv6(p.value.endpoint.host))
  issues.push(
    ...checkL3({
      selfId: relay?.id ?? partialOf(relaySchema, rawRelay).id,
      relayMtu: relay?.mtu,
      ipv6Underlay,
      l3,
      l3Present,
      services: serviceList.flatMap((raw, i) => {
        if (!isL3(raw)) return []
        const p = partialOf(l3ServiceSchema, raw)
        return [{ index: i, name: p.name, prefixes: p.prefixes, exits: p.exits }]
      }),
    }),
  )

  if (relay !== undefined && relay.workers > 1 && l3Present) {
    issues.push({ path: 'relay.workers', message: `${relay.workers} workers with an l3: section (the TUN device has one queue, read by one worker)`, fix: fixFor('relay.workers') })
  }

  if (issues.length > 0 || !relay || !privateKey || !publicKey || !tuning || !routing || (l3Present && !l3) || (metricsPresent && !metrics)) {
    throw new ConfigError(issues, sourcePath)
  }
  return {
    relay: identity(relay, privateKey, publicKey, baseDir, sourcePath !== undefined),
    peers: okPeers.map((p) => p.value),
    services: services.filter(isIndexed).map((s) => (s.value.mode === 'l3' ? normaliseL3Service(s.value) : normaliseService(s.value))),
    tuning: normaliseTuning(tuning),
    routing: normaliseRouting(routing),
    ...(l3 ? { l3: normaliseL3(l3, relay.mtu, ipv6Underlay) } : {}),
    ...(metrics ? { metrics: { listen: metrics.listen, statusPage: metrics.status_page } } : {}),
    sourcePath,
  }
}

function isL3(raw: unknown): boolean {
  return isMapping(raw) && raw.mode === 'l3'
}

/** What the cross-field rules read of a service entry, L4 or L3. */
function semanticService(value: RawService | RawL3Service | undefined, raw: unknown): SemanticService {
  if (value !== undefined) return value
  return isL3(raw) ? partialOf(l3ServiceSchema, raw) : partialOf(serviceSchema, raw)
}

/** Validate one part of the file; on failure record its issues and return undefined. */
function section<S extends z.ZodType>(schema: S, input: unknown, at: PathSegment[], issues: ConfigIssue[]): z.output<S> | undefined {
  const r = schema.safeParse(input)
  if (r.success) return r.data
  issues.push(...fromZodIssues(r.error.issues, at, input))
  return undefined
}

/** An optional mapping section: absent or empty means all defaults; a non-mapping is reported by topSchema. */
function optionalSection<S extends z.ZodType>(schema: S, input: unknown, name: string, issues: ConfigIssue[]): z.output<S> | undefined {
  return input == null || isMapping(input) ? section(schema, input ?? {}, [name], issues) : undefined
}

function entry<S extends z.ZodType>(schema: S, input: unknown, at: [string, number], issues: ConfigIssue[]): Indexed<z.output<S>> | undefined {
  const value = section(schema, input, at, issues)
  return value === undefined ? undefined : { index: at[1], value }
}

function toPeer(p: RawPeer): PeerConfig {
  const endpoints = p.endpoints ?? [p.endpoint!]
  const next = p.next_public_key !== undefined && p.next_sign_key !== undefined ? { next: { publicKey: p.next_public_key, signKey: p.next_sign_key } } : {}
  // `endpoints` only when there is a choice: every reader of `endpoint` keeps working, with the first.
  return { id: p.id, publicKey: p.public_key, signKey: p.sign_key, ...next, endpoint: endpoints[0], ...(endpoints.length > 1 ? { endpoints } : {}) }
}

/** A peer entry names its address with exactly one of endpoint and endpoints. */
function oneEndpointField(peer: Indexed<RawPeer> | undefined, issues: ConfigIssue[]): Indexed<RawPeer> | undefined {
  if (peer === undefined || (peer.value.endpoint === undefined) !== (peer.value.endpoints === undefined)) return peer
  const both = peer.value.endpoint !== undefined
  issues.push({
    path: `peers[${peer.index}].${both ? 'endpoints' : 'endpoint'}`,
    message: both ? 'endpoint and endpoints are both set' : 'no address: set endpoint (or endpoints)',
    fix: 'set endpoint: HOST:PORT, or endpoints: [HOST:PORT, ...] for a relay reachable at several addresses',
  })
  return undefined
}

/** The fields of a broken peer entry that are valid on their own, for cross-field checks. */
function partialPeer(raw: unknown): Partial<PeerConfig> {
  const p = partialOf(peerSchema, raw)
  return { id: p.id, publicKey: p.public_key, signKey: p.sign_key, endpoint: p.endpoint ?? p.endpoints?.[0] }
}

function partialOf<S extends z.ZodObject>(schema: S, raw: unknown): Partial<z.output<S>> {
  const out: Record<string, unknown> = {}
  if (!isMapping(raw)) return out as Partial<z.output<S>>
  for (const [key, field] of Object.entries(schema.shape)) {
    const r = (field as z.ZodType).safeParse(raw[key])
    if (r.success && r.data !== undefined) out[key] = r.data
  }
  return out as Partial<z.output<S>>
}

function isIndexed<T>(x: Indexed<T> | undefined): x is Indexed<T> {
  return x !== undefined
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function resolvePrivateKey(
  rawRelay: Record<string, unknown>,
  relay: RawRelay | undefined,
  baseDir: string,
  issues: ConfigIssue[],
  source: ParseOptions,
): Uint8Array | undefined {
  const inline = rawRelay.private_key !== undefined
  const file = rawRelay.private_key_file !== undefined
  if (inline === file) {
    const message = inline ? 'both private_key and private_key_file are set' : 'no private key: set private_key or private_key_file'
    issues.push({ path: 'relay.private_key', message, fix: 'set exactly one of private_key or private_key_file' })
    return undefined
  }
  if (inline) {
    if (source.sourcePath !== undefined && source.sourceMode !== undefined) assertOwnerOnly(source.sourcePath, source.sourceMode, 'relay.private_key')
    return relay?.private_key
  }
  if (typeof rawRelay.private_key_file !== 'string' || rawRelay.private_key_file === '') return undefined
  return readKeyFile(resolve(baseDir, rawRelay.private_key_file), issues)
}

function readKeyFile(file: string, issues: ConfigIssue[]): Uint8Array | undefined {
  const path = 'relay.private_key_file'
  let text: string
  try {
    const read = readFileWithMode(file)
    assertOwnerOnly(file, read.mode, path)
    text = read.text
  } catch (err) {
    if ((err as Error).name === 'InsecureFileModeError') throw err
    const code = (err as NodeJS.ErrnoException).code ?? String(err)
    issues.push({ path, message: `cannot read ${file}: ${code}`, fix: 'check the path; relative paths start at the config file\'s folder' })
    return undefined
  }
  const key = parseKey(extractPrivateKeyText(text))
  if (!key.ok) {
    issues.push({ path, message: `${file}: ${key.error}`, fix: 'the file must hold the base64 private key from `overpass keygen`' })
    return undefined
  }
  return key.value
}

function identity(relay: RawRelay, privateKey: Uint8Array, publicKey: Uint8Array, baseDir: string, fromFile: boolean): RelayIdentity {
  const socket = relay.control_socket ?? controlSocketFor(relay.id)
  const state = relay.state_file ?? (fromFile ? stateFileFor(relay.id) : undefined)
  return {
    id: relay.id,
    privateKey,
    publicKey,
    listen: relay.listen,
    controlSocket: isAbsolute(socket) ? socket : resolve(baseDir, socket),
    ...(state !== undefined ? { stateFile: resolve(baseDir, state) } : {}),
    mtu: relay.mtu,
    workers: relay.workers,
  }
}

function normaliseService(s: RawService): ServiceConfig {
  return {
    name: s.name,
    mode: s.mode,
    ingress: s.ingress.map((i) => ({ relay: i.relay, listen: i.listen })),
    origin: s.origin,
    exits: s.exits,
    delivery: s.delivery,
    paths: s.paths,
    replyPaths: s.reply_paths ?? s.paths.map((p) => [...p].reverse()),
    prefixes: [],
    flowIdleTimeoutMs: s.flow_idle_timeout,
    maxFlows: s.max_flows,
    maxFlowsPerPrefix: s.max_flows_per_prefix,
    profile: s.profile,
    redundant: s.redundant,
    originProbe: normaliseOriginProbe(s.origin_probe),
    ...(s.fallback === 'direct' ? { fallback: 'direct' as const } : {}),
  }
}

function normaliseL3Service(s: RawL3Service): ServiceConfig {
  return {
    name: s.name,
    mode: 'l3',
    ingress: [],
    origin: { host: '', port: 0 },
    exits: s.exits,
    prefixes: s.prefixes.map(parsePrefix),
    delivery: 'proxy',
    paths: s.paths,
    // Unused: an L3 reply is a new packet read from the exit's TUN, routed like any other.
    replyPaths: [],
    flowIdleTimeoutMs: s.flow_idle_timeout,
    maxFlows: s.max_flows,
    profile: s.profile,
    redundant: s.redundant,
    originProbe: normaliseOriginProbe(undefined),
  }
}

function normaliseOriginProbe(p: RawOriginProbe | undefined): OriginProbeConfig {
  return {
    method: p?.method ?? 'none',
    port: p?.port ?? DEFAULT_TWAMP_PORT,
    intervalMs: p?.interval ?? DEFAULT_ORIGIN_PROBE_INTERVAL_MS,
    assumedRttMs: p?.assumed_rtt ?? DEFAULT_ASSUMED_RTT_MS,
  }
}

function normaliseRouting(r: RawRouting): RoutingConfig {
  return {
    probeIntervalMs: r.probe_interval,
    lossDownAfter: r.loss_down_after,
    hopCostMs: r.hop_cost,
    maxLossPct: r.max_loss,
    floodIntervalMs: r.flood_interval,
  }
}

function normaliseTuning(t: RawTuning): RelayConfig['tuning'] {
  return { rekeyAfterMs: t.rekey_after, rekeyAfterPackets: t.rekey_after_packets, hopLimit: t.hop_limit }
}

export function syntaxIssue(err: { message: string; code: string; linePos?: [{ line: number; col: number }, ...unknown[]] }): ConfigIssue {
  const pos = err.linePos?.[0]
  const where = pos ? `line ${pos.line}, column ${pos.col}` : 'unknown position'
  const detail = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')
  return { path: '', message: `YAML syntax error at ${where}: ${detail}`, fix: yamlFix(err.code), line: pos?.line, col: pos?.col }
}

function yamlFix(code: string): string {
  if (code === 'DUPLICATE_KEY') return 'remove or rename the repeated key'
  if (code === 'TAB_AS_INDENT') return 'indent with spaces, not tabs'
  return 'fix the YAML at that position; quote values containing ": " or starting with "[" (e.g. "[::1]:7001")'
}

/** Point an issue at the nearest YAML node that exists on its path. */
export function withLine(issue: ConfigIssue, doc: Document, lines: LineCounter): ConfigIssue {
  if (issue.line !== undefined || issue.path === '') return issue
  const segments = parsePath(issue.path)
  for (let n = segments.length; n > 0; n--) {
    const node = doc.getIn(segments.slice(0, n), true) as { range?: [number, number, number] } | undefined
    if (node && typeof node === 'object' && node.range) return { ...issue, line: lines.linePos(node.range[0]).line }
  }
  return issue
}
