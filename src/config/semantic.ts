/**
 * Rules that span fields: unique ids and keys, relay references that resolve,
 * paths that run ingress → exit, and listen addresses that can all be bound.
 * Runs on whatever parsed cleanly, so these problems are reported alongside
 * schema errors elsewhere in the file.
 */
import { nameId } from '../wire/ids.js'
import type { ConfigIssue } from './errors.js'
import { fixFor } from './fixes.js'
import { MAX_PATH_RELAYS, type RawL3Service, type RawService } from './schema.js'
import type { HostPort, PeerConfig } from './types.js'
import { formatHostPort, isWildcardHost } from './values.js'

export interface Indexed<T> {
  /** Position in the file's list, for the field path. */
  index: number
  value: T
}

/** A service entry's fields that parsed, L4 or L3 (an L3 one has no ingress: every L3 relay is one). */
export type SemanticService = Partial<Omit<RawService, 'mode'>> & Partial<Omit<RawL3Service, 'mode'>> & { mode?: 'l4' | 'l3' }

export interface SemanticInput {
  /** This relay's fields that parsed; publicKey when its key resolved. */
  relay: { id?: string; listen?: HostPort; publicKey?: Uint8Array }
  /** Peers with the fields that parsed; a peer with a bad endpoint still has its id checked. */
  peers: Indexed<Partial<PeerConfig>>[]
  /** False when some peer id failed to parse: then "unknown relay" would be guesswork. */
  peersComplete: boolean
  /** Services with the fields that parsed, so one bad field does not hide path problems. */
  services: Indexed<SemanticService>[]
  hopLimit?: number
}

export function checkSemantics(input: SemanticInput): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  checkPeers(input, issues)
  checkServiceNames(input.services, issues)
  const known = input.relay.id !== undefined && input.peersComplete ? knownRelays(input) : undefined
  for (const { index, value } of input.services) {
    checkService(index, value, known, input.hopLimit, issues)
    checkRoutingChoice(`services[${index}]`, value, issues)
  }
  checkIngressAddresses(input, issues)
  return issues
}

function add(issues: ConfigIssue[], path: string, message: string, fix = fixFor(path)): void {
  issues.push({ path, message, fix })
}

function checkPeers(input: SemanticInput, issues: ConfigIssue[]): void {
  const { relay } = input
  const byId = new Map<string, string>()
  const byKey = new Map<string, number>()
  const byEndpoint = new Map<string, string>()
  const byWireId = new Map<number, string>()
  if (relay.id !== undefined) byWireId.set(nameId(relay.id), relay.id)
  if (relay.listen) byEndpoint.set(formatHostPort(relay.listen), 'relay.listen')
  for (const { index, value: peer } of input.peers) {
    const at = `peers[${index}]`
    if (peer.id !== undefined) checkPeerId(`${at}.id`, peer.id, relay.id, byId, byWireId, issues)
    if (peer.publicKey) {
      const key = Buffer.from(peer.publicKey).toString('base64')
      if (relay.publicKey && key === Buffer.from(relay.publicKey).toString('base64')) {
        add(issues, `${at}.public_key`, "is this relay's own public key", `use the peer's public key (run \`overpass pubkey\` with its private key)`)
      } else if (byKey.has(key)) {
        add(issues, `${at}.public_key`, `same public key as peers[${byKey.get(key)}]`, 'each relay has its own key pair; paste the right public key for this peer')
      } else byKey.set(key, index)
    }
    if (peer.next) {
      const key = Buffer.from(peer.next.publicKey).toString('base64')
      if (byKey.has(key) && byKey.get(key) !== index) {
        add(issues, `${at}.next_public_key`, `same public key as peers[${byKey.get(key)}]`, 'the next key pair must be new: make it with overpass keygen')
      } else if (peer.publicKey && key === Buffer.from(peer.publicKey).toString('base64')) {
        add(issues, `${at}.next_public_key`, 'is the same as public_key', 'the next key pair must be new: make it with overpass keygen')
      } else byKey.set(key, index)
    }
    if (peer.endpoint) {
      const endpoint = formatHostPort(peer.endpoint)
      const owner = byEndpoint.get(endpoint)
      if (owner !== undefined) {
        add(issues, `${at}.endpoint`, `${endpoint} is also ${owner}; packets from it could not be told apart`, 'give each relay its own host:port')
      } else byEndpoint.set(endpoint, `${at}.endpoint`)
    }
  }
}

