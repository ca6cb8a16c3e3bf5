/**
 * SO_REUSEPORT groups of NativeUdpSockets on one loopback port, with and
 * without lane steering (io/native-udp: reusePort, laneSteering), in one
 * thread. The worker-thread cases are in native-udp-threads.test.ts.
 */
import dgram from 'node:dgram'
import { expect, it } from 'vitest'
import { waitFor } from '../integration/harness.js'
import { NativeUdpOptionError, NativeUdpSocket, nativeUdpAvailable, nativeUdpFactory } from '../../src/io/native-udp.js'
import { UdpBindError } from '../../src/io/udp.js'
import { describeIf, needsAvailable } from '../support/requirements.js'
import { closedAfterEach } from './closed-after-each.js'
import { transport } from './lane-datagrams.js'

const avail = nativeUdpAvailable()
const WAIT_MS = 5000

const open = closedAfterEach()

/** A handshake initiation (type 1) whose byte 9 would name lane `lane` if it were read. */
function handshake(lane: number, id: number): Buffer {
  const b = Buffer.alloc(128)
  b[0] = 1
  b[1] = 1
  b[9] = lane
  b.writeUInt32BE(id, 16)
  return b
}

/** Sockets bound in order (the group's numbering), each keeping a copy of every datagram it receives. */
async function group(n: number, opts: { laneSteering?: number } = {}): Promise<{ port: number; got: Buffer[][] }> {
  const got: Buffer[][] = []
  let port = 0
  for (let i = 0; i < n; i++) {
    const s = new NativeUdpSocket('127.0.0.1', port, { reusePort: true, ...opts })
    open.push(s)
    const mine: Buffer[] = []
    got.push(mine)
    s.onMessage((data) => mine.push(Buffer.from(data)))
    port = (await s.bound()).port
  }
  return { port, got }
}

async function client(): Promise<dgram.Socket> {
  const c = dgram.createSocket('udp4')
  open.push(c)
  await new Promise<void>((resolve) => c.bind(0, '127.0.0.1', () => resolve()))
  return c
}

function send(c: dgram.Socket, port: number, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => c.send(data, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())))
}

const total = (got: Buffer[][]): number => got.reduce((n, g) => n + g.length, 0)

describeIf(needsAvailable('the native UDP addon', avail), 'NativeUdpSocket lane steering (reusePort + laneSteering)', () => {
  for (const n of [2, 3]) {
    it(`delivers a transport datagram to socket lane % ${n}, and handshakes and short datagrams to socket 0`, async () => {
      const g = await group(n, { laneSteering: n })
      const c = await client()
      const want: number[][] = Array.from({ length: n }, () => [])
      let id = 0
      for (let round = 0; round < 3; round++) {
        for (let lane = 0; lane < 8; lane++) {
          await send(c, g.port, transport(lane, id))
          want[lane % n].push(id++)
          await send(c, g.port, handshake(lane + 1, id))
          want[0].push(id++)
        }
      }
      // The length rule: 16 bytes (the header through the counter) is enough, 15 is not.
      await send(c, g.port, transport(1, 0, 16))
      await send(c, g.port, transport(1, 0, 15))
      await send(c, g.port, Buffer.from([1]))
      const expected = id + 3
      expect(await waitFor(() => total(g.got) === expected, WAIT_MS, 10)).toBe(true)
      for (let i = 0; i < n; i++) {
        const full = g.got[i].filter((d) => d.length >= 20).map((d) => d.readUInt32BE(16))
        expect(full).toEqual(want[i])
      }
      const short = g.got.map((got) => got.filter((d) => d.length < 20).map((d) => d.length).sort((a, b) => a - b))
      expect(short[0]).toEqual([1, 15])
      expect(short[1]).toEqual([16]) // lane 1 of a 16-byte transport datagram
    })
  }

  it('renumbers the group when a socket closes: the last one takes its number', async () => {
    const socks: NativeUdpSocket[] = []
    const got: number[][] = [[], [], []]
    let port = 0
    for (let i = 0; i < 3; i++) {
      const s = new NativeUdpSocket('127.0.0.1', port, { reusePort: true, laneSteering: 3 })
      open.push(s)
      socks.push(s)
      s.onMessage((data) => got[i].push(data[9]))
      port = (await s.bound()).port
    }
    socks[1].close()
    const c = await client()
    await send(c, port, transport(1, 0))
    await send(c, port, transport(0, 1))
    expect(await waitFor(() => got[0].length + got[2].length === 2, WAIT_MS, 10)).toBe(true)
    expect(got[2]).toEqual([1]) // lane 1 now reaches the socket bound third
    expect(got[0]).toEqual([0])
  })

  it('spreads a plain reusePort group (no program) by 4-tuple: one source stays on one socket', async () => {
    const g = await group(2)
    const clients = await Promise.all(Array.from({ length: 24 }, () => client()))
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < clients.length; i++) await send(clients[i], g.port, transport(0, i))
    }
    expect(await waitFor(() => total(g.got) === 3 * clients.length, WAIT_MS, 10)).toBe(true)
    const ids = g.got.map((got) => new Set(got.map((d) => d.readUInt32BE(16))))
    // Both sockets get some sources (24 sources on one socket by chance: 2^-23), and no source reaches both.
    expect(ids[0].size).toBeGreaterThan(0)
    expect(ids[1].size).toBeGreaterThan(0)
    expect(ids[0].size + ids[1].size).toBe(clients.length)
  })

  it('fails a second bind to the port without reusePort with UdpBindError naming EADDRINUSE', async () => {
    const first = new NativeUdpSocket('127.0.0.1', 0)
    open.push(first)
    const { port } = await first.bound()
    const second = new NativeUdpSocket('127.0.0.1', port)
    open.push(second)
    const err = await second.bound().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UdpBindError)
    expect((err as UdpBindError).name).toBe('UdpBindError')
    expect((err as UdpBindError).code).toBe('EADDRINUSE')
    expect((err as Error).message).toMatch(/EADDRINUSE|in use/i)
    // A reusePort socket cannot join a port held without it; the message says why.
    const joiner = new NativeUdpSocket('127.0.0.1', port, { reusePort: true, laneSteering: 2 })
    open.push(joiner)
    const err2 = (await joiner.bound().catch((e: unknown) => e)) as UdpBindError
    expect(err2.code).toBe('EADDRINUSE')
    expect(err2.message).toMatch(/Fix: .*every socket of the group must set reusePort/)
  })

  it('fails a bind without reusePort to a port a reusePort group holds', async () => {
    const g = await group(1)
    const plain = new NativeUdpSocket('127.0.0.1', g.port)
    open.push(plain)
    await expect(plain.bound()).rejects.toMatchObject({ name: 'UdpBindError', code: 'EADDRINUSE' })
  })

  it('rejects laneSteering without reusePort or out of 1..256 with NativeUdpOptionError', () => {
    for (const opts of [{ laneSteering: 2 }, { reusePort: true, laneSteering: 0 }, { reusePort: true, laneSteering: 257 }, { reusePort: true, laneSteering: 1.5 }]) {
      expect(() => new NativeUdpSocket('127.0.0.1', 0, opts)).toThrow(NativeUdpOptionError)
      expect(() => nativeUdpFactory(opts)).toThrow(expect.objectContaining({ name: 'NativeUdpOptionError', field: 'laneSteering' }))
    }
  })
})
