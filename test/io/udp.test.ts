import dgram from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { MAX_STAGED_BYTES, NodeUdpSocket, SendArena } from '../../src/io/udp.js'

describe('SendArena', () => {
  it('reuses the same bytes while no send is kept', () => {
    const arena = new SendArena(8192)
    const a = arena.stage(Buffer.alloc(100, 1), 0, 100)
    const b = arena.stage(Buffer.alloc(100, 2), 0, 100)
    expect(b).toBe(a)
    expect(arena.buffer[b]).toBe(2)
  })

  it('never overwrites bytes kept for a queued send', () => {
    const arena = new SendArena(8192)
    const start = arena.stage(Buffer.alloc(100, 7), 0, 100)
    const kept = arena.buffer
    arena.keep(100)
    for (let i = 0; i < 50; i++) arena.stage(Buffer.alloc(100, 9), 0, 100)
    expect(kept.subarray(start, start + 100).every((x) => x === 7)).toBe(true)
  })

  it('moves to a new chunk when a full datagram no longer fits, leaving the old chunk intact', () => {
    const arena = new SendArena(8192)
    const first = arena.buffer
    const starts: number[] = []
    // Each kept send takes 1000 bytes: after 7 the remaining 1192 bytes cannot hold MAX_STAGED_BYTES.
    for (let i = 0; i < 7; i++) {
      starts.push(arena.stage(Buffer.alloc(1000, i + 1), 0, 1000))
      expect(arena.buffer).toBe(first)
      arena.keep(1000)
    }
    expect(arena.buffer).not.toBe(first)
    expect(arena.stage(Buffer.alloc(1000, 99), 0, 1000)).toBe(0)
    starts.forEach((s, i) => expect(first.subarray(s, s + 1000).every((x) => x === i + 1)).toBe(true))
  })

  it('copies only the requested range of the source', () => {
    const arena = new SendArena(8192)
    const src = Buffer.from([0, 1, 2, 3, 4, 5])
    const start = arena.stage(src, 2, 3)
    expect([...arena.buffer.subarray(start, start + 3)]).toEqual([2, 3, 4])
  })

  it('has room for the largest staged datagram in every chunk', () => {
    const arena = new SendArena(MAX_STAGED_BYTES * 2)
    arena.keep(MAX_STAGED_BYTES + 1)
    expect(arena.stage(Buffer.alloc(MAX_STAGED_BYTES), 0, MAX_STAGED_BYTES)).toBe(0)
  })
})

describe('NodeUdpSocket', () => {
  const open: { close(): void }[] = []
  afterEach(() => {
    for (const s of open.splice(0)) s.close()
  })

  async function receiver(): Promise<{ port: number; got: Buffer[] }> {
    const r = dgram.createSocket('udp4')
    open.push(r)
    const got: Buffer[] = []
    r.on('message', (m) => got.push(m))
    await new Promise<void>((resolve) => r.bind(0, '127.0.0.1', resolve))
    r.setRecvBufferSize(1 << 20)
    return { port: r.address().port, got }
  }

  async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
    const end = Date.now() + timeoutMs
    while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
  }

  it('delivers every datagram intact although the caller rewrites one scratch buffer', async () => {
    const r = await receiver()
    const s = new NodeUdpSocket('127.0.0.1', 0)
    open.push(s)
    await s.bound()
    const scratch = Buffer.alloc(200)
    const n = 300
    for (let i = 0; i < n; i++) {
      scratch.fill(i & 0xff)
      scratch.writeUInt16BE(i, 0)
      expect(s.send(scratch, 0, 200, r.port, '127.0.0.1')).toBe(true)
    }
    scratch.fill(0xee)
    await until(() => r.got.length >= n)
    expect(r.got.length).toBe(n)
    for (const m of r.got) {
      const i = m.readUInt16BE(0)
      expect(m.subarray(2).every((x) => x === (i & 0xff))).toBe(true)
    }
  })

  it('delivers a send made before the bind completes', async () => {
    const r = await receiver()
    const s = new NodeUdpSocket('127.0.0.1', 0)
    open.push(s)
    const scratch = Buffer.from('before bind')
    expect(s.send(scratch, 0, scratch.length, r.port, '127.0.0.1')).toBe(true)
    scratch.fill(0)
    await until(() => r.got.length >= 1)
    expect(r.got[0]?.toString()).toBe('before bind')
  })

  it('resolves bound() before and after the bind completes with the same address', async () => {
    const s = new NodeUdpSocket('127.0.0.1', 0)
    open.push(s)
    const early = await s.bound()
    const late = await s.bound()
    expect(early.port).toBeGreaterThan(0)
    expect(late).toEqual(early)
  })

  it('rejects bound() with UdpBindError when the port is taken', async () => {
    const a = new NodeUdpSocket('127.0.0.1', 0)
    open.push(a)
    const { port } = await a.bound()
    const b = new NodeUdpSocket('127.0.0.1', port)
    open.push(b)
    b.onError(() => {})
    await expect(b.bound()).rejects.toMatchObject({ name: 'UdpBindError', code: 'EADDRINUSE', port })
    // Asked again after the failure: the same error, not a hang.
    await expect(b.bound()).rejects.toMatchObject({ name: 'UdpBindError' })
  })

  it('returns false after close instead of throwing', async () => {
    const s = new NodeUdpSocket('127.0.0.1', 0)
    await s.bound()
    s.close()
    expect(s.send(Buffer.alloc(10), 0, 10, 9, '127.0.0.1')).toBe(false)
  })
})
