/**
 * `overpass network keygen` prints a new operator key (Ed25519; the private
 * half signs network files, the public half is every local file's
 * network.operator_key). `overpass network sign --key OPERATOR_KEY FILE`
 * signs a version of the network file into FILE.sig (config/signed-version.ts).
 * Versions only grow: by default the next one after FILE.sig's, and a
 * --version not above it is refused. `overpass network import` converts
 * one-file-per-relay configs (network-import.ts).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import type { Command } from 'commander'
import { outputOf } from '../output.js'
import { assertOwnerOnly, readFileWithMode } from '../../config/file-mode.js'
import { loadBootstrap, SIGNATURE_SUFFIX } from '../../config/local-file.js'
import { formatSignatureFile, isValidVersion, parseSignatureFile, signedMessage } from '../../config/signed-version.js'
import { generateOperatorSeed, operatorKeyPairOf, signDetached } from '../../crypto/operator-signing.js'
import { resolve } from 'node:path'
import { createLogger, type Logger } from '../../io/log.js'
import { ConfigError } from '../../config/index.js'
import { controlRequest, startDaemon } from '../../daemon/index.js'
import { resolveSocket } from './status.js'
import { registerImport } from './network-import.js'

export const EXIT_SIGN_ERROR = 2

export function register(program: Command): void {
  const network = program.command('network').description('the signed network file shared by all relays')
  network
    .command('keygen')
    .description('print a new operator key: operator_private_key (keep it off the relays) and operator_key (for local files)')
    .action((_opts: unknown, cmd: Command) => {
      outputOf(cmd).writeOut(operatorKeyText(generateOperatorSeed()))
    })
  network
    .command('sign')
    .description('sign a version of the network file with the operator key, writing FILE.sig')
    .requiredOption('--key <file>', 'operator key file (from `overpass network keygen`), mode 0600')
    .option('--version <n>', 'the version to sign; default: one more than FILE.sig, or 1')
    .argument('<file>', 'the network file')
    .action((file: string, opts: { key: string; version?: string }, cmd: Command) => {
      const out = outputOf(cmd)
      try {
        const version = signNetworkFile(file, opts.key, opts.version === undefined ? undefined : Number(opts.version))
        out.writeOut(`signed ${file} version ${version} into ${file}${SIGNATURE_SUFFIX}\n`)
      } catch (err) {
        if (!(err instanceof SignError) && !(err instanceof ConfigError)) throw err
        out.writeErr(`error: ${err.message}\n`)
        process.exitCode = EXIT_SIGN_ERROR
      }
    })
  registerImport(network)
  network
    .command('fetch')
    .description("a new relay: fetch the signed network file from the member named in its local file's network.bootstrap, then exit")
    .requiredOption('-c, --config <file>', "the new relay's local file (network: file, operator_key, bootstrap)")
    .option('--timeout <seconds>', 'give up after this long', String(DEFAULT_FETCH_TIMEOUT_S))
    .action(async (opts: { config: string; timeout: string }, cmd: Command) => {
      const out = outputOf(cmd)
      try {
        const r = await fetchNetwork(opts.config, { timeoutMs: Number(opts.timeout) * 1000, log: createLogger({ level: 'warn' }) })
        out.writeOut(`fetched version ${r.version} of the network file into ${r.file}; start the relay now\n`)
      } catch (err) {
        if (!(err instanceof SignError) && !(err instanceof ConfigError)) throw err
        out.writeErr(`error: ${err.message}\n`)
        process.exitCode = EXIT_SIGN_ERROR
      }
    })
  network
    .command('push')
    .description('hand a signed version (FILE and FILE.sig) to a running relay; it checks it and spreads it to the others')
    .option('-c, --config <file>', "the relay's local file (to find its control socket)")
    .option('-s, --socket <path>', 'control socket path (instead of -c)')
    .argument('<file>', 'the signed network file')
    .action(async (file: string, opts: { config?: string; socket?: string }, cmd: Command) => {
      const out = outputOf(cmd)
      const socketPath = resolveSocket(opts)
      if (socketPath === undefined) return
      try {
        const v = (await controlRequest(socketPath, { cmd: 'network-offer', file: resolve(file) })) as { accepted: boolean; version?: number; reason?: string; detail?: string }
        if (v.accepted) out.writeOut(`version ${v.version} accepted; the relay applies it (see overpass status) and passes it on\n`)
        else {
          out.writeErr(`error: refused (${v.reason}): ${v.detail}\n`)
          process.exitCode = EXIT_SIGN_ERROR
        }
      } catch (err) {
        out.writeErr(`error: ${(err as Error).message}\n`)
        process.exitCode = 1
      }
    })
}

export const DEFAULT_FETCH_TIMEOUT_S = 60
const FETCH_POLL_MS = 100

/**
 * Bootstrapping: runs the new relay with the bootstrap member as its only
 * peer until the member's signed network file has been fetched, checked
 * (signature against operator_key, the rules of `overpass check`) and
 * written beside the local file. The member must already list this relay
 * (the operator added it in a version the member runs), or it ignores our
 * handshake. Throws SignError on a timeout or a version invalid for us.
 */
