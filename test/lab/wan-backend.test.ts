/**
 * The WAN backend a real lab run picks (root only; `npm run test:lab`).
 * On a kernel with netem the run must use it and still delay packets by the
 * scenario's one-way delays; without netem it must fall back to the
 * user-space emulator, and forcing netem must fail cleanly, leaving nothing.
 */
import { expect, it } from 'vitest'
import { labDown } from '../../lab/topo/down.js'
import { inNs, listNamespaces } from '../../lab/topo/sh.js'
import { labUp } from '../../lab/topo/up.js'
import { netemAvailable } from '../../lab/wan/backend.js'
import { LAB_SKIP_REASON } from './lab-helpers.js'
import { describeIf, itIf, needsTools } from '../support/requirements.js'

/** Round trip lax <-> nyc in asymmetric.yaml: 40 ms each way. */
const SCENARIO = 'lab/scenarios/asymmetric.yaml'
const RTT_MS = 80

function pingAvgMs(ns: string, to: string): number {
  const out = inNs(ns, 'ping', '-c', '5', '-i', '0.2', '-W', '2', to)
  const m = /= [\d.]+\/([\d.]+)\//.exec(out)
  if (!m) throw new Error(`no ping summary in: ${out}`)
  return Number(m[1])
}

describeIf(LAB_SKIP_REASON, 'lab WAN backend', () => {
  itIf(needsTools('ping'), 'auto uses netem where the kernel has it, else the emulator, and either delays by the scenario', async () => {
    const lab = await labUp(SCENARIO, undefined, { wan: 'auto' })
    try {
      expect(lab.wan).toBe(netemAvailable(lab.ns('wan')).ok ? 'netem' : 'emulator')
      const rtt = pingAvgMs(lab.ns('lax'), lab.plan.relayAddr.get('nyc')!)
      expect(rtt).toBeGreaterThan(RTT_MS - 1)
      expect(rtt).toBeLessThan(RTT_MS + 10)
    } finally {
      await labDown(lab.state.run)
    }
  })

  it('forcing netem on a kernel without it fails with the fix and leaves nothing behind', async (ctx) => {
    let run: string | undefined
    const attempt = labUp(SCENARIO, (id) => (run = id), { wan: 'netem' })
    try {
      const lab = await attempt
      // This kernel has netem: the forced backend must be in use.
      try {
        expect(lab.wan).toBe('netem')
      } finally {
        await labDown(lab.state.run)
      }
      ctx.skip()
    } catch (err) {
      expect((err as Error).name).toBe('WanBackendError')
      expect((err as Error).message).toContain('--wan emulator')
      expect(listNamespaces().filter((n) => n.startsWith(`${run}-`))).toEqual([])
    }
  })
})
