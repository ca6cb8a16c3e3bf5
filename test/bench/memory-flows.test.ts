import dgram from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { exitFlows, ingressFlows } from '../../bench/memory/flows.js'
import { perFlow } from '../../bench/memory/main.js'

const sockets: dgram.Socket[] = []
afterEach(() => {
  for (const s of sockets.splice(0)) s.close()
})

async function echo(): Promise<number> {
  const s = dgram.createSocket('udp4')
  sockets.push(s)
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r))
  s.on('message', (m, r) => s.send(m, r.port, r.address))
  return s.address().port
}

describe('bench:memory flows', () => {
  it('makes every exit flow active: one real origin socket each, answered by the origin', async () => {
    const r = await exitFlows(40, await echo(), 'dgram', 5_000)
    expect(r).toMatchObject({ role: 'exit', flows: 40, active: 40 })
  })

  it('opens one ingress flow per distinct client address and port', async () => {
    const r = await ingressFlows(1_200, 5_000)
    expect(r).toMatchObject({ role: 'ingress', flows: 1_200, active: 1_200 })
  })

  it('projects a relay from its idle RSS plus the flows, and fails a target the projection exceeds', () => {
    const m = { rss_mb: 0, rss_anon_mb: 0, heap_used_mb: 0, external_mb: 0 }
    const r = { role: 'exit' as const, sockets: 'native' as const, flows: 1_000, active: 1_000, before: m, after: { ...m, rss_mb: 2 }, seconds: 1 }
    const row = perFlow(r, 70, 250, 100_000)
    expect(row.rss_per_flow_kb).toBeCloseTo(2.05, 2)
    expect(row.projected_relay_rss_mb).toBe(270)
    expect(row).toMatchObject({ measured: false, pass: false })
  })

  it('fails a target when too few flows were active, whatever the memory', () => {
    const m = { rss_mb: 0, rss_anon_mb: 0, heap_used_mb: 0, external_mb: 0 }
    const row = perFlow({ role: 'exit', sockets: 'dgram', flows: 1_000, active: 900, before: m, after: m, seconds: 1 }, 70, 100)
    expect(row.pass).toBe(false)
  })
})
