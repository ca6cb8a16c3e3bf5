import { Option, type Command } from 'commander'
import { ConfigError, loadConfig } from '../../config/index.js'
import { startDaemon } from '../../daemon/index.js'
import { LOG_FORMATS, LOG_LEVELS, createLogger, type LogLevel } from '../../io/log.js'

const CRYPTO_BACKENDS = ['auto', 'sodium', 'tweetnacl'] as const

/** `overpass up -c relay.yaml`: run a relay in the foreground until SIGTERM/SIGINT. */
export function register(program: Command): void {
  program
    .command('up')
    .description('run a relay daemon in the foreground (structured logs on stderr; SIGTERM stops it cleanly)')
    .requiredOption('-c, --config <file>', 'relay config file (YAML)')
    .addOption(new Option('--log-format <format>', 'log line format').choices(LOG_FORMATS).default('json'))
    .addOption(new Option('--log-level <level>', 'lowest level logged').choices(LOG_LEVELS).default('info'))
    .addOption(new Option('--crypto <backend>', 'AEAD implementation').choices(CRYPTO_BACKENDS).default('auto'))
    .action(async (opts: { config: string; logFormat: (typeof LOG_FORMATS)[number]; logLevel: LogLevel; crypto: (typeof CRYPTO_BACKENDS)[number] }) => {
      const log = createLogger({ format: opts.logFormat, level: opts.logLevel })
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
        cryptoBackend: opts.crypto,
        // A data-plane worker died: the daemon stopped itself; exit non-zero so a supervisor restarts it.
        onFatal: () => {
          process.exitCode = 1
          fatal?.()
        },
      })
      log.info('relay up', { relay: config.relay.id, peers: config.peers.length, services: config.services.length, workers: config.relay.workers, pid: process.pid })
      // `systemctl reload` sends SIGHUP (which would kill a Node process by default): re-read and apply live.
      const hup = (): void => void daemon.reload('SIGHUP').catch((err: Error) => log.error('reload failed', { error: err.message }))
      process.on('SIGHUP', hup)
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
      process.off('SIGHUP', hup)
    })
}
