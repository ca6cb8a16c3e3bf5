/**
 * A member relay that turned hostile, for `bench:dos`: the ordinary daemon
 * (it holds a valid key, so what it sends arrives authenticated as its own)
 * started from a config file, plus a hook that sends crafted control
 * messages to one peer.
 *
 *   node hostile-peer.js CONFIG TO FORGE_ORIGIN REPEAT
 *
 * Logs like `overpass up --log-format json`. On SIGUSR2 it sends each
 * crafted message REPEAT times to peer TO (columns forged for relay
 * FORGE_ORIGIN) and logs "hostile sent" with the counts per kind.
 */
import { loadConfig } from '../../src/config/index.js'
import { startDaemon } from '../../src/daemon/index.js'
import { createLogger } from '../../src/io/log.js'
import { KIND_CONTROL } from '../../src/wire/data.js'
import { craftedControlMessages } from './control-attacks.js'

async function main(): Promise<void> {
  const log = createLogger({ format: 'json' })
  const config = loadConfig(process.argv[2])
  const daemon = await startDaemon(config, { log, noControlSocket: false })
  log.info('relay up', { relay: config.relay.id })
  const stop = (): void => {
    daemon.stop()
    process.exit(0)
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  const [to, forgeOrigin, repeat] = [process.argv[3], process.argv[4], Number(process.argv[5])]
  process.on('SIGUSR2', () => {
    const cmd = { to, forgeOrigin, repeat }
    const peer = daemon.relay.peerById(cmd.to)
    if (peer === undefined) throw new Error(`no peer ${cmd.to}`)
    const sent: Record<string, number> = {}
    for (const [kind, body] of Object.entries(craftedControlMessages(cmd.forgeOrigin))) {
      const plain = Buffer.alloc(1 + body.length)
      plain[0] = KIND_CONTROL
      plain.set(body, 1)
      sent[kind] = 0
      for (let i = 0; i < cmd.repeat; i++) if (daemon.relay.sendPlain(peer, plain, plain.length)) sent[kind]++
    }
    log.info('hostile sent', { sent: JSON.stringify(sent) })
  })
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack ?? err.message : err)
  process.exit(1)
})
