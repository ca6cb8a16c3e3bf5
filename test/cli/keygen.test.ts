import nacl from 'tweetnacl'
import { describe, expect, it } from 'vitest'
import { signPublicKeyOf } from '../../src/crypto/index.js'
import { runCli } from './run-cli.js'

const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'))

describe('overpass keygen', () => {
  it('prints a private key and the matching public key', async () => {
    const { out, exitCode } = await runCli(['keygen'])
    expect(exitCode).toBe(0)
    const m = /^private_key: (\S{44})\npublic_key: (\S{44})\nsign_key: (\S{44})\n$/.exec(out)
    expect(m).not.toBeNull()
    const [priv, pub, sign] = [b64(m![1]), b64(m![2]), b64(m![3])]
    expect(priv).toHaveLength(32)
    expect(Buffer.from(nacl.scalarMult.base(priv)).equals(Buffer.from(pub))).toBe(true)
    expect(Buffer.from(signPublicKeyOf(priv)).equals(Buffer.from(sign))).toBe(true)
  })

  it('prints a different key each time', async () => {
    const [a, b] = [await runCli(['keygen']), await runCli(['keygen'])]
    expect(a.out).not.toBe(b.out)
  })

  it('prints JSON with --json', async () => {
    const { out } = await runCli(['keygen', '--json'])
    const pair = JSON.parse(out) as { private_key: string; public_key: string }
    expect(Buffer.from(nacl.scalarMult.base(b64(pair.private_key))).toString('base64')).toBe(pair.public_key)
  })
})

describe('overpass pubkey', () => {
  it('prints the public key of the private key on stdin, matching keygen', async () => {
    const gen = await runCli(['keygen', '--json'])
    const pair = JSON.parse(gen.out) as { private_key: string; public_key: string }
    const { out, exitCode } = await runCli(['pubkey'], pair.private_key + '\n')
    expect(exitCode).toBe(0)
    expect(out).toBe(pair.public_key + '\n')
  })

  it('prints the sign_key with --sign, matching keygen', async () => {
    const gen = await runCli(['keygen', '--json'])
    const pair = JSON.parse(gen.out) as { private_key: string; sign_key: string }
    const { out, exitCode } = await runCli(['pubkey', '--sign'], pair.private_key + '\n')
    expect(exitCode).toBe(0)
    expect(out).toBe(pair.sign_key + '\n')
  })

  it('accepts keygen output piped in whole', async () => {
    const gen = await runCli(['keygen'])
    const { out } = await runCli(['pubkey'], gen.out)
    expect(gen.out).toContain(`public_key: ${out.trim()}`)
  })

  it('fails with exit 2 and a clear message on input that is not base64', async () => {
    const { out, err, exitCode } = await runCli(['pubkey'], 'hello world\n')
    expect(exitCode).toBe(2)
    expect(out).toBe('')
    expect(err).toMatch(/^error: stdin is not a private key: key is not valid base64 \(fix: .*overpass keygen/)
  })

  it('fails on a key of the wrong length', async () => {
    const { err, exitCode } = await runCli(['pubkey'], Buffer.alloc(16).toString('base64'))
    expect(exitCode).toBe(2)
    expect(err).toMatch(/16 bytes, expected 32/)
  })

  it('fails on empty input', async () => {
    const { exitCode } = await runCli(['pubkey'], '')
    expect(exitCode).toBe(2)
  })
})
