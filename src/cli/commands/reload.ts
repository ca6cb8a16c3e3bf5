import type { Command } from 'commander'
import { controlRequest, type ApplyResult } from '../../daemon/index.js'
import { resolveSocket } from './status.js'

/** How long `overpass reload` waits for the daemon: reading, validating and applying take well under a second. */
const RELOAD_TIMEOUT_MS = 15_000

/**
 * `overpass reload -c relay.yaml`: the running relay re-reads its config
 * file (and the network file it names) and applies the change live, or says
 * why not (docs/operating.md, Live changes). The same as `kill -HUP`, with
 * the outcome printed. Exit 0 applied or unchanged, 1 not applied, 2 usage.
 */
export function register(program: Command): void {
  program
    .command('reload')
    .description('make a running relay re-read its config file and apply what changed, without a restart')
    .option('-c, --config <file>', 'relay config file (to find its control socket)')
    .option('-s, --socket <path>', 'control socket path (instead of -c)')
    .option('--json', 'print the raw result')
    .action(async (opts: { config?: string; socket?: string; json?: boolean }) => {
      const socketPath = resolveSocket(opts)
      if (socketPath === undefined) {
        if (opts.config) process.stderr.write('not sent: the running relay keeps its current config\n')
        return
      }
      let result: ApplyResult
      try {
        result = (await controlRequest(socketPath, { cmd: 'reload' }, RELOAD_TIMEOUT_MS)) as ApplyResult
      } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`)
        process.exitCode = 1
        return
      }
      process.stdout.write(opts.json ? JSON.stringify(result, null, 2) + '\n' : formatApplyResult(result))
      process.exitCode = result.status === 'applied' || result.status === 'unchanged' ? 0 : 1
    })
}

export function formatApplyResult(r: ApplyResult): string {
  const v = r.version !== undefined ? ` (network version ${r.version})` : ''
  if (r.status === 'applied') return [`applied${v}${r.handOver ? '; a new router takes over once it has learned the map' : ''}`, ...r.changes.map((c) => `  ${c}`)].join('\n') + '\n'
  if (r.status === 'unchanged') return `nothing changed${v}\n`
  if (r.status === 'needs-restart') return [`NOT applied${v}: needs a restart; the relay keeps running its current config`, ...r.fields.map((f) => `  ${f.message}`)].join('\n') + '\n'
  if (r.status === 'failed') return [`NOT applied${v}: the relay could not carry it out; it keeps running its current config`, ...r.reasons.map((i) => `  ${i.path}: ${i.message}${i.fix ? ` (fix: ${i.fix})` : ''}`)].join('\n') + '\n'
  return [`NOT applied${v}: the config is invalid; the relay keeps running its current config`, ...r.reasons.map((i) => `  ${i.file ? `${i.file}: ` : ''}${i.path || '(file)'}: ${i.message}${i.fix ? ` (fix: ${i.fix})` : ''}`)].join('\n') + '\n'
}
