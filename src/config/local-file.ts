/**
 * A relay's local file: what belongs to one machine (relay: id, key, listen,
 * control socket, state file, MTU, workers; l3: its TUN; metrics: its HTTP
 * listener) and a `network:`
 * section naming the shared network file and the operator's public key that
 * must have signed it. Loading composes the one-file shape from both files
 * (this relay's entry in `relays` leaves out, the others become `peers`) and
 * validates it with the same rules (load.ts validateRaw), so the result is the
 * RelayConfig the one-file format gives. Issues name the file they are in.
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { LineCounter, parseDocument, type Document } from 'yaml'
import { z } from 'zod'
import { ConfigError, parsePath, type ConfigIssue } from './errors.js'
import { syntaxIssue, validateRaw, withLine, type ParseOptions } from './load.js'
import { parseNetworkBytes, readNetworkFile, SHARED_SECTIONS, type NetworkDocument } from './network-file.js'
import { rolloutPolicy } from './rollout-policy.js'
import { peerSchema } from './schema.js'
import { judgeVersion, parseSignatureFile } from './signed-version.js'
import type { RelayConfig } from './types.js'
import { parseKey, encodeKey, signPublicKeyOf } from './values.js'
import { fromZodIssues } from './zod-issues.js'

export const SIGNATURE_SUFFIX = '.sig'

const localTopSchema = z.strictObject({
  relay: z.record(z.string(), z.unknown()),
  l3: z.record(z.string(), z.unknown()).nullish(),
  metrics: z.record(z.string(), z.unknown()).nullish(),
  network: z.record(z.string(), z.unknown()),
})

const networkRefSchema = z.strictObject({
  file: z.string().min(1),
  operator_key: z.string().transform((text, ctx) => {
    const r = parseKey(text)
    if (r.ok) return r.value
    ctx.addIssue({ code: 'custom', message: r.error.replace('key ', 'operator key '), input: text })
    return z.NEVER
  }),
  /** One member's entry as in the network file (id, public_key, sign_key, endpoint): `overpass network fetch` gets the file from it. */
  bootstrap: z.unknown().optional(),
})

/** True when a parsed YAML document is a local file (it has a `network:` section). */
export function isLocalFile(raw: unknown): raw is Record<string, unknown> {
  return raw !== null && typeof raw === 'object' && !Array.isArray(raw) && 'network' in raw
}

/** A network file given where a relay's file is expected (`check -c network.yaml`). */
export function isNetworkFile(raw: unknown): boolean {
  return isMapping(raw) && 'relays' in raw && !('relay' in raw)
}

export const NETWORK_FILE_GIVEN: ConfigIssue = {
  path: '',
  message: 'this is a network file (it has relays:), not a relay\'s file; it is checked, signature first, through the local files that name it',
  fix: 'pass the local files instead: overpass check -c lax.yaml -c sea.yaml ...',
}

export interface SignedNetwork {
  network: NetworkDocument
  version: number
}

/**
 * `network`: use these signed bytes (their signature already checked by the
 * caller) instead of reading the file the local file names. A relay judges
 * a version it received this way (rollout/), by the same rules as a start.
 */
export function loadLocal(raw: Record<string, unknown>, doc: Document, lines: LineCounter, options: ParseOptions & { baseDir: string }, network?: { bytes: Uint8Array; version: number }): RelayConfig {
  const local = (issues: ConfigIssue[]) => new ConfigError(issues.map((i) => (i.file === undefined ? withLine(i, doc, lines) : i)), options.sourcePath)
  const top = localTopSchema.safeParse(raw)
  const ref = networkRefSchema.safeParse(raw.network)
  const issues: ConfigIssue[] = []
  if (!top.success) issues.push(...fromZodIssues(top.error.issues, [], raw))
  if (!ref.success) issues.push(...fromZodIssues(ref.error.issues, ['network'], raw.network))
  if (issues.length > 0 || !ref.success) throw local(issues)

  const networkPath = resolve(options.baseDir, ref.data.file)
  const signed = network === undefined ? readSignedNetwork(networkPath, ref.data.operator_key) : receivedNetwork(networkPath, network)
  if (!signed.ok) throw local(signed.issues)
  return composeLocal(raw, signed.value, ref.data.operator_key, local, options)
}

