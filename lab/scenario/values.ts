/**
 * Scalar leaves of a scenario: durations keep fractions ("12.5ms" stays
 * 12.5 ms, unlike relay configs) because WAN delays come from measurements.
 */
import { z } from 'zod'
import { parsePercent } from '../../src/config/values.js'
import { PrefixParseError, formatPrefix, parsePrefix, type Prefix } from '../../src/l3/prefix.js'

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

/**
 * An L3 site's IPv4 prefix, 8..30 bits so it has room for the gateway (.1)
 * and the host (.2) the lab puts in it. IPv6 stays off in lab namespaces.
 */
export const ipv4Prefix = z.unknown().transform((value, ctx): string => {
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
  if (p.family !== 4) return fail('the lab carries IPv4 only')
  if (p.length < 8 || p.length > 30) return fail(`/${p.length} leaves no room for a gateway and a host, or is wider than a site`)
  return formatPrefix(p)
})

/** The n-th address of an IPv4 prefix ("10.101.0.0/24", 2 -> "10.101.0.2"). */
export function hostOf(prefix: string, n: number): string {
  const p = parsePrefix(prefix)
  const v = ((p.bytes[0] << 24) | (p.bytes[1] << 16) | (p.bytes[2] << 8) | p.bytes[3]) + n
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.')
}

/** Whether two IPv4 prefixes share any address. */
export function prefixesOverlap(a: string, b: string): boolean {
  const pa = parsePrefix(a)
  const pb = parsePrefix(b)
  const len = Math.min(pa.length, pb.length)
  for (let bit = 0; bit < len; bit++) {
    const m = 0x80 >> (bit & 7)
    if ((pa.bytes[bit >> 3] & m) !== (pb.bytes[bit >> 3] & m)) return false
  }
  return true
}
