import type { Command } from 'commander'
import { ConfigError, loadConfig } from '../../config/index.js'
import { startDaemon } from '../../daemon/index.js'
import { createLogger, type LogLevel } from '../../io/log.js'

/** `overpass up -c relay.yaml`: run a relay in the foreground until SIGTERM/SIGINT. */
export function register(program: Command): void {
  program
    .command('up')
    .description('run a relay daemon in the foreground (structured logs on stderr; SIGTERM stops it cleanly)')
    .requiredOption('-c, --config <file>', 'relay config file (YAML)')
    .option('--log-format <format>', 'json or text', 'json')
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .option('--crypto <backend>', 'auto, sodium or tweetnacl', 'auto')
    .action(async (opts: { config: string; logFormat: string; logLevel: string; crypto: string }) => {
      const log = createLogger({ format: opts.logFormat === 'text' ? 'text' : 'json', level: opts.logLevel as LogLevel })
      let config
      try {
        config = loadConfig(opts.config)
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(err.message + '\n')
          process.exitCode = 2
          return
        }
        throw err
      }
      let fatal: (() => void) | undefined
      const daemon = await startDaemon(config, {
        log,
        cryptoBackend: opts.crypto as 'auto' | 'sodium' | 'tweetnacl',
        // A data-plane worker died: the daemon stopped itself; exit non-zero so a supervisor restarts it.
        onFatal: () => {
          process.exitCode = 1
          fatal?.()
        },
      })
      log.info('relay up', { relay: config.relay.id, peers: config.peers.length, services: config.services.length, workers: config.relay.workers, pid: process.pid })
      await new Promise<void>((resolve) => {
        fatal = resolve
        const shutdown = (signal: string): void => {
          log.info('shutting down', { signal })
          daemon.stop()
          resolve()
        }
        process.once('SIGTERM', () => shutdown('SIGTERM'))
        process.once('SIGINT', () => shutdown('SIGINT'))
      })
    })
}
