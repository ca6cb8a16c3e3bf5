import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/index.js'
import { runCli } from './run-cli.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), 'overpass-init-'))
  dirs.push(d)
  return d
}

describe('overpass init', () => {
  it('writes a loopback kit that check passes, with keys at 0600', async () => {
    const out = join(temp(), 'kit')
    const r = await runCli(['init', '--relays', 'lax,sea,dal', '--out', out, '--loopback', '--base-port', '17001'])
    expect(r.err).toBe('')
    expect(r.exitCode).toBe(0)
    expect(readdirSync(out).sort()).toEqual(['README.md', 'dal.key', 'dal.yaml', 'lax.key', 'lax.yaml', 'network.yaml', 'network.yaml.sig', 'operator.key', 'sea.key', 'sea.yaml'])
    for (const key of ['lax.key', 'sea.key', 'dal.key', 'operator.key']) expect(statSync(join(out, key)).mode & 0o777).toBe(0o600)
    const check = await runCli(['check', '-c', join(out, 'lax.yaml'), '-c', join(out, 'sea.yaml'), '-c', join(out, 'dal.yaml')])
    expect(check.err).toBe('')
    expect(check.exitCode).toBe(0)
    expect(check.out.trim().split('\n')).toEqual(['relay lax: 2 peers, 0 services, network version 1; ok', 'relay sea: 2 peers, 0 services, network version 1; ok', 'relay dal: 2 peers, 0 services, network version 1; ok'])
    const sea = loadConfig(join(out, 'sea.yaml'))
    expect(sea.relay.listen).toEqual({ host: '127.0.0.1', port: 17002 })
    expect(sea.peers.map((p) => `${p.id}@${p.endpoint.port}`)).toEqual(['lax@17001', 'dal@17003'])
    expect(readFileSync(join(out, 'network.yaml.sig'), 'utf8')).toMatch(/^version: 1$/m)
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain('overpass check -c lax.yaml -c sea.yaml -c dal.yaml')
  })

  it('without --loopback listens on the wildcard and leaves documentation addresses to replace', async () => {
    const out = join(temp(), 'kit')
    expect((await runCli(['init', '--relays', 'a,b', '--out', out])).exitCode).toBe(0)
    const a = loadConfig(join(out, 'a.yaml'))
    expect(a.relay.listen).toEqual({ host: '0.0.0.0', port: 7001 })
    expect(a.peers[0].endpoint).toEqual({ host: '192.0.2.2', port: 7001 })
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toMatch(/placeholders from 192\.0\.2\.0\/24/)
  })

  it('never writes into a folder that is not empty', async () => {
    const out = temp()
    writeFileSync(join(out, 'lax.key'), 'keep me')
    const r = await runCli(['init', '--relays', 'lax', '--out', out])
    expect(r.exitCode).toBe(2)
    expect(r.err).toMatch(/exists and is not empty \(fix: pass --out with a new folder/)
    expect(readFileSync(join(out, 'lax.key'), 'utf8')).toBe('keep me')
  })

  it.each([
    ['an invalid id', 'lax,Sea', /"Sea" is not a valid relay id/],
    ['a repeated id', 'lax,lax', /relay "lax" is listed twice/],
    ['no ids', ',', /no relay ids given/],
  ])('refuses %s', async (_n, relays, message) => {
    const out = join(temp(), 'kit')
    const r = await runCli(['init', '--relays', relays, '--out', out])
    expect(r.exitCode).toBe(2)
    expect(r.err).toMatch(message)
  })
})
