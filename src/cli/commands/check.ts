/**
 * `overpass check -c relay.yaml [-c other.yaml ...]`: validates config files
 * and prints every problem as `path: message (fix: ...)`. With several files
 * it also checks that they agree (peer keys, endpoints, shared services).
 * Exit code 2 on any error, 0 when valid (warnings alone do not fail).
 */
import type { Command } from 'commander'
import { outputOf, type Output } from '../output.js'
import { ConfigError, checkNetwork, formatIssue, loadConfig, type RelayConfig } from '../../config/index.js'


export const EXIT_CONFIG_ERROR = 2

export function register(program: Command): void {
  program
    .command('check')
    .description('validate relay config files and print every problem with its fix')
    .requiredOption('-c, --config <path...>', 'relay config file; repeat to also check that the files agree')
    .action((opts: { config: string[] }, cmd: Command) => {
      process.exitCode = runCheck(opts.config, outputOf(cmd))
    })
}

/** Returns the exit code. */
export function runCheck(paths: string[], out: Output): number {
  const multi = paths.length > 1
  const prefix = (file: string) => (multi ? `${file}: ` : '')
  const configs: RelayConfig[] = []
  let failed = false
  for (const path of paths) {
    try {
      configs.push(loadConfig(path))
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      failed = true
      out.writeErr(`${path}: ${err.issues.length} problem${err.issues.length === 1 ? '' : 's'}\n`)
      for (const issue of err.issues) out.writeErr(`${prefix(path)}${formatIssue(issue)}\n`)
    }
  }
  if (failed) return EXIT_CONFIG_ERROR
  if (multi) {
    const report = checkNetwork(configs)
    for (const w of report.warnings) out.writeErr(`${w.sourcePath}: warning: ${formatIssue(w)}\n`)
    for (const e of report.errors) out.writeErr(`${e.sourcePath}: ${formatIssue(e)}\n`)
    if (report.errors.length > 0) return EXIT_CONFIG_ERROR
  }
  for (const c of configs) out.writeOut(summary(c) + '\n')
  return 0
}

function summary(c: RelayConfig): string {
  const n = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`
  const network = c.network === undefined ? '' : `, network version ${c.network.version}`
  return `relay ${c.relay.id}: ${n(c.peers.length, 'peer')}, ${n(c.services.length, 'service')}${network}; ok`
}
