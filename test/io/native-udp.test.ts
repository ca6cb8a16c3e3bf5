/**
 * The batched native UDP socket (io/native-udp) on loopback, against plain
 * node:dgram peers. The EAGAIN test needs root: it runs a child in a per-run
 * network namespace whose loopback is slowed by a tbf qdisc.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import dgram from 'node:dgram'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { waitFor as waitUntil } from '../integration/harness.js'
import type { PeerAddress } from '../../src/io/index.js'
import { chooseOverlayUdp, NativeUdpSocket, nativeUdpAvailable, udpModeFromEnv } from '../../src/io/native-udp.js'
import { nodeUdp } from '../../src/io/udp.js'
import { deleteNetns, ip } from '../support/netns.js'
import { describeIf, firstGap, needsAvailable, needsRoot, needsTools } from '../support/requirements.js'
import { closedAfterEach } from './closed-after-each.js'

const avail = nativeUdpAvailable()
if (!avail.ok) console.log(`skipping native UDP tests: ${avail.reason}`)
const HERE = path.dirname(fileURLToPath(import.meta.url))
const ADDON = path.resolve(HERE, '../../build/Release/overpass_udp.node')
const WAIT_MS = 5000

const waitFor = (pred: () => boolean, timeoutMs = WAIT_MS): Promise<boolean> => waitUntil(pred, timeoutMs, 10)

function pattern(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length)
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed * 7) & 0xff
  return b
}

const open = closedAfterEach()

async function nativeSocket(host: string, opts: ConstructorParameters<typeof NativeUdpSocket>[2] = {}): Promise<{ sock: NativeUdpSocket; addr: PeerAddress }> {
  const sock = new NativeUdpSocket(host, 0, opts)
  open.push(sock)
  return { sock, addr: await sock.bound() }
}

async function dgramPeer(type: 'udp4' | 'udp6', host: string): Promise<{ sock: dgram.Socket; port: number; got: Array<{ data: Buffer; port: number }> }> {
  const sock = dgram.createSocket(type)
  open.push(sock)
  const got: Array<{ data: Buffer; port: number }> = []
  sock.on('message', (data, rinfo) => got.push({ data, port: rinfo.port }))
  await new Promise<void>((resolve) => sock.bind(0, host, () => resolve()))
  sock.setRecvBufferSize(4 << 20)
  return { sock, port: sock.address().port, got }
}

describeIf(needsAvailable('the native UDP addon', avail), 'NativeUdpSocket', () => {
  for (const [family, host] of [['IPv4', '127.0.0.1'], ['IPv6', '::1']] as const) {
    it(`carries datagrams byte-exact both ways over ${family} loopback, with the peer's address`, async () => {
      const { sock, addr } = await nativeSocket(host)
      const peer = await dgramPeer(family === 'IPv4' ? 'udp4' : 'udp6', host)
      const got: Array<{ data: Buffer; from: PeerAddress }> = []
      sock.onMessage((data, from) => got.push({ data: Buffer.from(data), from }))
      const lengths = [0, 1, 100, 1400, 2048]
      for (const [i, n] of lengths.entries()) peer.sock.send(pattern(n, i), addr.port, host)
      expect(await waitFor(() => got.length === lengths.length)).toBe(true)
      got.forEach((g, i) => {
        expect(g.data.equals(pattern(lengths[i], i))).toBe(true)
        expect(g.from).toEqual({ address: host, port: peer.port })
      })
      const scratch = Buffer.alloc(3000)
      for (const [i, n] of lengths.entries()) {
        pattern(n, i + 10).copy(scratch, 5)
        expect(sock.send(scratch, 5, n, peer.port, host)).toBe(true)
        scratch.fill(0xee) // the socket copied before send returned
      }
      expect(await waitFor(() => peer.got.length === lengths.length)).toBe(true)
      peer.got.forEach((g, i) => {
        expect(g.data.equals(pattern(lengths[i], i + 10))).toBe(true)
        expect(g.port).toBe(addr.port)
      })
      expect(sock.stats()).toMatchObject({ rxPackets: 5, txPackets: 5, txDropped: 0, txErrors: 0 })
    })
  }

  it('delivers a burst from two sources in order per source, in batches, with the right source for each', async () => {
    const { sock, addr } = await nativeSocket('127.0.0.1', { recvBufferBytes: 4 << 20 })
    const a = await dgramPeer('udp4', '127.0.0.1')
    const b = await dgramPeer('udp4', '127.0.0.1')
    const seen = new Map<number, number[]>()
    let wrongSource = 0
    sock.onMessage((data, from) => {
      const list = seen.get(from.port) ?? []
      seen.set(from.port, list)
      list.push(data.readUInt32BE(0))
      if (data.readUInt32BE(4) !== from.port) wrongSource++ // the sender wrote its own port
    })
    const N = 400
    // All sends happen in this tick, so the kernel queues them before the socket wakes.
    for (let i = 0; i < N; i++) {
      for (const p of [a, b]) {
        const d = Buffer.alloc(64)
        d.writeUInt32BE(i, 0)
        d.writeUInt32BE(p.port, 4)
        p.sock.send(d, addr.port, '127.0.0.1')
      }
    }
    expect(await waitFor(() => (seen.get(a.port)?.length ?? 0) + (seen.get(b.port)?.length ?? 0) === 2 * N)).toBe(true)
    const inOrder = Array.from({ length: N }, (_, i) => i)
    expect(seen.get(a.port)).toEqual(inOrder)
    expect(seen.get(b.port)).toEqual(inOrder)
    expect(wrongSource).toBe(0)
    const st = sock.stats()
    expect(st.rxPackets).toBe(2 * N)
    expect(st.rxBatches).toBeLessThan(st.rxPackets / 2)
  })

  it('sends the replies made inside a batch callback when the batch returns', async () => {
    const { sock, addr } = await nativeSocket('127.0.0.1', { recvBufferBytes: 4 << 20, sendBufferBytes: 4 << 20 })
    const peer = await dgramPeer('udp4', '127.0.0.1')
    const reply = Buffer.alloc(200)
    let refused = 0
    sock.onMessage((data, from) => {
      data.copy(reply, 0)
      reply.writeUInt8(0xab, data.length) // a marker past the request
      if (!sock.send(reply, 0, data.length + 1, from.port, from.address)) refused++
    })
    const N = 300
    for (let i = 0; i < N; i++) peer.sock.send(pattern(100, i), addr.port, '127.0.0.1')
    expect(await waitFor(() => peer.got.length === N)).toBe(true)
    const bySeed = new Set(peer.got.map((g) => g.data.subarray(0, 100).toString('hex')))
    for (let i = 0; i < N; i++) expect(bySeed.has(pattern(100, i).toString('hex'))).toBe(true)
    expect(peer.got.every((g) => g.data.length === 101 && g.data[100] === 0xab)).toBe(true)
    expect(refused).toBe(0)
    expect(sock.stats()).toMatchObject({ txPackets: N, txDropped: 0 })
  })

  it('batches sends on another native socket made inside a batch, and sends them when the batch returns', async () => {
    // The ingress shape: a batch read on the service socket, each datagram forwarded on the overlay socket.
    const { sock: inbound, addr } = await nativeSocket('127.0.0.1', { recvBufferBytes: 4 << 20 })
    const { sock: outbound } = await nativeSocket('127.0.0.1', { sendBufferBytes: 4 << 20 })
    const sink = await dgramPeer('udp4', '127.0.0.1')
    const sender = await dgramPeer('udp4', '127.0.0.1')
    let sentInside = 0
    inbound.onMessage((data) => {
      if (outbound.send(data, 0, data.length, sink.port, '127.0.0.1')) sentInside++
    })
    const N = 200
    // Sent before the loop turns, so the inbound socket reads them in a few batches.
    for (let i = 0; i < N; i++) sender.sock.send(pattern(80, i), addr.port, '127.0.0.1')
    expect(await waitFor(() => sink.got.length === N)).toBe(true)
    const seen = new Set(sink.got.map((g) => g.data.toString('hex')))
    for (let i = 0; i < N; i++) expect(seen.has(pattern(80, i).toString('hex'))).toBe(true)
    const st = outbound.stats()
    expect(sentInside).toBe(N)
    expect(st.txPackets).toBe(N)
    // Fewer sendmmsg calls than datagrams: they left in batches, not one sendto each.
    expect(st.txBatches).toBeGreaterThan(0)
    expect(st.txBatches).toBeLessThan(N / 2)
    expect(inbound.stats().rxBatches).toBeLessThan(N / 2)
  })

  it('sends at once, outside any batch, and drops nothing queued when the other socket closes mid-batch', async () => {
    const { sock: inbound, addr } = await nativeSocket('127.0.0.1')
    const { sock: outbound } = await nativeSocket('127.0.0.1')
    const sink = await dgramPeer('udp4', '127.0.0.1')
    const sender = await dgramPeer('udp4', '127.0.0.1')
    // Outside a batch: a plain sendto, no batch counted.
    expect(outbound.send(pattern(10, 1), 0, 10, sink.port, '127.0.0.1')).toBe(true)
    expect(await waitFor(() => sink.got.length === 1)).toBe(true)
    expect(outbound.stats().txBatches).toBe(0)
    // Inside a batch: queue one, then close the outbound socket; the queued send is dropped, nothing crashes.
    let n = 0
    inbound.onMessage((data) => {
      n++
      if (n === 1) {
        outbound.send(data, 0, data.length, sink.port, '127.0.0.1')
        outbound.close()
      }
    })
    sender.sock.send(pattern(20, 2), addr.port, '127.0.0.1')
    sender.sock.send(pattern(20, 3), addr.port, '127.0.0.1')
    expect(await waitFor(() => n === 2)).toBe(true)
    await new Promise((r) => setTimeout(r, 50))
    expect(sink.got.length).toBe(1)
  })

  it('drops and counts a datagram larger than its slot, and delivers the next one', async () => {
    const { sock, addr } = await nativeSocket('127.0.0.1', { maxDatagramBytes: 256 })
    const peer = await dgramPeer('udp4', '127.0.0.1')
    const got: number[] = []
    sock.onMessage((data) => got.push(data.length))
    peer.sock.send(Buffer.alloc(257), addr.port, '127.0.0.1')
    peer.sock.send(Buffer.alloc(256), addr.port, '127.0.0.1')
    peer.sock.send(Buffer.alloc(1000), addr.port, '127.0.0.1')
    peer.sock.send(Buffer.alloc(10), addr.port, '127.0.0.1')
    expect(await waitFor(() => got.length === 2)).toBe(true)
    expect(got).toEqual([256, 10])
    expect(sock.stats()).toMatchObject({ rxPackets: 2, rxTruncated: 2 })
  })

  it('stops delivering after close, refuses sends, and frees the port', async () => {
    const { sock, addr } = await nativeSocket('127.0.0.1')
    const peer = await dgramPeer('udp4', '127.0.0.1')
    let got = 0
    sock.onMessage(() => got++)
    peer.sock.send(Buffer.alloc(10), addr.port, '127.0.0.1')
    expect(await waitFor(() => got === 1)).toBe(true)
    sock.close()
    sock.close() // twice is harmless
    peer.sock.send(Buffer.alloc(10), addr.port, '127.0.0.1')
    await new Promise((r) => setTimeout(r, 100))
    expect(got).toBe(1)
    expect(sock.send(Buffer.alloc(10), 0, 10, peer.port, '127.0.0.1')).toBe(false)
    const again = new NativeUdpSocket('127.0.0.1', addr.port)
    open.push(again)
    await expect(again.bound()).resolves.toEqual(addr)
  })

  it('stops delivering the rest of a batch when the handler closes the socket', async () => {
    const { sock, addr } = await nativeSocket('127.0.0.1')
    const peer = await dgramPeer('udp4', '127.0.0.1')
    let got = 0
    sock.onMessage(() => {
      got++
      sock.close()
    })
    for (let i = 0; i < 20; i++) peer.sock.send(Buffer.alloc(10), addr.port, '127.0.0.1')
    expect(await waitFor(() => got > 0)).toBe(true)
    await new Promise((r) => setTimeout(r, 100))
    expect(got).toBe(1)
  })

  it('rejects bound() with UdpBindError when the port is taken', async () => {
    const { addr } = await nativeSocket('127.0.0.1')
    const second = new NativeUdpSocket('127.0.0.1', addr.port)
    await expect(second.bound()).rejects.toMatchObject({ name: 'UdpBindError', code: 'EADDRINUSE' })
    expect(second.send(Buffer.alloc(1), 0, 1, addr.port, '127.0.0.1')).toBe(false)
  })

  it('counts a send to an address of the other family instead of throwing', async () => {
    const { sock } = await nativeSocket('127.0.0.1')
    expect(sock.send(Buffer.alloc(10), 0, 10, 9, '::1')).toBe(false)
    expect(sock.send(Buffer.alloc(10), 0, 10, 9, 'not-an-ip')).toBe(false)
    expect(sock.stats().txUnaddressable).toBe(2)
  })

  it('keeps sources and destinations right after its address table fills and starts over', async () => {
    const { sock, addr } = await nativeSocket('127.0.0.1')
    const peer = await dgramPeer('udp4', '127.0.0.1')
    sock.onMessage((data, from) => sock.send(data, 0, data.length, from.port, from.address))
    peer.sock.send(Buffer.from('one'), addr.port, '127.0.0.1')
    expect(await waitFor(() => peer.got.length === 1)).toBe(true)
    // 1500 distinct destinations outside a batch: more than the table holds (1024).
    const d = Buffer.alloc(1)
    for (let port = 40000; port < 41500; port++) sock.send(d, 0, 1, port, '127.0.0.2')
    peer.sock.send(Buffer.from('two'), addr.port, '127.0.0.1')
    expect(await waitFor(() => peer.got.length === 2)).toBe(true)
    expect(peer.got.map((g) => g.data.toString())).toEqual(['one', 'two'])
    expect(sock.send(Buffer.from('three'), 0, 5, peer.port, '127.0.0.1')).toBe(true)
    expect(await waitFor(() => peer.got.length === 3)).toBe(true)
  })

  it('counts sends dropped on a full socket buffer, in a batch and outside one (root: netns with a slow tbf loopback)', async (ctx) => {
    const gap = firstGap(needsRoot('the tbf loopback namespace'), needsTools('ip', 'tc'))
    if (gap) return ctx.skip(gap)
    const ns = `opnudp${process.pid % 100000}`
    try {
      ip('netns', 'add', ns)
      ip('-n', ns, 'link', 'set', 'lo', 'up')
      // ~1 datagram/s leaves the qdisc; the rest wait there, charged to the sender's 4 KB buffer.
      execFileSync('tc', ['-n', ns, 'qdisc', 'add', 'dev', 'lo', 'root', 'tbf', 'rate', '8kbit', 'burst', '1600', 'limit', '1000000'], { stdio: 'ignore', timeout: 5000 })
      const BURST = 100
      const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, path.join(HERE, 'native-udp-eagain-child.mjs'), ADDON, String(BURST)], { encoding: 'utf8', timeout: 15_000 })
      expect(r.status, r.stderr).toBe(0)
      const out = JSON.parse(r.stdout.trim()) as { queuedInBatch: number; afterBatch: number[]; directOk: number; directDropped: number; final: number[] }
      const [, , , tx, txDropped, txErrors] = out.afterBatch
      expect(out.queuedInBatch).toBe(BURST) // every send in the batch was queued...
      expect(txDropped).toBeGreaterThan(0) // ...and sendmmsg found the buffer full for some
      expect(tx - 1 + txDropped).toBe(BURST) // the trigger datagram is the 1
      expect(txErrors).toBe(0)
      expect(out.directDropped).toBeGreaterThan(0)
      expect(out.directOk + out.directDropped).toBe(BURST)
      expect(out.final[4]).toBe(txDropped + out.directDropped)
    } finally {
      deleteNetns(ns)
    }
  })
})

describe('overlay socket choice (OVERPASS_UDP)', () => {
  it('reads auto by default and rejects an unknown mode with a fix', () => {
    expect(udpModeFromEnv({})).toBe('auto')
    expect(udpModeFromEnv({ OVERPASS_UDP: 'dgram' })).toBe('dgram')
    expect(() => udpModeFromEnv({ OVERPASS_UDP: 'fast' })).toThrow(expect.objectContaining({ name: 'UdpModeError' }))
  })

  it('uses node:dgram when forced, and the native socket in auto when the addon loads', () => {
    expect(chooseOverlayUdp('dgram', nodeUdp)).toEqual({ factory: nodeUdp, kind: 'dgram' })
    const auto = chooseOverlayUdp('auto', nodeUdp)
    expect(auto.kind).toBe(avail.ok ? 'native' : 'dgram')
    if (!avail.ok) expect(() => chooseOverlayUdp('native', nodeUdp)).toThrow(expect.objectContaining({ name: 'NativeUdpUnavailableError' }))
  })
})
