/** Connected per-peer native sockets (io/native-udp-connected) on loopback, against node:dgram peers. */
import dgram from 'node:dgram'
import { expect, it } from 'vitest'
import { waitFor as waitUntil } from '../integration/harness.js'
import { NativeConnectedUdpSocket, nativeConnectedAvailable } from '../../src/io/native-udp-connected.js'
import { NativeUdpSocket } from '../../src/io/native-udp.js'
import { UdpBindError } from '../../src/io/udp.js'
import { describeIf, needsAvailable } from '../support/requirements.js'
import { closedAfterEach } from './closed-after-each.js'
import { openInWorkerThenTerminate } from './worker-teardown.js'

const avail = nativeConnectedAvailable()
const WAIT_MS = 5000

const waitFor = (pred: () => boolean, timeoutMs = WAIT_MS): Promise<boolean> => waitUntil(pred, timeoutMs, 10)

const open = closedAfterEach()

async function peer(): Promise<{ sock: dgram.Socket; port: number; got: { data: Buffer; port: number }[] }> {
  const sock = dgram.createSocket('udp4')
  open.push(sock)
  const got: { data: Buffer; port: number }[] = []
  sock.on('message', (data, rinfo) => got.push({ data, port: rinfo.port }))
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()))
  return { sock, port: sock.address().port, got }
}

function connected(peerPort: number, opts: ConstructorParameters<typeof NativeConnectedUdpSocket>[4] = {}): NativeConnectedUdpSocket {
  const s = new NativeConnectedUdpSocket('127.0.0.1', 0, '127.0.0.1', peerPort, opts)
  open.push(s)
  return s
}

