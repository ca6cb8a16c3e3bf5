/**
 * Every `npm run fuzz` target, briefly: each feeds a whole relay input path
 * (overlay socket, service socket, TUN, reflector, origin-probe sockets) with
 * generated, mutated and raw inputs. None may crash, leave an uncaught error
 * or break a property (no reply to strangers, no reply larger than its
 * request, bounded ICMP errors, only valid packets into the TUN), and every
 * refused input is counted under a known reason.
 */
import { describe, expect, it, vi } from 'vitest'
import { runTarget } from '../../bench/fuzz/main.js'
import { TARGETS } from '../../bench/fuzz/targets.js'
import { CRYPTO_DROP_NAMES } from '../../src/crypto/types.js'
import { DROP } from '../../src/dataplane/counters.js'
import { L3_PARSE_DROP } from '../../src/dataplane/l3-ingress.js'
import { HEADER_ERROR_NAMES } from '../../src/wire/data.js'
import { REPORT_ERROR_NAMES } from '../../src/wire/path-report.js'
import { RouterCore } from '../../src/route/router.js'

/** Inputs per target here; `npm run fuzz` runs 1,000,000. The handshake targets do X25519 per input. */
const INPUTS: Record<string, number> = { handshake_init: 150, handshake_resp: 150, control: 600 }
const DEFAULT_INPUTS = 800

const RELAY_REASONS = new Set<string>([
  ...Object.keys(DROP),
  ...Object.values(HEADER_ERROR_NAMES).map((n) => `header_${n}`),
  ...Object.values(CRYPTO_DROP_NAMES),
  ...Object.values(L3_PARSE_DROP),
  // Path reports (kind 4) that do not parse (control/path-reports.ts).
  ...Object.values(REPORT_ERROR_NAMES).map((n) => `path_report_malformed_${n}`),
])

function isKnownReason(target: string, reason: string): boolean {
  // The router's own named counters (route/router.ts, probe/prober.ts), and the control decoder's reasons (route/control-codec.ts).
  if (reason.startsWith('router_') || /^control_malformed_[a-z_]+$/.test(reason)) return true
  if (['twamp_reflector', 'twamp_sender', 'icmp_echo', 'proxy_v2', 'native_transit'].includes(target)) return /^[a-z_]+$/.test(reason)
  return RELAY_REASONS.has(reason)
}

describe('fuzz targets (npm run fuzz), a few inputs each', () => {
  for (const target of TARGETS) {
    it(`${target.name}: no crash, no uncaught error, no broken property, every drop named`, async () => {
      const r = await runTarget(target, INPUTS[target.name] ?? DEFAULT_INPUTS, 7)
      expect(r.examples ?? []).toEqual([])
      expect({ crashes: r.crashes, uncaught: r.uncaught, violations: r.violations }).toEqual({ crashes: 0, uncaught: 0, violations: 0 })
      expect(Object.keys(r.drops_by_reason).filter((k) => !isKnownReason(target.name, k))).toEqual([])
    })
  }

  it('counts an exception the relay contains (handler_error, control_handler_error) as a crash', async () => {
    const spy = vi.spyOn(RouterCore.prototype, 'onProbe').mockImplementation(() => {
      throw new Error('planted')
    })
    try {
      const r = await runTarget(TARGETS.find((t) => t.name === 'probe')!, 200, 1)
      expect(r.crashes).toBeGreaterThan(0)
      expect(r.examples?.[0]).toContain('planted')
    } finally {
      spy.mockRestore()
    }
  })

  it('native_transit reaches its commit: some generated datagrams are forwarded (checked), most declined', async () => {
    const r = await runTarget(TARGETS.find((t) => t.name === 'native_transit')!, 2000, 5)
    if (r.drops_by_reason.unavailable !== undefined) return // built without libsodium: nothing to reach
    expect(r.drops_by_reason.declined).toBeGreaterThan(0)
    expect(r.drops_by_reason.declined).toBeLessThan(2000)
  })

  it('reaches past the crypto: data packets from the peer are refused for data-plane reasons, not as unauthenticated', async () => {
    const r = await runTarget(TARGETS.find((t) => t.name === 'data')!, 1000, 3)
    const reasons = Object.keys(r.drops_by_reason)
    expect(reasons.some((k) => k.startsWith('header_'))).toBe(true)
    expect(reasons).toContain('not_for_me')
    expect(r.drops_by_reason.auth_failed ?? 0).toBe(0)
  })
})
