/** A signed network file and local files built from the fixtures' three relays, written to a temp folder. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'vitest'
import { operatorKeyText, signNetworkFile } from '../../src/cli/commands/network.js'
import { operatorKeyPairOf } from '../../src/crypto/operator-signing.js'
import { DAL_PRIV, DAL_PUB, DAL_SIGN, LAX_PRIV, LAX_PUB, LAX_SIGN, SEA_PRIV, SEA_PUB, SEA_SIGN, b64, toYaml, validRaw, type Raw } from './fixtures.js'

export const OPERATOR_SEED = new Uint8Array(32).fill(9)
export const OPERATOR_KEY = b64(operatorKeyPairOf(OPERATOR_SEED).publicKey)

export function networkRaw(): Raw {
  return {
    relays: [
      { id: 'lax', public_key: b64(LAX_PUB), sign_key: LAX_SIGN, endpoint: '127.0.0.1:7001' },
      { id: 'sea', public_key: b64(SEA_PUB), sign_key: SEA_SIGN, endpoint: '127.0.0.1:7002' },
      { id: 'dal', public_key: b64(DAL_PUB), sign_key: DAL_SIGN, endpoint: '127.0.0.1:7003' },
    ],
    services: validRaw().services,
  }
}

export function localRaw(id: 'lax' | 'sea' | 'dal' = 'lax'): Raw {
  const port = { lax: 7001, sea: 7002, dal: 7003 }[id]
  return { relay: { id, private_key_file: `${id}.key`, listen: `127.0.0.1:${port}` }, network: { file: 'network.yaml', operator_key: OPERATOR_KEY } }
}

export interface Kit {
  dir: string
  network: string
  operatorKeyFile: string
  local(id: 'lax' | 'sea' | 'dal'): string
}

/** Writes keys (0600), network.yaml signed as version 1, and a local file per relay. */
export function writeKit(network: Raw | string = networkRaw(), locals: Partial<Record<'lax' | 'sea' | 'dal', Raw>> = {}): Kit {
  const dir = mkdtempSync(join(tmpdir(), 'overpass-kit-'))
  const keys = { lax: LAX_PRIV, sea: SEA_PRIV, dal: DAL_PRIV }
  for (const [id, key] of Object.entries(keys)) writeFileSync(join(dir, `${id}.key`), b64(key) + '\n', { mode: 0o600 })
  const operatorKeyFile = join(dir, 'operator.key')
  writeFileSync(operatorKeyFile, operatorKeyText(OPERATOR_SEED), { mode: 0o600 })
  const networkFile = join(dir, 'network.yaml')
  writeFileSync(networkFile, typeof network === 'string' ? network : toYaml(network))
  signNetworkFile(networkFile, operatorKeyFile)
  for (const id of ['lax', 'sea', 'dal'] as const) writeFileSync(join(dir, `${id}.yaml`), toYaml(locals[id] ?? localRaw(id)))
  return { dir, network: networkFile, operatorKeyFile, local: (id) => join(dir, `${id}.yaml`) }
}

/** writeKit for one test file: every kit it writes is removed after each test. */
export function tempKits(): (...args: Parameters<typeof writeKit>) => Kit {
  const kits: Kit[] = []
  afterEach(() => {
    for (const k of kits.splice(0)) rmSync(k.dir, { recursive: true, force: true })
  })
  return (...args) => {
    const k = writeKit(...args)
    kits.push(k)
    return k
  }
}
