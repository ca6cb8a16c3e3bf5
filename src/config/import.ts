/**
 * One-file-per-relay configs → a network file and one local file per relay
 * (`overpass network import`). Pure: the caller reads and validates the old
 * files (loadConfig) and writes what this returns. The network file gets
 * every relay named anywhere (the imported ones with the keys their private
 * keys give and the endpoint their peers use, the others as the peers list
 * them), the services, tuning and routing; each local file keeps its relay,
 * l3 and metrics sections. Where the old files disagree (two endpoints for
 * one relay, two definitions of one service), nothing is guessed: the import
 * fails with every disagreement named.
 */
import { isAbsolute, resolve } from 'node:path'
import type { PeerConfig, RelayConfig } from './types.js'
import { encodeKey, formatHostPort, isWildcardHost, signPublicKeyOf } from './values.js'

/** One old file: its path, its parsed YAML and what loadConfig made of it. */
export interface OldRelayFile {
  path: string
  raw: Record<string, unknown>
  config: RelayConfig
}

export interface ImportProblem {
  /** The file the problem is in (or the first of the files that disagree). */
  file: string
  message: string
  fix: string
}

export class ImportError extends Error {
  override readonly name = 'ImportError'
  constructor(readonly problems: ImportProblem[]) {
    super(problems.map((p) => `${p.file}: ${p.message} (fix: ${p.fix})`).join('\n'))
  }
}

export interface ImportedRelay {
  id: string
  /** The local file's content (without the `network:` section, which names files only the caller knows). */
  local: Record<string, unknown>
  /** The private key, for the caller to write as `<id>.key` (mode 0600), which `local` names. */
  privateKey: Uint8Array
}

export interface ImportedNetwork {
  network: { relays: Record<string, string | string[]>[]; services?: unknown[]; tuning?: unknown; routing?: unknown }
  relays: ImportedRelay[]
}

/** The key file each imported local file names, next to it. */
export const keyFileFor = (id: string): string => `${id}.key`

interface RelayEntry {
  id: string
  public_key: string
  sign_key: string
  /** The address(es) as one text, for comparing. */
  endpoint: string
  /** What the network file gets: endpoint or endpoints. */
  written: Record<string, string | string[]>
  /** File that gave the entry, for messages. */
  from: string
}

export function importRelayFiles(files: readonly OldRelayFile[]): ImportedNetwork {
  const problems: ImportProblem[] = []
  const entries = new Map<string, RelayEntry>()
  const imported = new Set(files.map((f) => f.config.relay.id))
  const endpointsOf = peerEndpoints(files)

  for (const f of files) {
    const c = f.config
    const entry = { id: c.relay.id, public_key: encodeKey(c.relay.publicKey), sign_key: encodeKey(signPublicKeyOf(c.relay.privateKey)), from: f.path }
    const seen = endpointsOf.get(c.relay.id) ?? []
    const distinct = [...new Set(seen.map((s) => s.endpoint))]
    if (distinct.length > 1) {
      problems.push({ file: seen[0].from, message: `peers reach relay "${c.relay.id}" at different endpoints: ${seen.map((s) => `${s.endpoint} (${s.from})`).join(', ')}`, fix: 'make the peer entries agree on one endpoint, then import again' })
    } else if (distinct.length === 1) {
      entries.set(c.relay.id, { ...entry, endpoint: distinct[0], written: seen[0].written })
    } else if (isWildcardHost(c.relay.listen.host)) {
      problems.push({ file: f.path, message: `no other file names relay "${c.relay.id}"'s endpoint, and it listens on ${formatHostPort(c.relay.listen)}`, fix: `import it together with a relay that lists it as a peer, or set relay.listen to the address its peers reach` })
    } else {
      entries.set(c.relay.id, { ...entry, endpoint: formatHostPort(c.relay.listen), written: { endpoint: formatHostPort(c.relay.listen) } })
    }
  }
  // Relays that are only peers here keep the entry their peers agree on.
  for (const f of files) {
    for (const p of f.config.peers) {
      if (imported.has(p.id)) continue
      const entry = { id: p.id, public_key: encodeKey(p.publicKey), sign_key: encodeKey(p.signKey), endpoint: endpointText(p), written: endpointField(p), from: f.path }
      const other = entries.get(p.id)
      if (other === undefined) entries.set(p.id, entry)
      else {
        for (const field of ['public_key', 'sign_key', 'endpoint'] as const) {
          if (other[field] !== entry[field]) problems.push({ file: f.path, message: `peer "${p.id}" has ${field} ${entry[field]}, but ${other.from} says ${other[field]}`, fix: `make the peer entries for "${p.id}" agree, then import again` })
        }
      }
    }
  }
  const services = sharedServices(files, problems)
  const tuning = sharedSection(files, 'tuning', problems)
  const routing = sharedSection(files, 'routing', problems)
  if (problems.length > 0) throw new ImportError(problems)

  const network: ImportedNetwork['network'] = { relays: [...entries.values()].map(({ id, public_key, sign_key, written }) => ({ id, public_key, sign_key, ...written })) }
  if (services.length > 0) network.services = services
  if (tuning !== undefined) network.tuning = tuning
  if (routing !== undefined) network.routing = routing
  return { network, relays: files.map(localOf) }
}

