/**
 * The L3 parts of a relay file: the `l3:` section (the relay's TUN device)
 * and `mode: l3` services (prefixes instead of ingress/origin). Prefixes and
 * addresses are parsed here with l3/prefix.ts, whose typed errors already
 * carry the fix ("use 10.200.0.0/24"), and the cross-field rules are checked:
 * an exit of an l3 service must own a TUN, no prefix belongs to two
 * services, and the TUN MTU fits the underlay (docs/l3-mode.md, MTU).
 */
import { L3MtuError, checkedL3TunMtu, l3TunMtu } from '../l3/mtu.js'
import { PrefixParseError, formatPrefix, parseAddress, parsePrefix, type Prefix } from '../l3/prefix.js'
import type { ConfigIssue } from './errors.js'
import type { RawL3 } from './schema.js'
import type { InterfaceAddress, L3Config, ServiceConfig } from './types.js'

export interface L3CheckInput {
  selfId?: string
  relayMtu?: number
  ipv6Underlay: boolean
  /** The parsed `l3:` section, or undefined when absent; `present` tells absent from broken. */
  l3?: RawL3
  l3Present: boolean
  /** Every l3 service entry whose fields parsed (index in the file's list). */
  services: { index: number; name?: string; prefixes?: string[]; exits?: string[] }[]
}

/** Issues for the L3 rules. Runs on whatever parsed, like semantic.ts. */
export function checkL3(input: L3CheckInput): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const owner = new Map<string, string>()
  let carriesIpv6 = false
  for (const s of input.services) {
    const at = `services[${s.index}]`
    s.prefixes?.forEach((text, k) => {
      const path = `${at}.prefixes[${k}]`
      const p = prefixOrIssue(text, path, issues)
      if (p === undefined) return
      if (p.family === 6) carriesIpv6 = true
      const key = formatPrefix(p)
      const seen = owner.get(key)
      if (seen !== undefined) {
        issues.push({ path, message: `${key} is also listed at ${seen}; a prefix must belong to one service`, fix: 'remove the duplicate, or split the prefix between the services' })
      } else owner.set(key, path)
    })
    if (!input.l3Present && input.selfId !== undefined) {
      s.exits?.forEach((id, k) => {
        if (id !== input.selfId) return
        issues.push({
          path: `${at}.exits[${k}]`,
          message: `this relay ("${id}") is an exit of l3 service "${s.name ?? at}" but its file has no l3: section, so it has no TUN to deliver into`,
          fix: `add an l3: section (e.g. \`l3: { tun: op3${id.slice(0, 12)} }\`) to this relay's file, or remove "${id}" from exits`,
        })
      })
    }
  }
  if (input.l3 !== undefined) checkL3Section(input, input.l3, carriesIpv6, issues)
  return issues
}

function checkL3Section(input: L3CheckInput, l3: RawL3, carriesIpv6: boolean, issues: ConfigIssue[]): void {
  addressesOrIssues(l3.address, issues)
  if (input.relayMtu === undefined) return
  let max: number
  try {
    max = checkedL3TunMtu(input.relayMtu, input.ipv6Underlay, carriesIpv6)
  } catch (err) {
    if (!(err instanceof L3MtuError)) throw err
    issues.push({ path: 'relay.mtu', message: `${err.message.split(' (fix')[0]} for L3 mode${carriesIpv6 ? ' with IPv6 prefixes' : ''}`, fix: err.fix })
    return
  }
  if (l3.mtu === 'auto') return
  if (l3.mtu > max) {
    issues.push({
      path: 'l3.mtu',
      message: `${l3.mtu} is above the derived maximum ${max} for relay.mtu ${input.relayMtu} (${input.ipv6Underlay ? 'IPv6' : 'IPv4'} underlay)`,
      fix: `use auto (= ${max}) or a value up to ${max}`,
    })
  } else if (carriesIpv6 && l3.mtu < 1280) {
    issues.push({ path: 'l3.mtu', message: `${l3.mtu} is below 1280, the IPv6 minimum link MTU, and an l3 service carries IPv6`, fix: `use auto (= ${max}) or a value from 1280 to ${max}` })
  }
}

function prefixOrIssue(text: string, path: string, issues: ConfigIssue[]): Prefix | undefined {
  try {
    return parsePrefix(text)
  } catch (err) {
    if (!(err instanceof PrefixParseError)) throw err
    issues.push({ path, message: `${JSON.stringify(text)}: ${err.detail}`, fix: err.fix })
    return undefined
  }
}

/** "10.255.0.1/32": an interface address, so host bits are allowed (unlike a prefix). */
export function parseInterfaceAddress(text: string): InterfaceAddress {
  const slash = text.indexOf('/')
  if (slash < 0) {
    throw new PrefixParseError(text, 'missing_length', 'no /length', `write ${text.trim()}/${text.includes(':') ? 128 : 32} for the single address`)
  }
  const bytes = parseAddress(text.slice(0, slash))
  const lenText = text.slice(slash + 1).trim()
  const max = bytes.length * 8
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) {
    throw new PrefixParseError(text, 'bad_length', `length "${lenText}" is not 0..${max}`, `use a length from 0 to ${max}`)
  }
  return { family: bytes.length === 4 ? 4 : 6, bytes, length: Number(lenText), text: text.trim() }
}

function addressesOrIssues(raw: string | string[] | undefined, issues: ConfigIssue[]): InterfaceAddress[] {
  if (raw === undefined) return []
  const list = typeof raw === 'string' ? [raw] : raw
  const out: InterfaceAddress[] = []
  list.forEach((text, k) => {
    const path = typeof raw === 'string' ? 'l3.address' : `l3.address[${k}]`
    try {
      const a = parseInterfaceAddress(text)
      if (out.some((o) => o.family === a.family)) {
        issues.push({ path, message: `a second IPv${a.family} address`, fix: 'give at most one IPv4 and one IPv6 address' })
      } else out.push(a)
    } catch (err) {
      if (!(err instanceof PrefixParseError)) throw err
      issues.push({ path, message: `${JSON.stringify(text)}: ${err.detail}`, fix: err.fix })
    }
  })
  return out
}

/** The validated section as the rest of Overpass reads it (call after checkL3 found no issues). */
export function normaliseL3(l3: RawL3, relayMtu: number, ipv6Underlay: boolean): L3Config {
  const maxMtu = l3TunMtu(relayMtu, ipv6Underlay)
  return {
    tun: l3.tun,
    mtu: l3.mtu === 'auto' ? maxMtu : l3.mtu,
    maxMtu,
    oversizeWithoutDf: l3.oversize_without_df,
    clampMss: l3.clamp_mss,
    addresses: addressesOrIssues(l3.address, []),
  }
}

/**
 * Whether this relay takes traffic of `service` in: an L4 service names its
 * ingress relays; an L3 service's ingress is every relay with an `l3:`
 * section (its TUN may see packets for any l3 prefix).
 */
export function servesAsIngress(self: string, hasL3: boolean, service: ServiceConfig): boolean {
  if (service.mode === 'l3') return hasL3
  return service.ingress.some((i) => i.relay === self)
}
