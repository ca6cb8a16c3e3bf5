import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { SEA_SIGN, loopbackExamplesIn, seaRaw, toYaml, validRaw, type Raw } from '../config/fixtures.js'
import { runCli } from './run-cli.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function writeConfig(raw: Raw | string, name = 'relay.yaml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'overpass-check-'))
  dirs.push(dir)
  const file = join(dir, name)
  writeFileSync(file, typeof raw === 'string' ? raw : toYaml(raw), { mode: 0o600 })
  return file
}

describe('overpass check', () => {
  it('prints a one-line summary and exits 0 for a valid file', async () => {
    const { out, err, exitCode } = await runCli(['check', '-c', writeConfig(validRaw())])
    expect(exitCode).toBe(0)
    expect(err).toBe('')
    expect(out).toBe('relay lax: 2 peers, 1 service; ok\n')
  })

  it('prints every problem as path: message (fix: ...) and exits 2', async () => {
    const raw = validRaw()
    raw.relay.listen = '127.0.0.1'
    raw.services[0].delivery = 'tunnel'
    raw.services[0].exits = ['nyc']
    const { out, err, exitCode } = await runCli(['check', '-c', writeConfig(raw)])
    expect(exitCode).toBe(2)
    expect(out).toBe('')
    const lines = err.trim().split('\n')
    expect(lines).toHaveLength(4)
    expect(lines[0]).toMatch(/relay\.yaml: 3 problems$/)
    expect(lines[1]).toMatch(/^relay\.listen: "127\.0\.0\.1": missing the ":port" part \(fix: use host:port.*\) \[line \d+\]$/)
    expect(lines[2]).toMatch(/^services\[0\]\.delivery: must be one of "proxy", "proxy-protocol", got "tunnel" \(fix: use proxy or proxy-protocol\) \[line \d+\]$/)
    expect(lines[3]).toMatch(/^services\[0\]\.exits\[0\]: unknown relay "nyc" \(fix: use this relay's id or a listed peer: lax, sea, dal\) \[line \d+\]$/)
  })

  it('reports YAML syntax errors with line and column', async () => {
    const { err, exitCode } = await runCli(['check', '-c', writeConfig('relay:\n  id: lax\n  listen: [::1]:7001\n')])
    expect(exitCode).toBe(2)
    expect(err).toMatch(/\n\(file\): YAML syntax error at line 3, column \d+: .*\(fix: .*quote/)
  })

  it('refuses a config with private_key inline that others can read, printing the chmod that fixes it', async () => {
    const file = writeConfig(validRaw())
    chmodSync(file, 0o644)
    const { out, err, exitCode } = await runCli(['check', '-c', file])
    expect(exitCode).toBe(2)
    expect(out).toBe('')
    expect(err).toContain(`relay.private_key: ${file} holds private_key inline and group or others can read it (mode 0644) (fix: chmod 600 ${file})`)
  })

  it('reports a missing file', async () => {
    const { err, exitCode } = await runCli(['check', '-c', '/nonexistent/relay.yaml'])
    expect(exitCode).toBe(2)
    expect(err).toMatch(/cannot read config file: ENOENT/)
  })

  it('passes the three loopback examples checked together', async () => {
    const examples = mkdtempSync(join(tmpdir(), 'overpass-check-'))
    dirs.push(examples)
    const files = ['lax', 'sea', 'dal'].map((id) => join(loopbackExamplesIn(examples), `${id}.yaml`))
    const { out, err, exitCode } = await runCli(['check', ...files.flatMap((f) => ['-c', f])])
    expect(err).toBe('')
    expect(exitCode).toBe(0)
    expect(out).toBe('relay lax: 2 peers, 1 service; ok\nrelay sea: 2 peers, 1 service; ok\nrelay dal: 2 peers, 1 service; ok\n')
  })

  it('passes two agreeing files of the fixture network', async () => {
    const { out, exitCode } = await runCli(['check', '-c', writeConfig(validRaw()), '-c', writeConfig(seaRaw())])
    expect(exitCode).toBe(0)
    expect(out).toBe('relay lax: 2 peers, 1 service; ok\nrelay sea: 2 peers, 1 service; ok\n')
  })

  it("catches a peer key that does not match the other relay's file", async () => {
    const lax = validRaw()
    lax.peers[0].public_key = Buffer.alloc(32, 9).toString('base64')
    const { err, exitCode } = await runCli(['check', '-c', writeConfig(lax, 'lax.yaml'), '-c', writeConfig(seaRaw(), 'sea.yaml')])
    expect(exitCode).toBe(2)
    expect(err.trim()).toMatch(/^\S*lax\.yaml: peers\[0\]\.public_key: does not match the key of relay "sea" in \S*sea\.yaml \(fix: use \S{44}\)/)
  })

  it("catches a peer sign_key that does not match the other relay's private key, with the key to use", async () => {
    const lax = validRaw()
    lax.peers[0].sign_key = Buffer.alloc(32, 9).toString('base64')
    const { err, exitCode } = await runCli(['check', '-c', writeConfig(lax, 'lax.yaml'), '-c', writeConfig(seaRaw(), 'sea.yaml')])
    expect(exitCode).toBe(2)
    expect(err.trim()).toMatch(/^\S*lax\.yaml: peers\[0\]\.sign_key: does not match the signing key of relay "sea" in \S*sea\.yaml: its map columns would be refused as forged \(fix: use (\S{44}) /)
    expect(err).toContain(SEA_SIGN)
  })

  it('explains a missing sign_key with its field path and where to get it', async () => {
    const lax = validRaw()
    delete lax.peers[1].sign_key
    const { err, exitCode } = await runCli(['check', '-c', writeConfig(lax, 'lax.yaml')])
    expect(exitCode).not.toBe(0)
    expect(err).toMatch(/peers\[1\]\.sign_key: .*\(fix: paste that relay's sign_key \(`overpass keygen` prints it; `overpass pubkey --sign` prints it from its private key\)\)/)
  })

  it('catches a peering listed on one side only', async () => {
    const sea = seaRaw()
    sea.peers.splice(0, 1)
    sea.services[0].ingress[0].relay = 'sea'
    sea.services[0].paths = [['sea', 'dal']]
    const { err, exitCode } = await runCli(['check', '-c', writeConfig(validRaw(), 'lax.yaml'), '-c', writeConfig(sea, 'sea.yaml')])
    expect(exitCode).toBe(2)
    expect(err).toMatch(/sea\.yaml: peers: relay "lax" lists "sea" as a peer but not the other way round/)
    expect(err).toMatch(/sea\.yaml: warning: services\[0\]: service "game" differs/)
  })

  it('fails when -c is missing', async () => {
    await expect(runCli(['check'])).rejects.toMatchObject({ code: 'commander.missingMandatoryOptionValue' })
  })
})