describeIf(needsAvailable('the native connected UDP addon', avail), 'NativeConnectedUdpSocket', () => {
  it('exchanges datagrams with its peer, in order, with the peer as the source', async () => {
    const p = await peer()
    const s = connected(p.port)
    const { port } = await s.bound()
    const got: string[] = []
    const froms = new Set<string>()
    s.onMessage((data, from) => {
      got.push(data.toString())
      froms.add(`${from.address}:${from.port}`)
    })
    for (let i = 0; i < 100; i++) p.sock.send(`m${i}`, port, '127.0.0.1')
    expect(await waitFor(() => got.length === 100)).toBe(true)
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`))
    expect([...froms]).toEqual([`127.0.0.1:${p.port}`])
    for (let i = 0; i < 20; i++) {
      const b = Buffer.from(`r${i}`)
      expect(s.send(b, 0, b.length, p.port, '127.0.0.1')).toBe(true)
    }
    expect(await waitFor(() => p.got.length === 20)).toBe(true)
    expect(p.got.every((g) => g.port === port)).toBe(true)
    expect(s.stats()).toMatchObject({ rxPackets: 100, txPackets: 20, txErrors: 0 })
  })

  it('sends its handler makes on a batched socket leave in sendmmsg batches, not one sendto each (an exit\'s replies)', async () => {
    const origin = await peer()
    const sink = await peer()
    const s = connected(origin.port)
    const overlay = new NativeUdpSocket('127.0.0.1', 0)
    open.push(overlay)
    const { port } = await s.bound()
    s.onMessage((data) => overlay.send(data, 0, data.length, sink.port, '127.0.0.1'))
    for (let i = 0; i < 32; i++) origin.sock.send(`r${i}`, port, '127.0.0.1')
    expect(await waitFor(() => sink.got.length === 32)).toBe(true)
    expect(sink.got.map((g) => g.data.toString())).toEqual(Array.from({ length: 32 }, (_, i) => `r${i}`))
    const st = overlay.stats()
    expect(st.txPackets).toBe(32)
    // One batch per wake of the connected socket: fewer batches than datagrams, and none sent alone by sendto.
    expect(st.txBatches).toBeGreaterThan(0)
    expect(st.txBatches).toBeLessThan(32)
  })

  it('hears nothing from other sources, and refuses to send anywhere but its peer', async () => {
    const p = await peer()
    const stranger = await peer()
    const s = connected(p.port)
    const { port } = await s.bound()
    let n = 0
    s.onMessage(() => n++)
    stranger.sock.send('x', port, '127.0.0.1')
    p.sock.send('y', port, '127.0.0.1')
    expect(await waitFor(() => n >= 1)).toBe(true)
    await new Promise((r) => setTimeout(r, 50))
    expect(n).toBe(1)
    expect(s.send(Buffer.from('z'), 0, 1, stranger.port, '127.0.0.1')).toBe(false)
    expect(s.stats().txMisaddressed).toBe(1)
  })

  it('keeps each socket\'s datagrams apart though all share one receive arena', async () => {
    const p = await peer()
    const socks = Array.from({ length: 40 }, () => connected(p.port))
    const ports = await Promise.all(socks.map(async (s) => (await s.bound()).port))
    const got = socks.map(() => [] as string[])
    socks.forEach((s, i) => s.onMessage((data) => got[i].push(data.toString())))
    for (let round = 0; round < 5; round++) ports.forEach((port, i) => p.sock.send(`${i}:${round}`, port, '127.0.0.1'))
    expect(await waitFor(() => got.every((g) => g.length === 5))).toBe(true)
    got.forEach((g, i) => expect(g).toEqual([0, 1, 2, 3, 4].map((r) => `${i}:${r}`)))
  })

  it('drops and counts a datagram over its size, and delivers the next', async () => {
    const p = await peer()
    const s = connected(p.port, { maxDatagramBytes: 256 })
    const { port } = await s.bound()
    const got: number[] = []
    s.onMessage((data) => got.push(data.length))
    p.sock.send(Buffer.alloc(3000), port, '127.0.0.1')
    p.sock.send(Buffer.alloc(100), port, '127.0.0.1')
    expect(await waitFor(() => got.length === 1)).toBe(true)
    expect(got).toEqual([100])
    expect(s.stats().rxTruncated).toBe(1)
  })

  it('counts a closed peer port (ICMP unreachable) and goes on reading', async () => {
    const p = await peer()
    const gone = await peer()
    const gonePort = gone.port
    gone.sock.close()
    const s = connected(gonePort)
    s.send(Buffer.from('a'), 0, 1, gonePort, '127.0.0.1')
    expect(await waitFor(() => s.stats().rxErrors + s.stats().txErrors > 0 || s.send(Buffer.from('b'), 0, 1, gonePort, '127.0.0.1') === false)).toBe(true)
    s.close()
    // A fresh socket to a live peer still works after all that.
    const t = connected(p.port)
    expect(t.send(Buffer.from('ok'), 0, 2, p.port, '127.0.0.1')).toBe(true)
    expect(await waitFor(() => p.got.length === 1)).toBe(true)
  })

  it('stops delivering after close, and rejects bound() when it cannot bind', async () => {
    const p = await peer()
    const s = connected(p.port)
    const { port } = await s.bound()
    let n = 0
    s.onMessage(() => n++)
    s.close()
    p.sock.send('late', port, '127.0.0.1')
    await new Promise((r) => setTimeout(r, 50))
    expect(n).toBe(0)
    expect(s.send(Buffer.from('x'), 0, 1, p.port, '127.0.0.1')).toBe(false)
    const bad = new NativeConnectedUdpSocket('192.0.2.1', 0, '127.0.0.1', p.port)
    await expect(bad.bound()).rejects.toBeInstanceOf(UdpBindError)
  })
})

describeIf(needsAvailable('the native connected UDP addon', avail), 'native sockets and timers in a worker thread', () => {
  it('are torn down cleanly when the worker ends without closing them', async () => {
    const { fileURLToPath } = await import('node:url')
    const udp = fileURLToPath(new URL('../../build/Release/overpass_udp.node', import.meta.url))
    const hrt = fileURLToPath(new URL('../../build/Release/overpass_hrtimer.node', import.meta.url))
    const p = await peer()
    await openInWorkerThenTerminate(
      `const u = require(${JSON.stringify(udp)}), h = require(${JSON.stringify(hrt)});
       const slot = 2048;
       u.open(4, '127.0.0.1', 0, 0, 0, slot, Buffer.alloc(slot * (u.batch + 1)), new Int32Array(2 + 3 * u.batch), new Float64Array(16), () => {});
       u.arena(Buffer.alloc(slot * (u.connectedBatch + 1)), new Int32Array(1 + 2 * u.connectedBatch), slot);
       u.openConnected(4, '127.0.0.1', 0, '127.0.0.1', ${p.port}, 0, 0, () => {});
       const t = h.create(() => {}); h.arm(t, 60e9);
       require('node:worker_threads').parentPort.postMessage('open')`,
    )
    // This process goes on working with the same addons.
    const s = connected(p.port)
    expect(s.send(Buffer.from('after'), 0, 5, p.port, '127.0.0.1')).toBe(true)
    expect(await waitFor(() => p.got.length === 1)).toBe(true)
  })
})
