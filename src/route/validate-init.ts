import { MAX_PROBE_INTERVAL_MS } from '../probe/prober.js'
import { RouterConfigError } from './errors.js'
import { PROFILE_NAMES } from './profiles.js'
import type { RouterInit } from './types.js'

/** Throws RouterConfigError naming the first inconsistent field of `init`. */
export function validateInit(init: RouterInit): void {
  const relays = new Set<string>()
  init.relays.forEach((r, i) => {
    if (typeof r !== 'string' || r === '') throw new RouterConfigError(`relays[${i}]`, 'must be a non-empty string')
    if (relays.has(r)) throw new RouterConfigError(`relays[${i}]`, `duplicate relay "${r}"`)
    relays.add(r)
  })
  if (relays.size > 0xffff) throw new RouterConfigError('relays', 'at most 65535 relays')
  if (!relays.has(init.self)) throw new RouterConfigError('self', `"${init.self}" is not in relays`)
  const names = new Set<string>()
  init.services.forEach((s, i) => {
    if (names.has(s.name)) throw new RouterConfigError(`services[${i}].name`, `duplicate service "${s.name}"`)
    names.add(s.name)
    for (const field of ['ingress', 'exits'] as const) {
      if (s[field].length === 0) throw new RouterConfigError(`services[${i}].${field}`, 'must not be empty')
      for (const r of s[field]) if (!relays.has(r)) throw new RouterConfigError(`services[${i}].${field}`, `unknown relay "${r}"`)
    }
    if (s.profile !== undefined && !PROFILE_NAMES.includes(s.profile)) {
      throw new RouterConfigError(`services[${i}].profile`, `unknown profile "${String(s.profile)}"`)
    }
  })
  const p = init.probeIntervalMs
  if (p !== undefined && !(p > 0 && p <= MAX_PROBE_INTERVAL_MS)) {
    throw new RouterConfigError('probeIntervalMs', `must be in (0, ${MAX_PROBE_INTERVAL_MS}] ms`)
  }
  if (init.lossDownAfter !== undefined && !(Number.isInteger(init.lossDownAfter) && init.lossDownAfter >= 1)) {
    throw new RouterConfigError('lossDownAfter', 'must be an integer >= 1')
  }
  for (const f of ['hopCostMs', 'floodIntervalMs', 'switchHoldMs', 'maxLossPct', 'staleAfterMs', 'originStaleMs'] as const) {
    const v = init[f]
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new RouterConfigError(f, 'must be a finite number >= 0')
  }
}
