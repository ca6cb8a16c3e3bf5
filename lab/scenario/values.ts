/**
 * Scalar leaves of a scenario: durations keep fractions ("12.5ms" stays
 * 12.5 ms, unlike relay configs) because WAN delays come from measurements.
 */
import { z } from 'zod'
import { parsePercent } from '../../src/config/values.js'

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
