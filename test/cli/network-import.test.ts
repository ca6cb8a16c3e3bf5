import { cpSync, chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { loadConfig, encodeKey, type RelayConfig } from '../../src/config/index.js'
import { operatorKeyText } from '../../src/cli/commands/network.js'
import { runCli } from './run-cli.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** The loopback example (lax -> sea -> dal, one file per relay) in a temp folder, keys at 0600. */
function example(): string {
  const d = mkdtempSync(join(tmpdir(), 'overpass-import-'))
  dirs.push(d)
  cpSync(join(__dirname, '../../examples/loopback'), d, { recursive: true })
  for (const id of ['lax', 'sea', 'dal']) chmodSync(join(d, `${id}.key`), 0o600)
  return d
}
const files = (d: string, ids = ['lax', 'sea', 'dal']) => ids.map((id) => join(d, `${id}.yaml`))

/** What a relay's config says about the network, independent of file layout and peer order. */
function describeRelay(c: RelayConfig) {
  return {
    id: c.relay.id,
    privateKey: encodeKey(c.relay.privateKey),
    listen: c.relay.listen,
    controlSocket: c.relay.controlSocket,
    mtu: c.relay.mtu,
    workers: c.relay.workers,
    peers: c.peers.map((p) => ({ id: p.id, key: encodeKey(p.publicKey), sign: encodeKey(p.signKey), endpoint: p.endpoint, endpoints: p.endpoints })).sort((a, b) => a.id.localeCompare(b.id)),
    services: c.services,
    tuning: c.tuning,
    routing: c.routing,
    l3: c.l3,
    metrics: c.metrics,
  }
}

function editYaml(path: string, edit: (raw: Record<string, any>) => void): void {
  const raw = parse(readFileSync(path, 'utf8')) as Record<string, any>
  edit(raw)
  writeFileSync(path, stringify(raw))
}

describe('overpass network import', () => {
  it('turns the loopback example into a signed kit that check passes and that describes the same relays, services and keys', async () => {
    const d = example()
    const out = join(d, 'kit')
    const r = await runCli(['network', 'import', ...files(d), '--out', out])
    expect(r.err).toBe('')
    expect(r.exitCode).toBe(0)
    expect(readdirSync(out).sort()).toEqual(['dal.key', 'dal.yaml', 'lax.key', 'lax.yaml', 'network.yaml', 'network.yaml.sig', 'operator.key', 'sea.key', 'sea.yaml'])
    for (const key of ['lax.key', 'sea.key', 'dal.key', 'operator.key']) expect(statSync(join(out, key)).mode & 0o777).toBe(0o600)

    const check = await runCli(['check', ...files(out).flatMap((f) => ['-c', f])])
    expect(check.err).toBe('')
    expect(check.exitCode).toBe(0)
    expect(check.out).toContain('relay lax: 2 peers, 1 service, network version 1; ok')
    for (const id of ['lax', 'sea', 'dal']) {
      const before = loadConfig(join(d, `${id}.yaml`))
      const after = loadConfig(join(out, `${id}.yaml`))
      expect(describeRelay(after)).toEqual(describeRelay(before))
      expect(after.network?.version).toBe(1)
    }
    const network = parse(readFileSync(join(out, 'network.yaml'), 'utf8')) as Record<string, any>
    expect(network.relays.map((r: { id: string; endpoint: string }) => `${r.id}@${r.endpoint}`)).toEqual(['lax@127.0.0.1:7001', 'sea@127.0.0.1:7002', 'dal@127.0.0.1:7003'])
    expect(Object.keys(network).sort()).toEqual(['relays', 'services', 'tuning'])
  })

  it('signs with an existing operator key when --key names one, and writes no operator.key', async () => {
    const d = example()
    const key = join(d, 'op.key')
    writeFileSync(key, operatorKeyText(new Uint8Array(32).fill(3)), { mode: 0o600 })
    const out = join(d, 'kit')
    expect((await runCli(['network', 'import', ...files(d), '--out', out, '--key', key])).exitCode).toBe(0)
    expect(readdirSync(out)).not.toContain('operator.key')
    expect((await runCli(['check', '-c', join(out, 'lax.yaml')])).exitCode).toBe(0)
  })

  it('keeps relays that are only named as peers, with the entry their peers give', async () => {
    const d = example()
    const out = join(d, 'kit')
    expect((await runCli(['network', 'import', join(d, 'lax.yaml'), '--out', out])).exitCode).toBe(0)
    const before = loadConfig(join(d, 'lax.yaml'))
    const after = loadConfig(join(out, 'lax.yaml'))
    expect(describeRelay(after)).toEqual(describeRelay(before))
    expect(readdirSync(out)).not.toContain('sea.yaml')
  })

  it('moves an inline private key into a 0600 key file', async () => {
    const d = example()
    const laxKey = /^private_key:\s*(\S+)$/m.exec(readFileSync(join(d, 'lax.key'), 'utf8'))![1]
    editYaml(join(d, 'lax.yaml'), (raw) => {
      delete raw.relay.private_key_file
      raw.relay.private_key = laxKey
    })
    chmodSync(join(d, 'lax.yaml'), 0o600)
    const out = join(d, 'kit')
    const r = await runCli(['network', 'import', ...files(d), '--out', out])
    expect(r.err).toBe('')
    expect(readFileSync(join(out, 'lax.yaml'), 'utf8')).not.toContain('private_key:')
    expect(encodeKey(loadConfig(join(out, 'lax.yaml')).relay.privateKey)).toBe(encodeKey(loadConfig(join(d, 'lax.yaml')).relay.privateKey))
  })

  it('refuses files that disagree on a relay\'s endpoint, naming both, and writes nothing', async () => {
    const d = example()
    editYaml(join(d, 'sea.yaml'), (raw) => {
      raw.peers[0].endpoint = '127.0.0.1:7101'
    })
    const out = join(d, 'kit')
    const r = await runCli(['network', 'import', ...files(d), '--out', out])
    expect(r.exitCode).toBe(2)
    expect(r.err).toContain('peers reach relay "lax" at different endpoints: 127.0.0.1:7101')
    expect(r.err).toContain('127.0.0.1:7001')
    expect(readdirSync(d)).not.toContain('kit')
  })

  it('refuses a service defined two ways', async () => {
    const d = example()
    editYaml(join(d, 'dal.yaml'), (raw) => {
      raw.services[0].max_flows = 10
    })
    const r = await runCli(['network', 'import', ...files(d), '--out', join(d, 'kit')])
    expect(r.exitCode).toBe(2)
    expect(r.err).toMatch(/dal\.yaml: service "game" differs from its definition in .*lax\.yaml/)
  })

  it('refuses routing settings that differ between files', async () => {
    const d = example()
    editYaml(join(d, 'sea.yaml'), (raw) => {
      raw.routing = { probe_interval: '50ms' }
    })
    const r = await runCli(['network', 'import', ...files(d), '--out', join(d, 'kit')])
    expect(r.exitCode).toBe(2)
    expect(r.err).toContain('routing differs from')
  })

  it('refuses an invalid old file with check\'s messages', async () => {
    const d = example()
    editYaml(join(d, 'sea.yaml'), (raw) => {
      raw.relay.listen = 'nowhere'
    })
    const r = await runCli(['network', 'import', ...files(d), '--out', join(d, 'kit')])
    expect(r.exitCode).toBe(2)
    expect(r.err).toMatch(/sea\.yaml: relay\.listen/)
  })

  it('refuses a file that is already a local file, and a non-empty output folder', async () => {
    const d = example()
    const out = join(d, 'kit')
    expect((await runCli(['network', 'import', ...files(d), '--out', out])).exitCode).toBe(0)
    const again = await runCli(['network', 'import', join(out, 'lax.yaml'), '--out', join(d, 'kit2')])
    expect(again.exitCode).toBe(2)
    expect(again.err).toContain('already a local file')
    const full = await runCli(['network', 'import', ...files(d), '--out', out])
    expect(full.exitCode).toBe(2)
    expect(full.err).toContain('exists and is not empty')
  })

  it('writes endpoints: for a relay its peers know at several addresses', async () => {
    const d = example()
    for (const id of ['sea', 'dal']) {
      editYaml(join(d, `${id}.yaml`), (raw) => {
        const lax = raw.peers.find((p: { id: string }) => p.id === 'lax')
        delete lax.endpoint
        lax.endpoints = ['127.0.0.1:7001', '[::1]:7001']
      })
    }
    const out = join(d, 'kit')
    const r = await runCli(['network', 'import', ...files(d), '--out', out])
    expect(r.err).toBe('')
    const network = parse(readFileSync(join(out, 'network.yaml'), 'utf8')) as Record<string, any>
    expect(network.relays[0]).toMatchObject({ id: 'lax', endpoints: ['127.0.0.1:7001', '[::1]:7001'] })
    expect(network.relays[0].endpoint).toBeUndefined()
    expect(describeRelay(loadConfig(join(out, 'sea.yaml')))).toEqual(describeRelay(loadConfig(join(d, 'sea.yaml'))))
  })
})
