/** A known-good config as a plain object; tests mutate a copy and render it to YAML. */
import { chmodSync, cpSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import nacl from 'tweetnacl'
import { expect } from 'vitest'
import { stringify } from 'yaml'
import { ConfigError, parseConfig, type ConfigIssue } from '../../src/config/index.js'
import type { RenderRelay } from '../../src/config/render.js'
import { signPublicKeyOf } from '../../src/crypto/column-signing.js'

export const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')
const keyOf = (fill: number) => new Uint8Array(32).fill(fill)

export const LAX_PRIV = keyOf(1)
export const LAX_PUB = nacl.scalarMult.base(LAX_PRIV)
export const SEA_PRIV = keyOf(2)
export const SEA_PUB = nacl.scalarMult.base(SEA_PRIV)
export const DAL_PRIV = keyOf(3)
export const DAL_PUB = nacl.scalarMult.base(DAL_PRIV)
/** Each relay's sign_key (Ed25519, derived from its private key), base64 as configs list it. */
export const LAX_SIGN = b64(signPublicKeyOf(LAX_PRIV))
export const SEA_SIGN = b64(signPublicKeyOf(SEA_PRIV))
export const DAL_SIGN = b64(signPublicKeyOf(DAL_PRIV))

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Raw = Record<string, any>

export function validRaw(): Raw {
  return {
    relay: { id: 'lax', private_key: b64(LAX_PRIV), listen: '127.0.0.1:7001' },
    peers: [
      { id: 'sea', public_key: b64(SEA_PUB), sign_key: SEA_SIGN, endpoint: '127.0.0.1:7002' },
      { id: 'dal', public_key: b64(DAL_PUB), sign_key: DAL_SIGN, endpoint: '127.0.0.1:7003' },
    ],
    services: [
      {
        name: 'game',
        ingress: [{ relay: 'lax', listen: '0.0.0.0:27015' }],
        origin: '127.0.0.1:9000',
        exits: ['dal'],
        paths: [['lax', 'sea', 'dal']],
      },
    ],
  }
}

/** sea's side of the same network as validRaw(): lax ingress, sea transit, dal exit. */
export function seaRaw(): Raw {
  const raw = validRaw()
  raw.relay = { id: 'sea', private_key: b64(SEA_PRIV), listen: '127.0.0.1:7002' }
  raw.peers[0] = { id: 'lax', public_key: b64(LAX_PUB), sign_key: LAX_SIGN, endpoint: '127.0.0.1:7001' }
  return raw
}

export function toYaml(raw: Raw): string {
  return stringify(raw)
}

/** The issues of the ConfigError parseConfig throws for `raw` (an object, or YAML text); fails the test when it parses. */
export function issuesOf(raw: Raw | string): ConfigIssue[] {
  const text = typeof raw === 'string' ? raw : toYaml(raw)
  try {
    parseConfig(text, { sourcePath: 'test.yaml', baseDir: '/nonexistent' })
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as Error).name).toBe('ConfigError')
    return (err as ConfigError).issues
  }
  throw new Error('expected a ConfigError')
}

/** validRaw()'s lax (its keys, listen and peers) as renderRelayYaml input, with the test's services and the rest. */
export function laxRender(r: Pick<RenderRelay, 'services'> & Partial<RenderRelay>): RenderRelay {
  return {
    id: 'lax',
    privateKey: b64(LAX_PRIV),
    listen: '127.0.0.1:7001',
    controlSocket: '/tmp/overpass-test-lax.sock',
    peers: [
      { id: 'sea', publicKey: b64(SEA_PUB), signKey: SEA_SIGN, endpoint: '127.0.0.1:7002' },
      { id: 'dal', publicKey: b64(DAL_PUB), signKey: DAL_SIGN, endpoint: '127.0.0.1:7003' },
    ],
    ...r,
  }
}

/** The issues parseConfig finds in `raw` as `path: message` lines; none when it parses. */
export function issueLines(raw: Raw): string[] {
  try {
    parseConfig(toYaml(raw))
    return []
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return err.issues.map((i) => `${i.path}: ${i.message}`)
  }
}

/**
 * examples/loopback copied into `dir` with its key files at 0600, as the quick
 * start's `chmod 600` leaves them (a git checkout has them at 0644).
 */
export function loopbackExamplesIn(dir: string): string {
  const src = join(import.meta.dirname, '../../examples/loopback')
  cpSync(src, dir, { recursive: true })
  for (const f of readdirSync(dir)) if (f.endsWith('.key')) chmodSync(join(dir, f), 0o600)
  return dir
}
