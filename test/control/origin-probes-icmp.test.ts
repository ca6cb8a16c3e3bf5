/**
 * ICMP origin probing on a real raw socket (root or CAP_NET_RAW), against
 * the loopback host's own echo replies: IPv4 (127.0.0.1) and IPv6 (::1,
 * ICMPv6 echo). Before IPv6 was supported an IPv6 origin got no ICMP
 * prober at all: the exit fell back to `none` and assumed the origin up.
 */
import { describe, expect, it } from 'vitest'
import { OriginProbes } from '../../src/control/origin-probes.js'
import { monotonicClock, realTimers } from '../../src/io/clock.js'
import { openRawIcmpSocket } from '../../src/io/raw-icmp.js'
import type { Logger } from '../../src/io/index.js'
import { silentLogger } from '../../src/io/log.js'
import type { OriginSample, Router } from '../../src/route/types.js'
import { buildConfigs } from '../dataplane/helpers.js'
import { waitFor } from '../integration/harness.js'
import { describeIf, type Gap } from '../support/requirements.js'

function rawSocketGap(family: 4 | 6): Gap {
  try {
    openRawIcmpSocket(family).close()
    return undefined
  } catch (err) {
    return `a raw ICMP${family === 6 ? 'v6' : ''} socket: ${(err as Error).message} (needs root or CAP_NET_RAW)`
  }
}

describeIf(rawSocketGap(6) ?? rawSocketGap(4), 'ICMP origin probes on loopback', () => {
  for (const host of ['127.0.0.1', '::1']) {
    it(`measure ${host} with real echo round trips, not the assumed one`, async () => {
      const configs = buildConfigs({
        relays: ['lax', 'dal'],
        services: [{ exits: ['dal'], origin: { host, port: 9000 }, originProbe: { method: 'icmp', port: 862, intervalMs: 50, assumedRttMs: 77 } }],
      })
      const samples: OriginSample[] = []
      const warnings: string[] = []
      const router = { onOriginSample: (_now: number, s: OriginSample) => samples.push(s) } as unknown as Router
      const log: Logger = { ...silentLogger, warn: (msg: string) => warnings.push(msg) }
      const probes = new OriginProbes(configs.get('dal')!, router, monotonicClock, realTimers, log)
      probes.start()
      try {
        expect(await waitFor(() => samples.filter((s) => s.rttMs !== undefined).length >= 5, 3000)).toBe(true)
      } finally {
        probes.stop()
      }
      expect(warnings).toEqual([])
      const rtts = samples.map((s) => s.rttMs).filter((r): r is number => r !== undefined)
      // Loopback echoes: well under a millisecond each, never the 77 ms the fallback would report.
      for (const r of rtts) expect(r).toBeLessThan(50)
      expect(samples.every((s) => s.method === 'icmp' && s.lost !== true)).toBe(true)
      // Each says the prober's interval: the router's silence deadline is taken from it (OriginEdge.silentAfterMs).
      expect(samples.every((s) => s.intervalMs === 50)).toBe(true)
    })
  }
})