function checkPeerId(
  path: string,
  id: string,
  selfId: string | undefined,
  byId: Map<string, string>,
  byWireId: Map<number, string>,
  issues: ConfigIssue[],
): void {
  if (id === selfId) {
    return add(issues, path, `"${id}" is this relay's own id`, 'remove this entry; a relay does not list itself as a peer')
  }
  const seen = byId.get(id)
  if (seen !== undefined) {
    return add(issues, path, `duplicate peer id "${id}" (also ${seen})`, 'give each peer a unique id, or remove the duplicate entry')
  }
  byId.set(id, path.replace(/\.id$/, ''))
  const wire = nameId(id)
  const other = byWireId.get(wire)
  if (other !== undefined) {
    add(issues, path, `"${id}" has the same wire id (${hex(wire)}) as relay "${other}"`, 'rename one of the two relays; ids are hashed to 32 bits on the wire')
  } else byWireId.set(wire, id)
}

function checkServiceNames(services: Indexed<SemanticService>[], issues: ConfigIssue[]): void {
  const byName = new Map<string, number>()
  const byWireId = new Map<number, string>()
  for (const { index, value } of services) {
    if (value.name === undefined) continue
    const path = `services[${index}].name`
    const seen = byName.get(value.name)
    if (seen !== undefined) {
      add(issues, path, `duplicate service name "${value.name}" (also services[${seen}])`, 'give each service a unique name')
      continue
    }
    byName.set(value.name, index)
    const wire = nameId(value.name)
    const other = byWireId.get(wire)
    if (other !== undefined) {
      add(issues, path, `"${value.name}" has the same wire id (${hex(wire)}) as service "${other}"`, 'rename one of the two services; names are hashed to 32 bits on the wire')
    } else byWireId.set(wire, value.name)
  }
}

function knownRelays(input: SemanticInput): Set<string> {
  const known = new Set<string>()
  if (input.relay.id !== undefined) known.add(input.relay.id)
  for (const p of input.peers) if (p.value.id !== undefined) known.add(p.value.id)
  return known
}

function checkService(index: number, svc: SemanticService, known: Set<string> | undefined, hopLimit: number | undefined, issues: ConfigIssue[]): void {
  const at = `services[${index}]`
  if (known) {
    const list = [...known].join(', ')
    const unknown = (path: string, id: string) =>
      add(issues, path, `unknown relay "${id}"`, `use this relay's id or a listed peer: ${list}`)
    svc.ingress?.forEach((ing, k) => known.has(ing.relay) || unknown(`${at}.ingress[${k}].relay`, ing.relay))
    svc.exits?.forEach((id, k) => known.has(id) || unknown(`${at}.exits[${k}]`, id))
    svc.paths?.forEach((p, i) => p.forEach((id, k) => known.has(id) || unknown(`${at}.paths[${i}][${k}]`, id)))
    svc.reply_paths?.forEach((p, i) => p.forEach((id, k) => known.has(id) || unknown(`${at}.reply_paths[${i}][${k}]`, id)))
  }
  const seenExit = new Set<string>()
  svc.exits?.forEach((id, k) => {
    if (seenExit.has(id)) add(issues, `${at}.exits[${k}]`, `exit "${id}" is listed twice`, 'list each exit once')
    seenExit.add(id)
  })
  // Path ends are checked only against ingress/exit ids that are themselves
  // valid; an unknown exit is already reported and would only add noise here.
  const usable = (ids: string[] | undefined) => {
    const set = new Set(ids?.filter((id) => !known || known.has(id)))
    return set.size > 0 ? set : undefined
  }
  const ingress = usable(svc.ingress?.map((i) => i.relay))
  const exits = usable(svc.exits)
  const ends = { from: ingress, fromName: 'an ingress', to: exits, toName: 'an exit' }
  svc.paths?.forEach((p, i) => checkPath(`${at}.paths[${i}]`, p, ends, hopLimit, issues))
  const reverse = { from: exits, fromName: 'an exit', to: ingress, toName: 'an ingress' }
  svc.reply_paths?.forEach((p, i) => checkPath(`${at}.reply_paths[${i}]`, p, reverse, hopLimit, issues))
}

/**
 * A service with `paths` is pinned; one without is routed by latency. Fields
 * that only mean something in the other mode, or for another probe method,
 * would be silently ignored by the daemon, so they are reported instead.
 */
