/**
 * `overpass init --relays a,b,c [--out DIR] [--loopback] [--base-port N]`
 * writes a ready kit for a new network: a private key per relay and an
 * operator key (all 0600), network.yaml signed as version 1, a local file per
 * relay and a README of the next steps. With --loopback every relay listens
 * on 127.0.0.1 (ports base-port, base-port+1, ...) so the kit runs on one
 * machine as it is; otherwise endpoints are documentation addresses
 * (192.0.2.0/24, RFC 5737) that the README says to replace.
 * An existing, non-empty folder is refused: a kit never overwrites keys.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Command } from 'commander'
import { stringify } from 'yaml'
import { outputOf } from '../output.js'
import { encodeKey, generatePrivateKey, publicKeyOf, signPublicKeyOf } from '../../config/index.js'
import { ID_PATTERN } from '../../config/values.js'
import { generateOperatorSeed, operatorKeyPairOf } from '../../crypto/operator-signing.js'
import { operatorKeyText, signNetworkFile } from './network.js'

export const EXIT_INIT_ERROR = 2
export const DEFAULT_KIT_DIR = 'overpass-network'
export const DEFAULT_BASE_PORT = 7001
export const NETWORK_FILE = 'network.yaml'
export const OPERATOR_KEY_FILE = 'operator.key'
/** Largest kit: one port per relay above the base, and each relay is one file set. */
export const MAX_INIT_RELAYS = 300

export interface KitOptions {
  relays: string[]
  loopback: boolean
  basePort: number
}

export interface KitFile {
  name: string
  text: string
  /** 0o600 for keys; others 0o644. */
  mode: number
}

export class InitError extends Error {
  override readonly name = 'InitError'
  constructor(message: string, readonly fix: string) {
    super(`${message} (fix: ${fix})`)
  }
}

export function register(program: Command): void {
  program
    .command('init')
    .description('write a ready kit for a new network: keys, signed network.yaml, a local file per relay, README')
    .requiredOption('--relays <ids>', 'comma-separated relay ids, e.g. lax,sea,dal')
    .option('--out <dir>', 'folder to create', DEFAULT_KIT_DIR)
    .option('--loopback', 'every relay on 127.0.0.1, so the kit runs on this machine')
    .option('--base-port <port>', 'first relay\'s UDP port; the others follow', String(DEFAULT_BASE_PORT))
    .action((opts: { relays: string; out: string; loopback?: boolean; basePort: string }, cmd: Command) => {
      const out = outputOf(cmd)
      try {
        const options = parseKitOptions(opts.relays, opts.loopback === true, opts.basePort)
        writeKit(opts.out, options)
        out.writeOut(`wrote a ${options.relays.length}-relay kit to ${opts.out}; next steps: ${join(opts.out, 'README.md')}\n`)
      } catch (err) {
        if (!(err instanceof InitError)) throw err
        out.writeErr(`error: ${err.message}\n`)
        process.exitCode = EXIT_INIT_ERROR
      }
    })
}

export function parseKitOptions(relayList: string, loopback: boolean, basePortText: string): KitOptions {
  const relays = relayList.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (relays.length === 0) throw new InitError('no relay ids given', 'pass --relays a,b,c')
  if (relays.length > MAX_INIT_RELAYS) throw new InitError(`${relays.length} relays`, `init at most ${MAX_INIT_RELAYS}; add more to network.yaml later`)
  const bad = relays.find((r) => !ID_PATTERN.test(r))
  if (bad !== undefined) throw new InitError(`"${bad}" is not a valid relay id`, 'use 1-32 characters from a-z 0-9 - _, starting with a letter or digit')
  const dup = relays.find((r, i) => relays.indexOf(r) !== i)
  if (dup !== undefined) throw new InitError(`relay "${dup}" is listed twice`, 'give each relay a unique id')
  const basePort = Number(basePortText)
  if (!Number.isInteger(basePort) || basePort < 1 || basePort + relays.length - 1 > 65535) {
    throw new InitError(`--base-port ${basePortText} leaves no room for ${relays.length} ports`, 'use a port from 1024 to 60000')
  }
  return { relays, loopback, basePort }
}

