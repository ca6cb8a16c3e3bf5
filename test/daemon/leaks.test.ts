import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { startDaemon } from '../../src/daemon/index.js'
import { silentLogger } from '../../src/io/log.js'
import { buildConfigs } from '../dataplane/helpers.js'
import { freePorts } from '../integration/harness.js'

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50))

/** Active handles and requests by type (UDPWRAP, Timeout, PipeServerWrap, ...). */
function resources(): Record<string, number> {
  const count: Record<string, number> = {}
  for (const r of process.getActiveResourcesInfo()) count[r] = (count[r] ?? 0) + 1
  return count
}

/** Resource types that have more live instances now than in `before`. */
function grown(before: Record<string, number>): string[] {
  return Object.entries(resources())
    .filter(([type, n]) => n > (before[type] ?? 0))
    .map(([type, n]) => `${type}: ${before[type] ?? 0} -> ${n}`)
}

describe('daemon lifecycle', () => {
  it('leaves no sockets, timers or control socket file behind after stop', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overpass-leak-'))
    const [base] = await freePorts(1)
    const configs = buildConfigs({ relays: ['lax', 'sea', 'dal'], basePort: base, services: [{ paths: [], ingress: [{ relay: 'lax', listen: { host: '127.0.0.1', port: 0 } }] }] })
    await settle()
    const before = resources()
    const running = []
    for (const c of configs.values()) {
      c.relay.controlSocket = path.join(dir, `${c.relay.id}.sock`)
      running.push(await startDaemon(c, { log: silentLogger }))
    }
    await new Promise((r) => setTimeout(r, 300))
    expect(grown(before)).not.toEqual([])
    for (const d of running) d.stop()
    await settle()
    expect(grown(before)).toEqual([])
    expect(fs.readdirSync(dir)).toEqual([])
    fs.rmSync(dir, { recursive: true })
  })
})
