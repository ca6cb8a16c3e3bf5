/**
 * Entry of an extra data-plane worker thread (workers 1..N-1 of a relay;
 * workers.ts starts them). It runs the same Relay data plane as worker 0 on
 * its own members of the overlay and service port groups, for the lanes the
 * kernel steers to it, built by createRelayNode as a data-plane-only node:
 * a LaneEndpoint fed keys by worker 0, paths copied from worker 0's router
 * and each peer's endpoint as worker 0 chose it (failover, DNS).
 * It never sees the static private key (lane-messages.ts). No probes, no
 * router, no control socket.
 */
import { exitSocketBudget } from '../dataplane/flow-admission.js'
import { openFileLimit } from '../io/fd-limit.js'
import { parentPort, workerData } from 'node:worker_threads'
import { LaneEndpoint } from '../crypto/index.js'
import { monotonicClock, realTimers } from '../io/clock.js'
import { createRelayNode } from '../node/relay-node.js'
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
  const { plane, index, count } = data
  let endpoint: LaneEndpoint | undefined
  const node = createRelayNode({
    plane,
    clock: monotonicClock,
    timers: realTimers,
    sockets: dataPlaneSockets(plane),
    log: logger({}),
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
        // The worker's native transit table (dataplane/transit-offload.ts) gets this worker's keypairs.
        onLiveKeys: o.onLiveKeys,
        rekeyAfterPackets: o.rekeyAfterPackets,
      })),
  })
  const { relay, paths } = node
  let stats: NodeJS.Timeout | undefined
  port.on('message', (m: ToLaneWorker) => {
    if (m.t === 'keys') endpoint!.install(m.peer, m.keys)
    else if (m.t === 'paths') paths.set(m.snap)
    else if (m.t === 'peers') relay.setPeers(m.table)
    else if (m.t === 'services') {
      relay.setServices(m.services).then(
        () => {
          paths.setServices(m.services)
          post({ t: 'services-done', id: m.id })
        },
        (err: Error) => post({ t: 'services-done', id: m.id, error: err.message }),
      )
    } else if (m.t === 'endpoints') relay.adoptEndpoints(m.state)
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