function checkRoutingChoice(at: string, svc: SemanticService, issues: ConfigIssue[]): void {
  const pinned = svc.paths !== undefined && svc.paths.length > 0
  if (svc.redundant === true && pinned) {
    add(
      issues,
      `${at}.redundant`,
      "is true but the service has pinned paths; redundancy needs the router's two edge-disjoint paths",
      'remove paths to let Overpass choose, or set redundant: false',
    )
  }
  if (svc.fallback === 'direct' && pinned) {
    add(issues, `${at}.fallback`, 'is direct but the service has pinned paths, which are used whatever the map says, so it would never fall back', 'remove paths to let Overpass route (and fall back), or remove fallback')
  }
  if (svc.paths !== undefined && !pinned && svc.reply_paths !== undefined && svc.reply_paths.length > 0) {
    add(issues, `${at}.reply_paths`, 'would be ignored: without paths the service is routed by latency in both directions', 'add paths to pin the service to static paths, or remove reply_paths')
  }
  const probe = svc.origin_probe
  if (probe?.port !== undefined && probe.method !== 'twamp') {
    add(issues, `${at}.origin_probe.port`, `is only used by method twamp, not ${probe.method}`, 'remove port, or set method: twamp')
  }
  if (probe?.assumed_rtt !== undefined && probe.method !== 'none') {
    add(issues, `${at}.origin_probe.assumed_rtt`, `is only used by method none; ${probe.method} measures the round trip`, 'remove assumed_rtt, or set method: none')
  }
}

interface PathEnds {
  from?: Set<string>
  fromName: string
  to?: Set<string>
  toName: string
}

function checkPath(at: string, path: string[], ends: PathEnds, hopLimit: number | undefined, issues: ConfigIssue[]): void {
  if (path.length === 0) return add(issues, at, 'is empty', fixFor(at))
  if (path.length > MAX_PATH_RELAYS) {
    add(issues, at, `has ${path.length} relays, more than ${MAX_PATH_RELAYS}`, `shorten it to at most ${MAX_PATH_RELAYS} relays`)
  } else if (hopLimit !== undefined && path.length - 1 > hopLimit) {
    add(issues, at, `needs ${path.length - 1} hops but tuning.hop_limit is ${hopLimit}`, 'shorten the path or raise tuning.hop_limit')
  }
  const first = path[0]
  const last = path[path.length - 1]
  const list = (s: Set<string>) => [...s].join(', ')
  if (ends.from && !ends.from.has(first)) {
    add(issues, `${at}[0]`, `starts at "${first}", which is not ${ends.fromName} of this service`, `start the path at ${ends.fromName}: ${list(ends.from)}`)
  }
  if (ends.to && !ends.to.has(last)) {
    add(issues, `${at}[${path.length - 1}]`, `ends at "${last}", which is not ${ends.toName} of this service`, `end the path at ${ends.toName}: ${list(ends.to)}`)
  }
  const seen = new Set<string>()
  path.forEach((id, k) => {
    if (seen.has(id)) add(issues, `${at}[${k}]`, `relay "${id}" appears twice in this path`, 'remove the loop; a path visits each relay once')
    seen.add(id)
  })
}

/**
 * Two UDP sockets on one relay cannot share a port when the hosts are equal or
 * either is the wildcard, so such ingress entries (or an ingress on the relay's
 * own overlay port) would fail at bind time. Caught here instead.
 */
function checkIngressAddresses(input: SemanticInput, issues: ConfigIssue[]): void {
  const bound = new Map<string, { path: string; host: string }[]>()
  const claim = (relay: string, addr: HostPort, path: string) => {
    const key = `${relay}|${addr.port}`
    const list = bound.get(key) ?? []
    const clash = list.find((b) => b.host === addr.host || isWildcardHost(b.host) || isWildcardHost(addr.host))
    if (clash) {
      add(issues, path, `${formatHostPort(addr)} on relay "${relay}" overlaps ${clash.path}`, `use a different port for one of them`)
      return
    }
    list.push({ path, host: addr.host })
    bound.set(key, list)
  }
  if (input.relay.id !== undefined && input.relay.listen) claim(input.relay.id, input.relay.listen, 'relay.listen')
  for (const { index, value } of input.services) {
    value.ingress?.forEach((ing, k) => claim(ing.relay, ing.listen, `services[${index}].ingress[${k}].listen`))
  }
}

function hex(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0')
}
