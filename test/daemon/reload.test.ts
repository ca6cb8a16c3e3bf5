/**
 * `overpass reload` / SIGHUP (daemon/reload.ts): re-reads the files and
 * applies them; refuses to go back to an older signed network version (a
 * replayed or restored old network.yaml must not undo a newer one).
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { writeKit } from '../../src/cli/commands/init.js'
import { loadConfig } from '../../src/config/load.js'
import type { RelayConfig } from '../../src/config/types.js'
import { ConfigReloader } from '../../src/daemon/index.js'
import { silentLogger } from '../../src/io/log.js'
import type { LiveNodeControl } from '../../src/node/index.js'
import { tempDir } from '../integration/harness.js'

let dir: string | undefined
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

/** A node that records what it is asked to do. */
function fakeNode(config: RelayConfig): { live: LiveNodeControl; calls: string[] } {
  const calls: string[] = []
  let applied = config
  return {
    calls,
    live: {
      get config() {
        return applied
      },
      handingOver: false,
      peerTable: () => applied.peers.map((peer, index) => ({ index, peer })),
      peerIndexLimit: () => applied.peers.length,
      setPeers: () => void calls.push('setPeers'),
      setPrivateKey: () => void calls.push('setPrivateKey'),
      handOver: () => void calls.push('handOver'),
      commit: (c) => {
        applied = c
        calls.push('commit')
      },
      later: () => {},
      draining: new Map(),
      serviceDrainMs: 1000,
      log: silentLogger,
      setServices: async () => void calls.push('setServices'),
    },
  }
}

describe('reloading the config files', () => {
  function kit(): string {
    dir = tempDir('overpass-reload-')
    fs.rmSync(dir, { recursive: true, force: true })
    writeKit(dir, { relays: ['lax', 'sea'], loopback: true, basePort: 47000 })
    return path.join(dir, 'lax.yaml')
  }

  it('reports an unchanged file as unchanged, and status shows it', async () => {
    const file = kit()
    const node = fakeNode(loadConfig(file))
    const r = new ConfigReloader(node, file, silentLogger)
    expect((await r.reload('SIGHUP')).status).toBe('unchanged')
    expect(r.view()).toMatchObject({ network_version: 1, last_change: { trigger: 'SIGHUP', result: { status: 'unchanged' } } })
  })

  it('refuses an older signed network version than the one running, changing nothing', async () => {
    const file = kit()
    const running = loadConfig(file)
    const node = fakeNode({ ...running, peers: [], network: { ...running.network!, version: 5 } })
    const r = await new ConfigReloader(node, file, silentLogger).reload('reload')
    expect(r.status).toBe('invalid')
    if (r.status === 'invalid') expect(r.reasons[0].message).toMatch(/version 1 is older than version 5/)
    expect(node.calls).toEqual([])
  })

  it('reports an unreadable file as invalid, changing nothing', async () => {
    const file = kit()
    const node = fakeNode(loadConfig(file))
    fs.writeFileSync(file, 'relay: [')
    const r = await new ConfigReloader(node, file, silentLogger).reload('reload')
    expect(r.status).toBe('invalid')
    expect(node.calls).toEqual([])
  })
})
