/**
 * A received network version is judged by the same rules as `overpass
 * check`: the local file composed with the received bytes (loadLocalWithNetwork),
 * and the `rollout:` section is checked there too.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/errors.js'
import { loadBootstrap, loadLocalWithNetwork } from '../../src/config/local-file.js'
import { runCli } from '../cli/run-cli.js'
import { toYaml } from './fixtures.js'
import { localRaw, networkRaw, tempKits } from './network-kit.js'

const kit = tempKits()

describe('a received network version, checked for this relay', () => {
  it('composes with the local file like the file on disk would', () => {
    const k = kit()
    const net = networkRaw()
    net.rollout = { canaries: ['sea'], hold_s: 60 }
    const config = loadLocalWithNetwork(k.local('lax'), { bytes: new Uint8Array(Buffer.from(toYaml(net))), version: 7 })
    expect(config.network).toMatchObject({ version: 7 })
    expect(config.peers.map((p) => p.id)).toEqual(['sea', 'dal'])
  })

  it('reports what makes it invalid for this relay (here: the relay is no longer listed)', () => {
    const k = kit()
    const net = networkRaw()
    net.relays = net.relays.filter((r: { id: string }) => r.id !== 'lax')
    let err: unknown
    try {
      loadLocalWithNetwork(k.local('lax'), { bytes: new Uint8Array(Buffer.from(toYaml(net))), version: 2 })
    } catch (e) {
      err = e
    }
    expect((err as ConfigError).name).toBe('ConfigError')
    expect((err as ConfigError).message).toContain('relay "lax" is not listed')
  })
})

describe('bootstrapping a new relay (loadBootstrap)', () => {
  it('builds a config with the bootstrap member as the only peer and version 0 running', () => {
    const k = kit()
    const sea = networkRaw().relays[1]
    const local = { relay: { id: 'lax', private_key_file: 'lax.key', listen: '127.0.0.1:7001' }, network: { file: 'fresh.yaml', operator_key: localRaw().network.operator_key, bootstrap: sea } }
    writeFileSync(k.local('lax'), toYaml(local))
    const { config, running } = loadBootstrap(k.local('lax'))
    expect(config.peers.map((p) => p.id)).toEqual(['sea'])
    expect(config.services).toEqual([])
    expect(config.network).toMatchObject({ version: 0 })
    expect(running.version).toBe(0)
  })

  it('names network.bootstrap when it is missing or malformed', () => {
    const k = kit()
    expect(() => loadBootstrap(k.local('lax'))).toThrow(/network\.bootstrap: is missing/)
    const local = localRaw()
    writeFileSync(k.local('lax'), toYaml({ ...local, network: { ...local.network, bootstrap: { id: 'sea', endpoint: '127.0.0.1:7002' } } }))
    expect(() => loadBootstrap(k.local('lax'))).toThrow(/network\.bootstrap\.public_key/)
  })
})

describe('overpass check and the rollout: section', () => {
  it('passes a file naming its canaries', async () => {
    const net = networkRaw()
    net.rollout = { canaries: ['sea'], hold_s: 300 }
    const r = await runCli(['check', '-c', kit(net).local('lax')])
    expect(r.err).toBe('')
    expect(r.exitCode).toBe(0)
  })

  it('exits 2 naming rollout.canaries when a canary is not a relay of the file', async () => {
    const net = networkRaw()
    net.rollout = { canaries: ['nyc'] }
    const k = kit(net)
    const r = await runCli(['check', '-c', k.local('lax')])
    expect(r.exitCode).toBe(2)
    expect(r.err).toMatch(/network\.yaml: rollout\.canaries: "nyc" is not a relay of this file \(fix: .*\) \[line \d+\]/)
    expect(readFileSync(k.network, 'utf8')).toContain('nyc')
  })
})
