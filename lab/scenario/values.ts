/**
 * Scalar leaves of a scenario: durations keep fractions ("12.5ms" stays
 * 12.5 ms, unlike relay configs) because WAN delays come from measurements.
 */
import { z } from 'zod'
import { parsePercent } from '../../src/config/values.js'
import { PrefixParseError, formatAddress, formatPrefix, parsePrefix, type Prefix } from '../../src/l3/prefix.js'

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 }

export function parseLabDurationMs(text: string): { ok: true; value: number } | { ok: false; error: string } {
  const m = /^(\d+(?:\.\d+)?)\s*(us|ms|s|m)$/.exec(text.trim())
  if (!m) return { ok: false, error: `${JSON.stringify(text)} is not a duration with a unit (us, ms, s, m)` }
  return { ok: true, value: Number(m[1]) * UNIT_MS[m[2]] }
}

export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,11}$/

/** Names end up in namespace and veth names (15 bytes), so they stay short. */
export const name = z.string().refine((v) => NAME_PATTERN.test(v), { message: 'must be 1-12 characters: a lowercase letter, then letters, digits or -' })

export const duration = z.unknown().transform((value, ctx): number => {
  if (typeof value !== 'string') {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} has no unit`, input: value })
    return z.NEVER
  }
  const r = parseLabDurationMs(value)
  if (r.ok) return r.value
  ctx.addIssue({ code: 'custom', message: r.error, input: value })
  return z.NEVER
})

export const percent = z.unknown().transform((value, ctx): number => {
  const r = parsePercent(value)
  if (r.ok) return r.value
  ctx.addIssue({ code: 'custom', message: r.error, input: value })
  return z.NEVER
})

/** A positive number without unit (a delay factor). */
export const factor = z.unknown().transform((value, ctx): number => {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= 1000) return value
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a factor above 0 (at most 1000)`, input: value })
  return z.NEVER
})

/** Mean length of a loss burst, in packets of that direction: a number >= 1 without unit. */
export const burstPackets = z.unknown().transform((value, ctx): number => {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 1 && value <= 10_000) return value
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a burst length in packets (a number from 1 to 10000)`, input: value })
  return z.NEVER
})

/**
 * An L3 site's prefix of one family, with room for the gateway (::1 / .1)
 * and the host (::2 / .2) the lab puts in it: IPv4 8..30 bits, IPv6 16..126.
 */
function sitePrefix(family: 4 | 6, min: number, max: number) {
  return z.unknown().transform((value, ctx): string => {
    const fail = (message: string): never => {
      ctx.addIssue({ code: 'custom', message, input: value })
      return z.NEVER
    }
    if (typeof value !== 'string') return fail(`${JSON.stringify(value)} is not a prefix`)
    let p: Prefix
    try {
      p = parsePrefix(value)
    } catch (err) {
      return fail(err instanceof PrefixParseError ? `${err.detail} (${err.fix})` : String(err))
    }
    if (p.family !== family) return fail(family === 4 ? 'prefix is the IPv4 prefix; put an IPv6 one in prefix6' : 'prefix6 is the IPv6 prefix; put an IPv4 one in prefix')
    if (p.length < min || p.length > max) return fail(`/${p.length} leaves no room for a gateway and a host, or is wider than a site (IPv${family}: /${min} to /${max})`)
    return formatPrefix(p)
  })
}

export const ipv4Prefix = sitePrefix(4, 8, 30)
/** IPv6 runs over the same IPv4 overlay and WAN: only the sites' LANs, TUNs and CNI links carry it. */
export const ipv6Prefix = sitePrefix(6, 16, 126)

/** The lab's own IPv6 addresses (CNI links, topo/addressing.ts): no site prefix may overlap it. */
export const LAB_NET6 = 'fdcc::/16'

/** The n-th address of a prefix ("10.101.0.0/24", 2 -> "10.101.0.2"; "fd00:101::/64", 2 -> "fd00:101::2"). */
export function hostOf(prefix: string, n: number): string {
  const p = parsePrefix(prefix)
  const bytes = Uint8Array.from(p.bytes)
  let carry = n
  for (let i = bytes.length - 1; i >= 0 && carry > 0; i--) {
    const v = bytes[i] + carry
    bytes[i] = v & 255
    carry = v >>> 8
  }
  return formatAddress(bytes)
}

/** Whether two prefixes share any address (never across families). */
export function prefixesOverlap(a: string, b: string): boolean {
  const pa = parsePrefix(a)
  const pb = parsePrefix(b)
  if (pa.family !== pb.family) return false
  const len = Math.min(pa.length, pb.length)
  for (let bit = 0; bit < len; bit++) {
    const m = 0x80 >> (bit & 7)
    if ((pa.bytes[bit >> 3] & m) !== (pb.bytes[bit >> 3] & m)) return false
  }
  return true
}
