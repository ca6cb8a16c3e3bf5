/**
 * Wires a relay to the real world: node:dgram sockets, the monotonic clock,
 * event-loop timers, the crypto endpoint and the control socket. Everything
 * it wires is injectable, so tests can run several daemons in one process.
 */
import type { RelayConfig } from '../config/types.js'
import { createSecureEndpoint } from '../crypto/index.js'
import { monotonicClock, realTimers } from '../io/clock.js'
import type { Logger } from '../io/log.js'
import { nodeUdp } from '../io/udp.js'
import type { PathProvider } from '../dataplane/paths.js'
import { Relay } from '../dataplane/relay.js'
import { startControlServer } from './control-server.js'

export interface DaemonOptions {
  log: Logger
  cryptoBackend?: 'auto' | 'sodium' | 'tweetnacl'
  paths?: PathProvider
  /** Skip the control socket (tests that run many relays in one process). */
  noControlSocket?: boolean
}

export interface RunningDaemon {
  relay: Relay
  stop(): void
}

export async function startDaemon(config: RelayConfig, opts: DaemonOptions): Promise<RunningDaemon> {
  const log = opts.log.child({ relay: config.relay.id })
  const relay = new Relay({
    config,
    udp: nodeUdp,
    clock: monotonicClock,
    timers: realTimers,
    log,
    makeEndpoint: createSecureEndpoint,
    paths: opts.paths,
    cryptoBackend: opts.cryptoBackend,
  })
  await relay.start()
  let control: { close(): void } | undefined
  if (!opts.noControlSocket) {
    try {
      control = await startControlServer(config.relay.controlSocket, (req) => {
        if (req.cmd === 'status') return relay.stats()
        throw new Error(`unknown command ${JSON.stringify(req.cmd)}`)
      })
    } catch (err) {
      relay.stop()
      throw err
    }
    log.info('control socket ready', { path: config.relay.controlSocket })
  }
  let stopped = false
  return {
    relay,
    stop: () => {
      if (stopped) return
      stopped = true
      control?.close()
      relay.stop()
      log.info('stopped')
    },
  }
}
