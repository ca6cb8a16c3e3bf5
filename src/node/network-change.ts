/**
 * What changed between the config a relay runs and a new one, and whether a
 * running relay can take it (node/live-apply.ts applies it). Pure: two
 * validated RelayConfigs in, a typed diff out.
 *
 * Live: peers added, removed, moved (endpoint) or re-keyed; this relay's
 * own key (a rotation); the routing settings; L4 services added or removed,
 * a kept service's settings that may change in place (LIVE_SERVICE_FIELDS),
 * and an L4 service's ports (at the same ingress relays) or origin moved.
 * Everything else a relay reads once at start (its sockets, threads, TUN,
 * control socket, state file, tuning, L3 services) is named in `restart`
 * and refuses the whole change: a config is applied whole or not at all.
 */
import { isIPv6 } from 'node:net'
import type { HostPort, PeerConfig, RelayConfig, ServiceConfig } from '../config/types.js'

/** A field of the new config that a running relay cannot take. */
export interface RestartField {
  /** Config path as the operator writes it, e.g. `relay.listen`. */
  field: string
  message: string
}

export interface ConfigDiff {
  peersAdded: string[]
  peersRemoved: string[]
  /** Same id, new endpoint. */
  endpointsMoved: string[]
  /** Same id, new public or signing keys (a rotation's next keys included). */
  keysChanged: string[]
  /** This relay's own private key changed (the second step of a rotation, docs/operating.md). */
  ownKeyChanged: boolean
  servicesAdded: string[]
  servicesRemoved: string[]
  /** Kept services whose settings changed, all of them in LIVE_SERVICE_FIELDS or moves (below). */
  servicesChanged: string[]
  /** Of those, the ones whose ingress ports (same relays) or origin moved: the old ones drain (node/live-apply.ts). */
  servicesMoved: string[]
  routingChanged: boolean
  /** Non-empty: the new config needs a restart, and nothing of it is applied. */
  restart: RestartField[]
}

export function diffConfigs(old: RelayConfig, next: RelayConfig): ConfigDiff {
  const oldPeers = new Map(old.peers.map((p) => [p.id, p]))
  const nextPeers = new Map(next.peers.map((p) => [p.id, p]))
  const oldServices = new Map(old.services.map((s) => [s.name, s]))
  const nextServices = new Map(next.services.map((s) => [s.name, s]))
  const kept = next.peers.filter((p) => oldPeers.has(p.id))
  const keptServices = next.services.filter((s) => oldServices.has(s.name))
  const changed = keptServices.filter((s) => !sameJson(s, oldServices.get(s.name)!))
  const l3Services = [...next.services.filter((s) => !oldServices.has(s.name)), ...old.services.filter((s) => !nextServices.has(s.name))].filter((s) => s.mode === 'l3')
  return {
    peersAdded: next.peers.filter((p) => !oldPeers.has(p.id)).map((p) => p.id),
    peersRemoved: old.peers.filter((p) => !nextPeers.has(p.id)).map((p) => p.id),
    endpointsMoved: kept.filter((p) => !sameAddresses(p, oldPeers.get(p.id)!)).map((p) => p.id),
    keysChanged: kept.filter((p) => !sameKeys(p, oldPeers.get(p.id)!)).map((p) => p.id),
    servicesAdded: next.services.filter((s) => !oldServices.has(s.name)).map((s) => s.name),
    servicesRemoved: old.services.filter((s) => !nextServices.has(s.name)).map((s) => s.name),
    servicesChanged: changed.filter((s) => restartServiceFields(oldServices.get(s.name)!, s).length === 0).map((s) => s.name),
    servicesMoved: changed.filter((s) => restartServiceFields(oldServices.get(s.name)!, s).length === 0 && isMove(oldServices.get(s.name)!, s)).map((s) => s.name),
    routingChanged: !sameJson(old.routing, next.routing),
    ownKeyChanged: hex(old.relay.privateKey) !== hex(next.relay.privateKey),
    restart: [...restartFields(old, next), ...changed.flatMap((s) => changedService(oldServices.get(s.name)!, s)), ...l3Services.map(l3Service)],
  }
}

/** True when the diff changes nothing a relay runs with. */
export function isEmptyDiff(d: ConfigDiff): boolean {
  return (
    d.restart.length === 0 &&
    !d.routingChanged &&
    !d.ownKeyChanged &&
    [d.peersAdded, d.peersRemoved, d.endpointsMoved, d.keysChanged, d.servicesAdded, d.servicesRemoved, d.servicesChanged].every((l) => l.length === 0)
  )
}

/** The diff in words, one line per change, for logs and `overpass reload`. */
export function describeDiff(d: ConfigDiff): string[] {
  const out: string[] = []
  const list = (label: string, ids: string[]): void => {
    if (ids.length > 0) out.push(`${label}: ${ids.join(', ')}`)
  }
  list('relays added', d.peersAdded)
  list('relays removed', d.peersRemoved)
  list('endpoints changed', d.endpointsMoved)
  list('keys changed', d.keysChanged)
  list('services added', d.servicesAdded)
  list('services removed (draining)', d.servicesRemoved)
  list('services changed', d.servicesChanged.filter((n) => !d.servicesMoved.includes(n)))
  list('services moved (old ports and origin draining)', d.servicesMoved)
  if (d.ownKeyChanged) out.push("this relay's own key changed")
  if (d.routingChanged) out.push('routing settings changed')
  return out
}

const RESTART = 'cannot change while the relay runs; restart it to apply this'

