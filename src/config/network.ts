/**
 * Consistency across several relays' files (`overpass check -c a.yaml -c b.yaml`):
 * each file is valid alone, but peers must agree on each other's keys and
 * addresses, and a shared service must mean the same thing everywhere.
 */
import type { ConfigIssue } from './errors.js'
import type { RelayConfig, ServiceConfig } from './types.js'
import { encodeKey, formatHostPort, isWildcardHost, signPublicKeyOf } from './values.js'

export interface NetworkIssue extends ConfigIssue {
  /** The file the path refers to. */
  sourcePath: string
}

export interface NetworkReport {
  errors: NetworkIssue[]
  warnings: NetworkIssue[]
}

export function checkNetwork(configs: readonly RelayConfig[]): NetworkReport {
  const report: NetworkReport = { errors: [], warnings: [] }
  const byId = new Map<string, RelayConfig>()
  for (const c of configs) {
    const other = byId.get(c.relay.id)
    if (other) {
      report.errors.push({ sourcePath: file(c), path: 'relay.id', message: `relay "${c.relay.id}" is also defined in ${file(other)}`, fix: 'give each relay a unique id' })
    } else byId.set(c.relay.id, c)
  }
  for (const a of configs) {
    a.peers.forEach((peer, i) => {
      const b = byId.get(peer.id)
      if (b) checkPeerPair(a, i, b, report)
    })
  }
  checkSharedServices(configs, report)
  checkL3Exits(configs, byId, report)
  return report
}

/** An exit of an l3 service writes its packets into its own TUN: its file needs an `l3:` section. */
function checkL3Exits(configs: readonly RelayConfig[], byId: Map<string, RelayConfig>, report: NetworkReport): void {
  const named = new Set<string>()
  for (const c of configs) {
    c.services.forEach((s, i) => {
      if (s.mode !== 'l3') return
      s.exits.forEach((exit, j) => {
        const target = byId.get(exit)
        const key = `${s.name}/${exit}`
        if (target === undefined || target.l3 !== undefined || named.has(key)) return
        named.add(key)
        report.errors.push({
          sourcePath: file(c),
          path: `services[${i}].exits[${j}]`,
          message: `relay "${exit}" exits l3 service "${s.name}" but ${file(target)} has no l3: section, so it has no TUN to deliver into`,
          fix: `add an l3: section (tun: NAME) to ${file(target)}, or remove "${exit}" from the exits`,
        })
      })
    })
  }
}

function checkPeerPair(a: RelayConfig, index: number, b: RelayConfig, report: NetworkReport): void {
  const peer = a.peers[index]
  const at = `peers[${index}]`
  const where = { sourcePath: file(a) }
  if (encodeKey(peer.publicKey) !== encodeKey(b.relay.publicKey)) {
    report.errors.push({ ...where, path: `${at}.public_key`, message: `does not match the key of relay "${b.relay.id}" in ${file(b)}`, fix: `use ${encodeKey(b.relay.publicKey)}` })
  }
  const signKey = encodeKey(signPublicKeyOf(b.relay.privateKey))
  if (encodeKey(peer.signKey) !== signKey) {
    report.errors.push({
      ...where, path: `${at}.sign_key`,
      message: `does not match the signing key of relay "${b.relay.id}" in ${file(b)}: its map columns would be refused as forged`,
      fix: `use ${signKey} (\`overpass pubkey --sign\` prints it from that relay's private key)`,
    })
  }
  const listen = b.relay.listen
  const portOnly = isWildcardHost(listen.host)
  if (peer.endpoint.port !== listen.port || (!portOnly && peer.endpoint.host !== listen.host)) {
    // Only a warning: NAT or port forwarding can legitimately make these differ.
    report.warnings.push({ ...where, path: `${at}.endpoint`, message: `${formatHostPort(peer.endpoint)} differs from relay "${b.relay.id}"'s listen ${formatHostPort(listen)}`, fix: 'make them match unless a NAT or port forward sits between' })
  }
  if (!b.peers.some((p) => p.id === a.relay.id)) {
    report.errors.push({ sourcePath: file(b), path: 'peers', message: `relay "${a.relay.id}" lists "${b.relay.id}" as a peer but not the other way round`, fix: `add a peer entry for "${a.relay.id}"; sessions need both sides to know each other's key` })
  }
}

function checkSharedServices(configs: readonly RelayConfig[], report: NetworkReport): void {
  const first = new Map<string, { config: RelayConfig; text: string }>()
  for (const c of configs) {
    c.services.forEach((s, i) => {
      const text = serviceText(s)
      const seen = first.get(s.name)
      if (!seen) first.set(s.name, { config: c, text })
      else if (seen.text !== text) {
        report.warnings.push({ sourcePath: file(c), path: `services[${i}]`, message: `service "${s.name}" differs from its definition in ${file(seen.config)}`, fix: 'copy the same service block into every relay file' })
      }
    })
  }
}

function serviceText(s: ServiceConfig): string {
  return JSON.stringify(s)
}

function file(c: RelayConfig): string {
  return c.sourcePath ?? `relay ${c.relay.id}`
}
