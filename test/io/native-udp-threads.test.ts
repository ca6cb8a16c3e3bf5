/**
 * The overpass_udp addon used by several worker threads at once: a lane
 * group whose second socket lives in a worker, and two workers batching
 * sends at the same time. Workers drive the addon directly
 * (native-udp-thread-worker.mjs); this thread uses NativeUdpSocket.
 */
import dgram from 'node:dgram'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { afterEach, expect, it } from 'vitest'
import { waitFor } from '../integration/harness.js'
import { NativeUdpSocket, nativeUdpAvailable } from '../../src/io/native-udp.js'
import { NativeConnectedUdpSocket } from '../../src/io/native-udp-connected.js'
import { describeIf, needsAvailable } from '../support/requirements.js'
import { transport } from './lane-datagrams.js'

const avail = nativeUdpAvailable()
// The build under test: .ci/asan-check points OVERPASS_UDP_ADDON at its AddressSanitizer build.
const ADDON = process.env.OVERPASS_UDP_ADDON ?? fileURLToPath(new URL('../../build/Release/overpass_udp.node', import.meta.url))
const WORKER = new URL('./native-udp-thread-worker.mjs', import.meta.url)
const WAIT_MS = 10_000

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f()
})

function worker(data: Record<string, unknown>): Worker {
  const w = new Worker(WORKER, { workerData: { addon: ADDON, ...data } })
  cleanup.push(() => w.terminate())
  return w
}

/** The worker's next message, or the error that ended it, within WAIT_MS. */
function next(w: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('worker did not answer')), WAIT_MS)
    const done = (f: () => void): void => {
      clearTimeout(timer)
      w.off('message', onMessage)
      w.off('error', onError)
      f()
    }
    const onMessage = (m: unknown): void => done(() => resolve(m))
    const onError = (e: Error): void => done(() => reject(e))
    w.on('message', onMessage)
    w.on('error', onError)
  })
}

describeIf(needsAvailable('the native UDP addon', avail), 'native UDP sockets in several worker threads', () => {
  it('steers lanes across threads: socket 0 here, socket 1 in a worker', async () => {
    const s0 = new NativeUdpSocket('127.0.0.1', 0, { reusePort: true, laneSteering: 2 })
    cleanup.push(() => s0.close())
    const got0: number[] = []
    s0.onMessage((data) => got0.push(data.readUInt32BE(16)))
    const { port } = await s0.bound()
    const w = worker({ mode: 'member', port, lanes: 2 })
    expect(await next(w)).toBe('ready') // bound after s0: socket 1 of the group
    const got1: number[] = []
    w.on('message', (m: { got: number[][] }) => {
      for (const bytes of m.got) got1.push(Buffer.from(bytes).readUInt32BE(16))
    })
    const c = dgram.createSocket('udp4')
    cleanup.push(() => c.close())
    const want: number[][] = [[], []]
    let id = 0
    for (let round = 0; round < 4; round++) {
      for (let lane = 0; lane < 8; lane++) {
        await new Promise<void>((resolve) => c.send(transport(lane, id), port, '127.0.0.1', () => resolve()))
        want[lane % 2].push(id++)
        const hs = transport(lane, id)
        hs[1] = 1 // a handshake: socket 0 whatever byte 9 says
        await new Promise<void>((resolve) => c.send(hs, port, '127.0.0.1', () => resolve()))
        want[0].push(id++)
      }
    }
    expect(await waitFor(() => got0.length + got1.length === id, WAIT_MS, 10)).toBe(true)
    expect(got0).toEqual(want[0])
    expect(got1).toEqual(want[1])
    w.postMessage('close')
  })

  it('connected sockets in two threads read through one async resource per thread, and a thread that ends with some open tears them down', async () => {
    const COUNT = 40
    const workers = [0, 1].map(() => worker({ mode: 'connected', count: COUNT }))
    const exits = workers.map((w) => new Promise<number>((resolve) => w.once('exit', resolve)))
    for (const r of await Promise.all(workers.map(next))) expect(r).toEqual({ echoed: COUNT, open: COUNT / 2 })
    // Each thread's env went with half its sockets open: their cleanup hooks and the env's shared resource both let go.
    expect(await Promise.all(exits)).toEqual([0, 0])
    // And this thread's addon is unharmed: a connected socket here still sends and reads.
    const echo = dgram.createSocket('udp4')
    cleanup.push(() => echo.close())
    echo.on('message', (m, r) => echo.send(m, r.port, r.address))
    await new Promise<void>((resolve) => echo.bind(0, '127.0.0.1', resolve))
    const sock = new NativeConnectedUdpSocket('127.0.0.1', 0, '127.0.0.1', echo.address().port)
    cleanup.push(() => sock.close())
    const got: number[] = []
    sock.onMessage((d) => got.push(d[0]))
    expect(sock.send(Buffer.from([7]), 0, 1, echo.address().port, '127.0.0.1')).toBe(true)
    expect(await waitFor(() => got.length > 0, WAIT_MS)).toBe(true)
    expect(got[0]).toBe(7)
  })

  it('two threads batching sends at the same time lose nothing and mix nothing up', async () => {
    const COUNT = 2000
    const workers = [0x11111111, 0x22222222].map((tag) => worker({ mode: 'burst', tag, count: COUNT, window: 100, timeoutMs: WAIT_MS / 2 }))
    // Listen to both at once: a worker message with no listener is lost.
    expect(await Promise.all(workers.map(next))).toEqual(['ready', 'ready'])
    const results = workers.map((w) => next(w))
    for (const w of workers) w.postMessage('go')
    for (const r of (await Promise.all(results)) as Array<{ received: number; foreign: number; outOfOrder: number; fwdStats: number[] }>) {
      expect(r.received).toBe(COUNT)
      expect(r.foreign).toBe(0)
      expect(r.outOfOrder).toBe(0)
      const [, , , tx, txDropped, txErrors, , txBatches] = r.fwdStats
      expect({ tx, txDropped, txErrors }).toEqual({ tx: COUNT, txDropped: 0, txErrors: 0 })
      // Sent from inside another socket's batch: queued and sent with sendmmsg, several per call.
      expect(txBatches).toBeGreaterThan(0)
      expect(txBatches).toBeLessThan(COUNT)
    }
  })
})