/** A peer's address(es) as one comparable text. */
function endpointText(p: PeerConfig): string {
  return (p.endpoints ?? [p.endpoint]).map(formatHostPort).join(', ')
}

/** The entry's address field as the network file writes it: endpoint, or endpoints when there are several. */
function endpointField(p: PeerConfig): { endpoint: string } | { endpoints: string[] } {
  return p.endpoints === undefined ? { endpoint: formatHostPort(p.endpoint) } : { endpoints: p.endpoints.map(formatHostPort) }
}

/** Every endpoint the files' peer entries give each relay id. */
function peerEndpoints(files: readonly OldRelayFile[]): Map<string, { endpoint: string; written: Record<string, string | string[]>; from: string }[]> {
  const out = new Map<string, { endpoint: string; written: Record<string, string | string[]>; from: string }[]>()
  for (const f of files) {
    for (const p of f.config.peers) {
      const list = out.get(p.id) ?? []
      list.push({ endpoint: endpointText(p), written: endpointField(p), from: f.path })
      out.set(p.id, list)
    }
  }
  return out
}

/** The union of the files' services by name, as written; a name defined two ways is a problem. */
function sharedServices(files: readonly OldRelayFile[], problems: ImportProblem[]): unknown[] {
  const byName = new Map<string, { raw: unknown; normalised: string; from: string }>()
  for (const f of files) {
    const raws = Array.isArray(f.raw.services) ? f.raw.services : []
    f.config.services.forEach((s, i) => {
      const normalised = JSON.stringify(s)
      const seen = byName.get(s.name)
      if (seen === undefined) byName.set(s.name, { raw: raws[i], normalised, from: f.path })
      else if (seen.normalised !== normalised) {
        problems.push({ file: f.path, message: `service "${s.name}" differs from its definition in ${seen.from}; the network file holds one`, fix: 'make the service blocks the same in every file, then import again' })
      }
    })
  }
  return [...byName.values()].map((s) => s.raw)
}

/** tuning or routing: the same (after defaults) in every file, written as the first file that has it wrote it. */
function sharedSection(files: readonly OldRelayFile[], name: 'tuning' | 'routing', problems: ImportProblem[]): unknown {
  const first = files[0]
  for (const f of files.slice(1)) {
    if (JSON.stringify(f.config[name]) !== JSON.stringify(first.config[name])) {
      problems.push({ file: f.path, message: `${name} differs from ${first.path}; the network file holds one ${name} section`, fix: `make ${name}: the same in every file, then import again` })
    }
  }
  return files.find((f) => f.raw[name] != null)?.raw[name]
}

/**
 * The local file's sections. The key moves to its own file; relative
 * control_socket and state_file paths become absolute so they keep pointing
 * where the old file's folder put them.
 */
function localOf(f: OldRelayFile): ImportedRelay {
  const { private_key: _inline, private_key_file: _file, ...relay } = f.raw.relay as Record<string, unknown>
  const base = resolve(f.path, '..')
  for (const field of ['control_socket', 'state_file']) {
    const v = relay[field]
    if (typeof v === 'string' && !isAbsolute(v)) relay[field] = resolve(base, v)
  }
  const id = f.config.relay.id
  const local: Record<string, unknown> = { relay: { ...relay, private_key_file: keyFileFor(id) } }
  if (f.raw.l3 != null) local.l3 = f.raw.l3
  if (f.raw.metrics != null) local.metrics = f.raw.metrics
  return { id, local, privateKey: f.config.relay.privateKey }
}