export async function fetchNetwork(localPath: string, opts: { timeoutMs: number; log: Logger }): Promise<{ version: number; file: string }> {
  const { config, running } = loadBootstrap(localPath)
  const file = config.network!.file
  if (existsSync(file)) throw new SignError(`${file} exists already`, 'start the relay (overpass up); fetch is only for a relay that has no network file yet')
  // Not live: this process only fetches and saves the version, which `overpass up` runs next.
  const daemon = await startDaemon(config, { log: opts.log, noControlSocket: true, bootstrapVersion: running, liveNetworkVersions: false })
  try {
    const member = config.peers[0].id
    for (let waited = 0; waited < opts.timeoutMs; waited += FETCH_POLL_MS) {
      const s = daemon.versions!.status()
      if (s.on_disk > 0) return { version: s.on_disk, file }
      if (s.held !== undefined && s.held.reason !== 'needs_restart') throw new SignError(`version ${s.held.version} from ${member} cannot run here: ${s.held.detail}`, 'fix the local file, or ask the operator to sign a version that lists this relay correctly')
      await new Promise((r) => setTimeout(r, FETCH_POLL_MS))
    }
    throw new SignError(`no network file from ${member} (${config.peers[0].endpoint}) within ${opts.timeoutMs / 1000} s`, `check that ${member} runs a version that lists this relay with its current keys, and that its endpoint is reachable`)
  } finally {
    daemon.stop()
  }
}

export class SignError extends Error {
  override readonly name = 'SignError'
  constructor(message: string, readonly fix: string) {
    super(`${message} (fix: ${fix})`)
  }
}

export function operatorKeyText(seed: Uint8Array): string {
  const { publicKey } = operatorKeyPairOf(seed)
  return `operator_private_key: ${Buffer.from(seed).toString('base64')}\noperator_key: ${Buffer.from(publicKey).toString('base64')}\n`
}

/** Reads an operator key file (mode 0600 or stricter): the seed from its operator_private_key line, or a bare base64 seed. */
export function readOperatorSeed(keyFile: string): Uint8Array {
  let read: { text: string; mode: number }
  try {
    read = readFileWithMode(keyFile)
  } catch (err) {
    throw new SignError(`cannot read the operator key ${keyFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'create one with `overpass network keygen > operator.key && chmod 600 operator.key`')
  }
  assertOwnerOnly(keyFile, read.mode, '--key')
  const m = /^\s*operator_private_key:\s*"?([^"\s]+)"?\s*$/m.exec(read.text)
  const text = m ? m[1] : read.text.trim()
  const seed = Buffer.from(text, 'base64')
  if (seed.length !== 32 || seed.toString('base64') !== text) throw new SignError(`${keyFile} holds no operator private key`, 'pass the file written by `overpass network keygen`')
  return new Uint8Array(seed)
}

/** Signs `file` as `version` (default: the next after its current .sig) and returns the version written. */
export function signNetworkFile(file: string, keyFile: string, version?: number): number {
  const seed = readOperatorSeed(keyFile)
  const sigPath = file + SIGNATURE_SUFFIX
  let previous: number | undefined
  if (existsSync(sigPath)) {
    const sig = parseSignatureFile(readFileSync(sigPath, 'utf8'))
    if (sig.ok) previous = sig.version
    // Guessing 1 could sign a version below the one the relays run.
    else if (version === undefined) throw new SignError(`cannot read the current version in ${sigPath}: ${sig.error}`, 'pass --version N above the last version you signed')
  }
  const next = version ?? (previous ?? 0) + 1
  if (!isValidVersion(next)) throw new SignError(`version ${String(version)} is not a whole number >= 1`, 'pass --version N with N >= 1')
  if (previous !== undefined && next <= previous) {
    throw new SignError(`version ${next} is not above the signed version ${previous} in ${sigPath}; relays refuse a version that does not grow`, `use --version ${previous + 1} or leave --version out`)
  }
  let bytes: Buffer
  try {
    bytes = readFileSync(file)
  } catch (err) {
    throw new SignError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'pass the path of network.yaml')
  }
  const { secretKey } = operatorKeyPairOf(seed)
  const signature = signDetached(signedMessage(next, new Uint8Array(bytes)), secretKey)
  secretKey.fill(0)
  seed.fill(0)
  // Replaced atomically: a relay starting meanwhile reads the old or the new signature, never half of one.
  const tmp = `${sigPath}.${process.pid}.tmp`
  writeFileSync(tmp, formatSignatureFile(next, signature))
  renameSync(tmp, sigPath)
  return next
}
