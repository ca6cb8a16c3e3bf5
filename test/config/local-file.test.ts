import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, type RelayConfig } from '../../src/config/index.js'
import { signNetworkFile } from '../../src/cli/commands/network.js'
import { toYaml, validRaw } from './fixtures.js'
import { localRaw, networkRaw, tempKits } from './network-kit.js'

const kit = tempKits()

function issuesOf(fn: () => unknown): ConfigError['issues'] {
  try {
    fn()
  } catch (err) {
    expect((err as Error).name).toBe('ConfigError')
    return (err as ConfigError).issues
  }
  throw new Error('expected a ConfigError')
}

const withoutSource = (c: RelayConfig) => ({ ...c, sourcePath: undefined, network: undefined })

describe('a local file with a signed network file', () => {
  it('loads as exactly the RelayConfig of the equivalent one-file config', () => {
    const k = kit()
    const one = validRaw()
    one.relay = { id: 'lax', private_key_file: 'lax.key', listen: '127.0.0.1:7001' }
    const oneFile = join(k.dir, 'lax-one.yaml')
    writeFileSync(oneFile, toYaml(one))
    const composed = loadConfig(k.local('lax'))
    expect(composed.sourcePath).toBe(k.local('lax'))
    expect(composed.network).toMatchObject({ file: k.network, version: 1 })
    expect(withoutSource(composed)).toEqual(withoutSource(loadConfig(oneFile)))
  })

  it('gives every relay the others as peers', () => {
    const k = kit()
    expect(loadConfig(k.local('sea')).peers.map((p) => p.id)).toEqual(['lax', 'dal'])
    expect(loadConfig(k.local('dal')).peers.map((p) => p.id)).toEqual(['lax', 'sea'])
  })

  it('refuses a network file altered after signing, naming the signature', () => {
    const k = kit()
    writeFileSync(k.network, readFileSync(k.network, 'utf8').replace('127.0.0.1:7003', '127.0.0.1:7009'))
    const issues = issuesOf(() => loadConfig(k.local('lax')))
    expect(issues).toHaveLength(1)
    expect(issues[0]).toMatchObject({ file: k.network + '.sig', path: 'signature' })
    expect(issues[0].message).toMatch(/signature does not match/)
  })

  it('refuses a signature altered or signed by another operator', () => {
    const k = kit()
    const sig = readFileSync(k.network + '.sig', 'utf8')
    writeFileSync(k.network + '.sig', sig.replace(/signature: (.)/, (_m, c: string) => `signature: ${c === 'A' ? 'B' : 'A'}`))
    expect(issuesOf(() => loadConfig(k.local('lax')))[0].path).toBe('signature')
    const other = kit(networkRaw(), { lax: { ...localRaw('lax'), network: { file: 'network.yaml', operator_key: Buffer.alloc(32, 1).toString('base64') } } })
    expect(issuesOf(() => loadConfig(other.local('lax')))[0]).toMatchObject({ path: 'signature' })
  })

  it('refuses an unsigned network file with the command that signs it', () => {
    const k = kit()
    rmSync(k.network + '.sig')
    const [issue] = issuesOf(() => loadConfig(k.local('lax')))
    expect(issue.fix).toMatch(/overpass network sign --key/)
  })

  it('names the network file, its relays[] path and line for a problem in a peer entry', () => {
    const net = networkRaw()
    net.relays[2].endpoint = '127.0.0.1'
    const k = kit(net)
    const issues = issuesOf(() => loadConfig(k.local('lax')))
    expect(issues).toHaveLength(1)
    expect(issues[0]).toMatchObject({ file: k.network, path: 'relays[2].endpoint' })
    expect(issues[0].line).toBeGreaterThan(1)
  })

  it('names the network file for a problem in a service', () => {
    const net = networkRaw()
    net.services[0].exits = ['nyc']
    const issues = issuesOf(() => loadConfig(kit(net).local('sea')))
    expect(issues[0]).toMatchObject({ path: 'services[0].exits[0]' })
    expect(issues[0].file).toMatch(/network\.yaml$/)
  })

  it('names the local file (no file field) for a problem in relay:', () => {
    const local = localRaw('lax')
    local.relay.lisen = local.relay.listen
    const issues = issuesOf(() => loadConfig(kit(networkRaw(), { lax: local }).local('lax')))
    expect(issues.some((i) => i.path === 'relay.lisen' && i.file === undefined && i.line !== undefined)).toBe(true)
  })

  it('refuses a relay missing from the network file', () => {
    const net = networkRaw()
    net.relays.splice(0, 1)
    net.services = []
    const issues = issuesOf(() => loadConfig(kit(net).local('lax')))
    expect(issues[0]).toMatchObject({ path: 'relay.id' })
    expect(issues[0].message).toMatch(/not listed in/)
  })

  it('refuses a network entry whose public key is not this relay\'s', () => {
    const net = networkRaw()
    net.relays[0].public_key = net.relays[1].public_key
    const issues = issuesOf(() => loadConfig(kit(net).local('lax')))
    expect(issues.map((i) => i.path)).toContain('relays[0].public_key')
  })

  it('refuses peers:, services: or other shared sections in a local file', () => {
    const local = { ...localRaw('lax'), services: [] }
    const issues = issuesOf(() => loadConfig(kit(networkRaw(), { lax: local }).local('lax')))
    expect(issues[0].path).toBe('services')
  })

  it('refuses relay-local sections in the network file', () => {
    const net = { ...networkRaw(), l3: { tun: 'op0' } }
    const issues = issuesOf(() => loadConfig(kit(net).local('lax')))
    expect(issues[0].file).toMatch(/network\.yaml$/)
    expect(issues[0].message).toMatch(/l3/)
  })

  it('accepts a newly signed version of an edited file', () => {
    const k = kit()
    writeFileSync(k.network, readFileSync(k.network, 'utf8').replace('127.0.0.1:7003', '127.0.0.1:7009'))
    expect(signNetworkFile(k.network, k.operatorKeyFile)).toBe(2)
    expect(loadConfig(k.local('lax')).peers[1].endpoint).toEqual({ host: '127.0.0.1', port: 7009 })
  })
})

describe('a network file given as a relay file', () => {
  it('says it is a network file and to check the local files', () => {
    const k = kit()
    const issues = issuesOf(() => loadConfig(k.network))
    expect(issues).toHaveLength(1)
    expect(issues[0].message).toMatch(/this is a network file/)
    expect(issues[0].fix).toMatch(/overpass check -c lax\.yaml/)
  })
})