/** The kit's files except the signature (signing needs the written file). Keys come from the arguments so tests can fix them. */
export function kitFiles(options: KitOptions, keys: { relays: Uint8Array[]; operatorSeed: Uint8Array }): KitFile[] {
  const { relays, loopback, basePort } = options
  const operatorKey = encodeKey(operatorKeyPairOf(keys.operatorSeed).publicKey)
  // Without --loopback every relay uses the same port on its own machine.
  const port = (i: number) => (loopback ? basePort + i : basePort)
  const endpoint = (i: number) => (loopback ? `127.0.0.1:${port(i)}` : `192.0.2.${i + 1}:${port(i)}`)
  const network = {
    relays: relays.map((id, i) => ({ id, public_key: encodeKey(publicKeyOf(keys.relays[i])), sign_key: encodeKey(signPublicKeyOf(keys.relays[i])), endpoint: endpoint(i) })),
    services: [],
  }
  const files: KitFile[] = [
    { name: OPERATOR_KEY_FILE, text: operatorKeyText(keys.operatorSeed), mode: 0o600 },
    { name: NETWORK_FILE, text: NETWORK_HEADER + stringify(network), mode: 0o644 },
  ]
  relays.forEach((id, i) => {
    const priv = keys.relays[i]
    files.push({ name: `${id}.key`, text: `private_key: ${encodeKey(priv)}\npublic_key: ${encodeKey(publicKeyOf(priv))}\nsign_key: ${encodeKey(signPublicKeyOf(priv))}\n`, mode: 0o600 })
    const relay: Record<string, unknown> = {
      id,
      private_key_file: `${id}.key`,
      listen: loopback ? `127.0.0.1:${port(i)}` : `0.0.0.0:${port(i)}`,
      // Loopback kits run as any user: sockets and state next to the files instead of /run.
      ...(loopback ? { control_socket: `${id}.sock` } : {}),
    }
    files.push({ name: `${id}.yaml`, text: `# ${id}'s local file: only this machine's settings; the rest is in ${NETWORK_FILE}\n` + stringify({ relay, network: { file: NETWORK_FILE, operator_key: operatorKey } }), mode: 0o644 })
  })
  files.push({ name: 'README.md', text: readme(options), mode: 0o644 })
  return files
}

export function writeKit(dir: string, options: KitOptions): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new InitError(`${dir} exists and is not empty`, 'pass --out with a new folder; init never overwrites keys')
  const files = kitFiles(options, { relays: options.relays.map(() => generatePrivateKey()), operatorSeed: generateOperatorSeed() })
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  for (const f of files) writeFileSync(join(dir, f.name), f.text, { mode: f.mode, flag: 'wx' })
  signNetworkFile(join(dir, NETWORK_FILE), join(dir, OPERATOR_KEY_FILE), 1)
}

const NETWORK_HEADER = `# The network file: the same on every relay. Edit, then sign a new version:
#   overpass network sign --key operator.key network.yaml
# See docs/configuration.md, "A network file and local files".
`

function readme(o: KitOptions): string {
  const ids = o.relays
  const check = ids.map((id) => `-c ${id}.yaml`).join(' ')
  const where = o.loopback
    ? `Every relay listens on 127.0.0.1 (ports ${o.basePort}-${o.basePort + ids.length - 1}), so the kit runs on this machine as it is.`
    : `The endpoints in network.yaml are placeholders from 192.0.2.0/24 (documentation addresses). Replace each relay's endpoint with the public address its peers reach it at, then sign again (step 2).`
  return `# Overpass network kit: ${ids.join(', ')}

Written by \`overpass init\`. ${where}

| File | What | Where it goes |
|---|---|---|
| \`operator.key\` | the operator's Ed25519 private key; signs network.yaml | **keep it off the relays**, e.g. with whoever edits network.yaml |
| \`network.yaml\`, \`network.yaml.sig\` | the network and its signature (version 1) | every relay |
${ids.map((id) => `| \`${id}.yaml\`, \`${id}.key\` | ${id}'s local file and private key (mode 0600) | ${id} only |`).join('\n')}

## Next steps

1. Check the kit: \`overpass check ${check}\`
2. Add services to network.yaml (docs/configuration.md, "services"), then sign a new version:
   \`overpass network sign --key operator.key network.yaml\`
   Every change to network.yaml needs a new signature, and relays refuse an altered file.
3. Copy network.yaml, network.yaml.sig and each relay's two files to its machine${o.loopback ? ' (or leave them here)' : ''}.
4. Start each relay: ${ids.map((id) => `\`overpass up -c ${id}.yaml\``).join(', ')}
5. Watch sessions come up: \`overpass status -c ${ids[0]}.yaml\`

Later versions spread by themselves: sign, then hand the new version to any one running relay
with \`overpass network push -c <relay>.yaml network.yaml\` (docs/operating.md, Rolling out a version).
`
}
