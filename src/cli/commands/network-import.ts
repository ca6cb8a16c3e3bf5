/**
 * `overpass network import OLD.yaml... --out DIR [--key OPERATOR_KEY]`
 * converts one-file-per-relay configs into a kit like `overpass init`
 * writes: network.yaml signed as version 1, a local file and a key file
 * (0600) per imported relay, and operator.key unless --key names an
 * existing one. The old files are only read; each must pass `overpass
 * check` on its own and together (config/import.ts refuses disagreements).
 * An existing, non-empty folder is refused, as init does.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { parse, stringify } from 'yaml'
import { outputOf, type Output } from '../output.js'
import { ConfigError, checkNetwork, encodeKey, formatIssue, loadConfig, publicKeyOf, signPublicKeyOf } from '../../config/index.js'
import { ImportError, importRelayFiles, keyFileFor, type OldRelayFile } from '../../config/import.js'
import { isLocalFile } from '../../config/local-file.js'
import { generateOperatorSeed, operatorKeyPairOf } from '../../crypto/operator-signing.js'
import { NETWORK_FILE, OPERATOR_KEY_FILE } from './init.js'
import { operatorKeyText, readOperatorSeed, SignError, signNetworkFile } from './network.js'

export const EXIT_IMPORT_ERROR = 2

export function registerImport(network: Command): void {
  network
    .command('import')
    .description('convert one-file-per-relay configs into network.yaml (signed) and a local file per relay')
    .argument('<files...>', 'the old relay config files, all of one network')
    .requiredOption('--out <dir>', 'folder to create')
    .option('--key <file>', 'existing operator key to sign with; default: a new operator.key in the folder')
    .action((files: string[], opts: { out: string; key?: string }, cmd: Command) => {
      process.exitCode = runImport(files, opts.out, opts.key, outputOf(cmd))
    })
}

/** Returns the exit code. */
export function runImport(paths: string[], outDir: string, keyFile: string | undefined, out: Output): number {
  const old = readOldFiles(paths, out)
  if (old === undefined) return EXIT_IMPORT_ERROR
  try {
    const imported = importRelayFiles(old)
    if (existsSync(outDir) && readdirSync(outDir).length > 0) throw new SignError(`${outDir} exists and is not empty`, 'pass --out with a new folder; import never overwrites keys')
    const operatorKey = keyFile === undefined ? undefined : operatorKeyPairOf(readOperatorSeed(keyFile)).publicKey
    mkdirSync(outDir, { recursive: true, mode: 0o700 })
    const write = (name: string, text: string, mode = 0o644) => writeFileSync(join(outDir, name), text, { mode, flag: 'wx' })
    let signWith = keyFile === undefined ? undefined : resolve(keyFile)
    let operatorPublic = operatorKey
    if (signWith === undefined) {
      const seed = generateOperatorSeed()
      operatorPublic = operatorKeyPairOf(seed).publicKey
      write(OPERATOR_KEY_FILE, operatorKeyText(seed), 0o600)
      seed.fill(0)
      signWith = join(outDir, OPERATOR_KEY_FILE)
    }
    write(NETWORK_FILE, `# Imported by \`overpass network import\` from ${paths.join(', ')}.\n# Edit, then sign a new version: overpass network sign --key OPERATOR_KEY network.yaml\n` + stringify(imported.network))
    for (const r of imported.relays) {
      const priv = r.privateKey
      write(keyFileFor(r.id), `private_key: ${encodeKey(priv)}\npublic_key: ${encodeKey(publicKeyOf(priv))}\nsign_key: ${encodeKey(signPublicKeyOf(priv))}\n`, 0o600)
      const local = { ...r.local, network: { file: NETWORK_FILE, operator_key: encodeKey(operatorPublic!) } }
      write(`${r.id}.yaml`, `# ${r.id}'s local file, imported by \`overpass network import\`; the rest is in ${NETWORK_FILE}\n` + stringify(local))
    }
    signNetworkFile(join(outDir, NETWORK_FILE), signWith, 1)
    out.writeOut(`imported ${imported.relays.length} relay file(s) (${imported.network.relays.length} relays in the network) into ${outDir}; check: overpass check ${imported.relays.map((r) => `-c ${join(outDir, `${r.id}.yaml`)}`).join(' ')}\n`)
    return 0
  } catch (err) {
    if (err instanceof ImportError) {
      for (const p of err.problems) out.writeErr(`${p.file}: ${p.message} (fix: ${p.fix})\n`)
      return EXIT_IMPORT_ERROR
    }
    if (!(err instanceof SignError) && !(err instanceof ConfigError)) throw err
    out.writeErr(`error: ${err.message}\n`)
    return EXIT_IMPORT_ERROR
  }
}

/** Loads and checks the old files as `overpass check` would; prints the problems and returns undefined on any. */
function readOldFiles(paths: string[], out: Output): OldRelayFile[] | undefined {
  const old: OldRelayFile[] = []
  let failed = false
  for (const path of paths) {
    try {
      const config = loadConfig(path)
      const raw: unknown = parse(readFileSync(path, 'utf8'), { maxAliasCount: 100 })
      if (isLocalFile(raw)) {
        out.writeErr(`${path}: is already a local file (it has network:); import takes one-file-per-relay configs\n`)
        failed = true
      } else old.push({ path, raw: raw as Record<string, unknown>, config })
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      for (const issue of err.issues) out.writeErr(`${path}: ${formatIssue(issue)}\n`)
      failed = true
    }
  }
  if (failed) return undefined
  const report = checkNetwork(old.map((o) => o.config))
  for (const e of report.errors) out.writeErr(`${e.sourcePath}: ${formatIssue(e)}\n`)
  return report.errors.length > 0 ? undefined : old
}