/** The fields a relay reads once at start. */
function restartFields(old: RelayConfig, next: RelayConfig): RestartField[] {
  const out: RestartField[] = []
  const check = (field: string, a: unknown, b: unknown, why = RESTART): void => {
    if (!sameJson(a, b)) out.push({ field, message: `${field} ${why}` })
  }
  const r = old.relay
  const n = next.relay
  check('relay.id', r.id, n.id, 'is who this relay is; a different id is a different relay (restart it with the new file)')
  check('relay.listen', r.listen, n.listen, `${RESTART} (the overlay socket is bound once)`)
  check('relay.workers', r.workers, n.workers, `${RESTART} (the worker threads start once)`)
  check('relay.mtu', r.mtu, n.mtu)
  check('relay.control_socket', r.controlSocket, n.controlSocket)
  check('relay.state_file', r.stateFile, n.stateFile)
  check('tuning', old.tuning, next.tuning)
  check('l3', old.l3, next.l3, `${RESTART} (the TUN device is set up once)`)
  check('metrics', old.metrics, next.metrics, `${RESTART} (its HTTP listener is bound once)`)
  // The overlay overhead (IPv4 or IPv6 underlay) sizes every service's largest payload at start.
  const v6 = (c: RelayConfig): boolean => isIPv6(c.relay.listen.host) || c.peers.some((p) => (p.endpoints ?? [p.endpoint]).some((e) => isIPv6(e.host)))
  if (v6(old) !== v6(next)) out.push({ field: 'peers[].endpoint', message: `the underlay family changes (an IPv6 endpoint ${v6(next) ? 'appears' : 'goes'}); the overlay overhead is fixed at start: restart to apply this` })
  return out
}

/**
 * A kept service's settings a running relay takes in place: the router's
 * (redundant, profile: a new router plans with them), the ingress's
 * (fallback, read per packet; the idle timeout, read per sweep) and the
 * exit's origin probe (its prober starts again). Every other field is the
 * identity of its ports, origin sockets, flows or paths: changing one is a
 * new service (operating.md, Live changes).
 */
export const LIVE_SERVICE_FIELDS = ['redundant', 'profile', 'fallback', 'flowIdleTimeoutMs', 'originProbe'] as const

/** The config spelling of a ServiceConfig field, for messages. */
const SERVICE_FIELD_NAMES: Partial<Record<keyof ServiceConfig, string>> = { replyPaths: 'reply_paths', maxFlows: 'max_flows', maxFlowsPerPrefix: 'max_flows_per_prefix' }

/** Fields of a kept service that changed and cannot change live. */
function restartServiceFields(a: ServiceConfig, b: ServiceConfig): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof ServiceConfig)[])
  const moves = a.mode === 'l4' && b.mode === 'l4' && sameJson(ingressRelays(a), ingressRelays(b)) ? ['ingress', 'origin'] : []
  return [...keys].filter((k) => !(LIVE_SERVICE_FIELDS as readonly string[]).includes(k) && !moves.includes(k) && !sameJson(a[k], b[k])).map((k) => SERVICE_FIELD_NAMES[k] ?? k)
}

/**
 * An L4 service's ports (at the same ingress relays) or its origin moved:
 * a removal and an addition under one name. New ports open first, the old
 * ones drain, as do exit flows to the old origin (node/live-apply.ts).
 */
function isMove(a: ServiceConfig, b: ServiceConfig): boolean {
  return !sameJson(a.ingress, b.ingress) || !sameJson(a.origin, b.origin)
}

function ingressRelays(s: ServiceConfig): string[] {
  return [...new Set(s.ingress.map((i) => i.relay))].sort()
}

function changedService(a: ServiceConfig, b: ServiceConfig): RestartField[] {
  const fields = restartServiceFields(a, b)
  if (fields.length === 0) return []
  return [{
    field: `services.${b.name}`,
    message: `service ${b.name}: ${fields.join(', ')} changed in place, which needs a restart; to change it live, add it under a new name and remove the old one, which then drains`,
  }]
}

function l3Service(s: ServiceConfig): RestartField {
  return { field: `services.${s.name}`, message: `service ${s.name} is an l3 service: adding or removing one needs a restart (its prefixes are routed into the TUN at start)` }
}

/**
 * What the router plans for (node/router-init.ts): the routed services with
 * their ends, profile and redundancy, in name order. Two configs with the
 * same string route alike; a different one needs a new router.
 */
export function routerServicesOf(config: RelayConfig): string {
  return JSON.stringify(
    config.services
      .filter((s) => s.paths.length === 0)
      .map((s) => [s.name, s.mode, s.ingress.map((i) => i.relay), s.exits, s.profile, s.redundant])
      .sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
  )
}

function sameKeys(a: PeerConfig, b: PeerConfig): boolean {
  const keys = (p: PeerConfig): string => [p.publicKey, p.signKey, p.next?.publicKey, p.next?.signKey].map((k) => (k ? hex(k) : '')).join('/')
  return keys(a) === keys(b)
}

/** Same address list (`endpoint`, or every one of `endpoints`, in order). */
function sameAddresses(a: PeerConfig, b: PeerConfig): boolean {
  const x = a.endpoints ?? [a.endpoint]
  const y = b.endpoints ?? [b.endpoint]
  return x.length === y.length && x.every((e, i) => sameHostPort(e, y[i]))
}

function sameHostPort(a: HostPort, b: HostPort): boolean {
  return a.host === b.host && a.port === b.port
}

function hex(key: Uint8Array): string {
  return Buffer.from(key).toString('hex')
}

/** Structural equality of config values (key bytes compared as bytes). */
export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a, bytesAsHex) === JSON.stringify(b, bytesAsHex)
}

function bytesAsHex(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value
}