function composeLocal(raw: Record<string, unknown>, signed: SignedNetwork, operatorKey: Uint8Array, local: (issues: ConfigIssue[]) => ConfigError, options: ParseOptions & { baseDir: string }): RelayConfig {
  const { network } = signed
  const relays = network.raw.relays as unknown[]
  const rawRelay = raw.relay as Record<string, unknown>
  const selfIndex = relays.findIndex((r) => isMapping(r) && r.id === rawRelay.id)
  const peerIndex = relays.map((_, i) => i).filter((i) => i !== selfIndex)
  const composed: Record<string, unknown> = { relay: rawRelay, peers: peerIndex.map((i) => relays[i]) }
  for (const s of SHARED_SECTIONS) if (network.raw[s] != null) composed[s] = network.raw[s]
  if (raw.l3 != null) composed.l3 = raw.l3
  if (raw.metrics != null) composed.metrics = raw.metrics

  const selfIssues: ConfigIssue[] = []
  if (selfIndex < 0) {
    selfIssues.push({ path: 'relay.id', message: `relay ${JSON.stringify(rawRelay.id)} is not listed in ${network.path}`, fix: `add it to relays: in ${network.path} (id, public_key, sign_key, endpoint) and sign a new version, or correct the id` })
  }
  const ids = relays.map((r) => (isMapping(r) ? r.id : undefined)).filter((id): id is string => typeof id === 'string')
  for (const p of rolloutPolicy(network.raw, ids).problems) {
    selfIssues.push({ ...withLine({ path: p.path, message: p.message, fix: 'rollout has canaries (relay ids of this file) and hold_s (seconds); see docs/operating.md' }, network.doc, network.lines), file: network.path })
  }
  let config: RelayConfig | undefined
  try {
    config = validateRaw(composed, options)
  } catch (err) {
    if (!(err instanceof ConfigError) || err.name !== 'ConfigError') throw err
    throw local([...selfIssues, ...err.issues.map((i) => relocate(i, network, peerIndex))])
  }
  if (selfIndex >= 0) selfIssues.push(...checkSelfEntry(relays[selfIndex], selfIndex, config, network))
  if (selfIssues.length > 0) throw local(selfIssues)
  return { ...config, network: { file: network.path, version: signed.version, operatorKey } }
}

function receivedNetwork(path: string, network: { bytes: Uint8Array; version: number }): { ok: true; value: SignedNetwork } | { ok: false; issues: ConfigIssue[] } {
  const read = parseNetworkBytes(path, network.bytes)
  return read.ok ? { ok: true, value: { network: read.network, version: network.version } } : { ok: false, issues: read.issues }
}

/** The local file at `localPath` composed with received network bytes (see loadLocal); throws ConfigError. */
export function loadLocalWithNetwork(localPath: string, network: { bytes: Uint8Array; version: number }): RelayConfig {
  const text = readFileSync(localPath, 'utf8')
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines })
  if (doc.errors.length > 0) throw new ConfigError(doc.errors.map(syntaxIssue), localPath)
  const raw: unknown = doc.toJS({ maxAliasCount: 100 })
  if (!isLocalFile(raw)) throw new ConfigError([{ path: 'network', message: 'is not a local file (it has no network: section)', fix: 'pass the relay\'s local file' }], localPath)
  return loadLocal(raw, doc, lines, { sourcePath: localPath, baseDir: dirname(resolve(localPath)) }, network)
}

/** The network file after its signature checked out against the operator key; issues name the file or its .sig. */
export function readSignedNetwork(path: string, operatorKey: Uint8Array): { ok: true; value: SignedNetwork } | { ok: false; issues: ConfigIssue[] } {
  const read = readNetworkFile(path)
  if (!read.ok && read.bytes === undefined) return read
  const sigPath = path + SIGNATURE_SUFFIX
  let sigText: string
  try {
    sigText = readFileSync(sigPath, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err)
    return { ok: false, issues: [{ file: sigPath, path: 'signature', message: `cannot read the network file's signature: ${code}`, fix: `sign it: overpass network sign --key OPERATOR_KEY ${path}` }] }
  }
  const sig = parseSignatureFile(sigText)
  if (!sig.ok) return { ok: false, issues: [{ file: sigPath, path: 'signature', message: sig.error, fix: `sign again: overpass network sign --key OPERATOR_KEY ${path}` }] }
  const bytes = read.ok ? read.network.bytes : read.bytes!
  const verdict = judgeVersion({ currentVersion: undefined, candidate: { version: sig.version, bytes, signature: sig.signature }, operatorKey, validate: () => [] })
  if (!verdict.accept) {
    return { ok: false, issues: [{ file: sigPath, path: 'signature', message: verdict.detail, fix: `restore the signed file, or (as the operator) sign the new content: overpass network sign --key OPERATOR_KEY ${path}` }] }
  }
  if (!read.ok) return { ok: false, issues: read.issues }
  return { ok: true, value: { network: read.network, version: verdict.version } }
}

/**
 * A new relay with no network file yet: its local file composed with the one
 * member named in `network.bootstrap` as its only peer and no services,
 * enough to open a session to that member and fetch the signed network file
 * (`overpass network fetch`, docs/operating.md). `running` stands for "no
 * version yet": version 0, listing the member, with no signature.
 */
