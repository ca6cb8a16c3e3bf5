import { readFileSync, writeFileSync, chmodSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { networkRaw, tempKits } from '../config/network-kit.js'
import { runCli } from './run-cli.js'

const kit = tempKits()

describe('overpass check with local files and a signed network file', () => {
  it('passes all three local files of a signed network', async () => {
    const k = kit()
    const r = await runCli(['check', '-c', k.local('lax'), '-c', k.local('sea'), '-c', k.local('dal')])
    expect(r.err).toBe('')
    expect(r.exitCode).toBe(0)
    expect(r.out).toBe('relay lax: 2 peers, 1 service, network version 1; ok\nrelay sea: 2 peers, 1 service, network version 1; ok\nrelay dal: 2 peers, 1 service, network version 1; ok\n')
  })

  it('exits 2 and names the signature when the signed content was altered', async () => {
    const k = kit()
    writeFileSync(k.network, readFileSync(k.network, 'utf8').replace('exits:\n      - dal', 'exits:\n      - sea'))
    const r = await runCli(['check', '-c', k.local('lax')])
    expect(r.exitCode).toBe(2)
    expect(r.err).toContain(`${k.network}.sig: signature: the signature does not match version 1`)
    expect(r.err).toContain('(fix: restore the signed file, or (as the operator) sign the new content: overpass network sign --key OPERATOR_KEY')
  })

  it('prints the network file and its field path for a problem there', async () => {
    const net = networkRaw()
    net.relays[1].endpoint = '127.0.0.1'
    const r = await runCli(['check', '-c', kit(net).local('lax')])
    expect(r.exitCode).toBe(2)
    expect(r.err).toMatch(/network\.yaml: relays\[1\]\.endpoint: "127\.0\.0\.1": missing the ":port" part \(fix: .*\) \[line \d+\]/)
  })
})

describe('overpass network sign', () => {
  it('signs the next version by default and refuses one that does not grow', async () => {
    const k = kit()
    const next = await runCli(['network', 'sign', '--key', k.operatorKeyFile, k.network])
    expect(next).toMatchObject({ exitCode: 0, out: `signed ${k.network} version 2 into ${k.network}.sig\n` })
    const same = await runCli(['network', 'sign', '--key', k.operatorKeyFile, '--version', '2', k.network])
    expect(same.exitCode).toBe(2)
    expect(same.err).toMatch(/version 2 is not above the signed version 2 .*\(fix: use --version 3 or leave --version out\)/)
    expect(readFileSync(k.network + '.sig', 'utf8')).toMatch(/^version: 2$/m)
    expect((await runCli(['network', 'sign', '--key', k.operatorKeyFile, '--version', '10', k.network])).exitCode).toBe(0)
    expect(readFileSync(k.network + '.sig', 'utf8')).toMatch(/^version: 10$/m)
  })

  it('refuses to guess the version when the current .sig is unreadable', async () => {
    const k = kit()
    writeFileSync(k.network + '.sig', 'garbage')
    const r = await runCli(['network', 'sign', '--key', k.operatorKeyFile, k.network])
    expect(r.exitCode).toBe(2)
    expect(r.err).toMatch(/cannot read the current version .*\(fix: pass --version N/)
    expect((await runCli(['network', 'sign', '--key', k.operatorKeyFile, '--version', '5', k.network])).exitCode).toBe(0)
  })

  it('refuses an operator key that group or others can read', async () => {
    const k = kit()
    chmodSync(k.operatorKeyFile, 0o644)
    const r = await runCli(['network', 'sign', '--key', k.operatorKeyFile, k.network])
    expect(r.exitCode).toBe(2)
    expect(r.err).toContain(`chmod 600 ${k.operatorKeyFile}`)
  })

  it('network keygen prints a private and a public operator key', async () => {
    const r = await runCli(['network', 'keygen'])
    expect(r.out).toMatch(/^operator_private_key: [A-Za-z0-9+/]{43}=\noperator_key: [A-Za-z0-9+/]{43}=\n$/)
  })
})
