/**
 * Entry of an extra data-plane worker thread (workers 1..N-1 of a relay;
 * workers.ts starts them). It runs the same Relay data plane as worker 0 on
 * its own members of the overlay and service port groups, for the lanes the
 * kernel steers to it, with a LaneEndpoint fed keys by worker 0 and paths
 * copied from worker 0's router. No probes, no router, no control socket.
 */
import { exitSocketBudget } from '../dataplane/flow-admission.js'
import { openFileLimit } from '../io/fd-limit.js'
import { parentPort, workerData } from 'node:worker_threads'
import { LaneEndpoint } from '../crypto/index.js'
import { SnapshotPaths } from '../dataplane/paths.js'
import { Relay } from '../dataplane/relay.js'
import { monotonicClock, realTimers } from '../io/clock.js'
import type { Logger, LogLevel } from '../io/log.js'
import type { FromLaneWorker, LaneWorkerData, ToLaneWorker } from './lane-messages.js'
import { dataPlaneSockets } from './data-plane-sockets.js'

const port = parentPort!
const data = workerData as LaneWorkerData
const post = (m: FromLaneWorker): void => port.postMessage(m)

function logger(base: Record<string, unknown>): Logger {
  const emit = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => post({ t: 'log', level, msg, fields: { ...base, ...fields } })
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error'), child: (f) => logger({ ...base, ...f }) }
}

async function main(): Promise<void> {
  const { config, index, count } = data
  const sockets = dataPlaneSockets(config)
  const paths = new SnapshotPaths(config.relay.id, config.services, false)
  let endpoint: LaneEndpoint | undefined
  const relay = new Relay({
    config,
    udp: sockets.origin,
    overlayUdp: sockets.overlay,
    serviceUdp: sockets.service,
    clock: monotonicClock,
    timers: realTimers,
    log: logger({}),
    paths,
    cryptoBackend: data.cryptoBackend,
    worker: { index, count },
    exitSocketBudget: exitSocketBudget(openFileLimit(), count),
    makeEndpoint: (o) =>
      (endpoint = new LaneEndpoint({
        peerCount: o.peers.length,
        transmit: o.transmit,
        onConfirm: (peer, localIndex) => post({ t: 'confirm', peer, localIndex }),
        backend: o.backend,
        maxPacketBytes: o.maxPacketBytes,
      })),
  })
  let stats: NodeJS.Timeout | undefined
  port.on('message', (m: ToLaneWorker) => {
    if (m.t === 'keys') endpoint!.install(m.peer, m.keys)
    else if (m.t === 'paths') paths.set(m.snap)
    else if (m.t === 'stop') {
      clearInterval(stats)
      relay.stop()
      port.close()
    }
  })
  await relay.start()
  stats = setInterval(() => post({ t: 'stats', stats: relay.stats() }), data.statsIntervalMs)
  post({ t: 'ready' })
}

main().catch((err: Error) => {
  post({ t: 'failed', error: err.message, name: err.name })
  port.close()
})