export function loadBootstrap(localPath: string): { config: RelayConfig; running: { version: number; bytes: Uint8Array; signature: Uint8Array } } {
  const text = readFileSync(localPath, 'utf8')
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines })
  if (doc.errors.length > 0) throw new ConfigError(doc.errors.map(syntaxIssue), localPath)
  const raw: unknown = doc.toJS({ maxAliasCount: 100 })
  const fail = (issues: ConfigIssue[]): ConfigError => new ConfigError(issues.map((i) => withLine(i, doc, lines)), localPath)
  if (!isLocalFile(raw)) throw fail([{ path: 'network', message: 'is missing: this is not a local file', fix: 'pass the relay\'s local file, with network: file, operator_key and bootstrap' }])
  const ref = networkRefSchema.safeParse(raw.network)
  if (!ref.success) throw fail(fromZodIssues(ref.error.issues, ['network'], raw.network))
  const member = peerSchema.safeParse(ref.data.bootstrap)
  if (ref.data.bootstrap === undefined || !member.success) {
    const issues = member.success || ref.data.bootstrap === undefined ? [] : fromZodIssues(member.error.issues, ['network', 'bootstrap'], ref.data.bootstrap)
    throw fail(issues.length > 0 ? issues : [{ path: 'network.bootstrap', message: 'is missing', fix: 'copy one member\'s entry from the network file: id, public_key, sign_key, endpoint' }])
  }
  const baseDir = dirname(resolve(localPath))
  const composed: Record<string, unknown> = { relay: raw.relay, peers: [ref.data.bootstrap] }
  if (raw.l3 != null) composed.l3 = raw.l3
  let config: RelayConfig
  try {
    config = validateRaw(composed, { sourcePath: localPath, baseDir })
  } catch (err) {
    if (!(err instanceof ConfigError) || err.name !== 'ConfigError') throw err
    throw fail(err.issues.map((i) => (i.path.startsWith('peers[0]') ? { ...i, path: i.path.replace('peers[0]', 'network.bootstrap') } : i)))
  }
  const networkPath = resolve(baseDir, ref.data.file)
  const bytes = new Uint8Array(Buffer.from(`# bootstrap: no network file yet\nrelays:\n  - id: ${JSON.stringify(member.data.id)}\n`))
  return { config: { ...config, network: { file: networkPath, version: 0, operatorKey: ref.data.operator_key } }, running: { version: 0, bytes, signature: new Uint8Array(64) } }
}

/** Paths of the composed shape → the file and path the operator must edit, with the line there. */
function relocate(issue: ConfigIssue, network: NetworkDocument, peerIndex: number[]): ConfigIssue {
  const segments = parsePath(issue.path)
  const head = segments[0]
  let path: string
  if (head === 'peers') {
    const i = segments[1]
    path = typeof i === 'number' ? issue.path.replace(/^peers\[\d+\]/, `relays[${peerIndex[i]}]`) : issue.path.replace(/^peers/, 'relays')
  } else if ((SHARED_SECTIONS as readonly unknown[]).includes(head)) path = issue.path
  else return issue
  const { line: _line, ...rest } = issue
  return { ...withLine({ ...rest, path }, network.doc, network.lines), file: network.path }
}

/** This relay's own entry in the network file must carry the keys its private key gives. */
function checkSelfEntry(entry: unknown, index: number, config: RelayConfig, network: NetworkDocument): ConfigIssue[] {
  const at = `relays[${index}]`
  const r = peerSchema.safeParse(entry)
  const issues: ConfigIssue[] = []
  if (!r.success) {
    issues.push(...fromZodIssues(r.error.issues, ['relays', index], entry))
  } else {
    const pub = encodeKey(config.relay.publicKey)
    const sign = encodeKey(signPublicKeyOf(config.relay.privateKey))
    // During a rotation the private key may be the current pair's or already the next one's.
    const next = r.data.next_public_key !== undefined && encodeKey(r.data.next_public_key) === pub
    const listedPub = next ? 'next_public_key' : 'public_key'
    const listedSign = next ? 'next_sign_key' : 'sign_key'
    if (!next && encodeKey(r.data.public_key) !== pub) issues.push({ path: `${at}.public_key`, message: `is not the public key of relay "${config.relay.id}"'s private key${r.data.next_public_key !== undefined ? ' (nor is next_public_key)' : ''}`, fix: `use ${pub}` })
    const signListed = next ? r.data.next_sign_key : r.data.sign_key
    if (signListed === undefined || encodeKey(signListed) !== sign) issues.push({ path: `${at}.${listedSign}`, message: `is not the signing key of relay "${config.relay.id}"'s private key (whose public key is the ${listedPub})`, fix: `use ${sign}` })
  }
  return issues.map((i) => ({ ...withLine(i, network.doc, network.lines), file: network.path }))
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}
