/**
 * Real TUN devices; root only. The device under test is opened in the root
 * namespace with a per-run name, then moved into a per-run network namespace
 * (its fd keeps working there), so the addresses and routes it needs never
 * touch the host. UDP endpoints inside the namespace are short node child
 * processes run with `ip netns exec`.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor as waitUntil } from '../integration/harness.js'
import { configureTun, moveTunToNetns, openTun, tunAvailable, type LinuxTun } from '../../src/io/tun.js'
import { describeIf, firstGap, needsAvailable, needsTools } from '../support/requirements.js'
import { openInWorkerThenTerminate } from './worker-teardown.js'
import { deleteNetns, ip } from '../support/netns.js'

const gap = firstGap(needsAvailable('no TUN device', tunAvailable()), needsTools('ip'))

const RUN_ID = process.pid % 10000
const NS = `optestns${RUN_ID}`
const DEV = `optest${RUN_ID}`
const LOCAL = '198.18.0.1' // the namespace's address on the device
const PEER = '198.18.0.2' // "the other end": packets to it come out of the fd
const WAIT_MS = 5000

/** Polls `pred` every 10 ms until it holds or `timeoutMs` passes. */
const waitFor = (pred: () => boolean, timeoutMs = WAIT_MS): Promise<boolean> => waitUntil(pred, timeoutMs, 10)

/** Runs a node script inside the namespace; resolves with its stdout lines as they arrive. */
function nsNode(script: string): { lines: string[]; done: Promise<number | null> } {
  const child = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines: string[] = []
  let partial = ''
  child.stdout.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n')
    partial = parts.pop() ?? ''
    lines.push(...parts)
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), WAIT_MS)
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => (clearTimeout(timer), resolve(code))))
  return { lines, done }
}

function sum16(buf: Buffer, start: number, end: number, acc = 0): number {
  for (let i = start; i < end; i += 2) acc += (buf[i] << 8) | (i + 1 < end ? buf[i + 1] : 0)
  return acc
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16)
  return ~acc & 0xffff
}

function ipv4(src: string, dst: string, proto: number, payload: Buffer): Buffer {
  const pkt = Buffer.alloc(20 + payload.length)
  pkt[0] = 0x45
  pkt.writeUInt16BE(pkt.length, 2)
  pkt[8] = 64
  pkt[9] = proto
  Buffer.from(src.split('.').map(Number)).copy(pkt, 12)
  Buffer.from(dst.split('.').map(Number)).copy(pkt, 16)
  pkt.writeUInt16BE(fold(sum16(pkt, 0, 20)), 10)
  payload.copy(pkt, 20)
  return pkt
}

function udp4(src: string, sport: number, dst: string, dport: number, data: Buffer): Buffer {
  const seg = Buffer.alloc(8 + data.length)
  seg.writeUInt16BE(sport, 0)
  seg.writeUInt16BE(dport, 2)
  seg.writeUInt16BE(seg.length, 4)
  data.copy(seg, 8)
  const pseudo = Buffer.alloc(12)
  Buffer.from(src.split('.').map(Number)).copy(pseudo, 0)
  Buffer.from(dst.split('.').map(Number)).copy(pseudo, 4)
  pseudo[9] = 17
  pseudo.writeUInt16BE(seg.length, 10)
  seg.writeUInt16BE(fold(sum16(seg, 0, seg.length, sum16(pseudo, 0, 12))) || 0xffff, 6)
  return ipv4(src, dst, 17, seg)
}

function icmpEcho(type: number, id: number, seq: number, data: Buffer): Buffer {
  const msg = Buffer.alloc(8 + data.length)
  msg[0] = type
  msg.writeUInt16BE(id, 4)
  msg.writeUInt16BE(seq, 6)
  data.copy(msg, 8)
  msg.writeUInt16BE(fold(sum16(msg, 0, msg.length)), 2)
  return msg
}

function addr(pkt: Buffer, at: number): string {
  return `${pkt[at]}.${pkt[at + 1]}.${pkt[at + 2]}.${pkt[at + 3]}`
}

describeIf(gap, 'LinuxTun on a real device', () => {
  let tun: LinuxTun
  /** Copies of every IPv4 packet read (the handler's buffer is reused). */
  const seen: Buffer[] = []

  beforeAll(() => {
    deleteNetns(NS)
    ip('netns', 'add', NS)
    tun = openTun(DEV)
    moveTunToNetns(DEV, NS)
    configureTun(DEV, { netns: NS, mtu: 1400, addresses: [`${LOCAL}/30`] })
    tun.onPacket((pkt) => {
      if (pkt[0] >> 4 === 4 && seen.length < 1000) seen.push(Buffer.from(pkt))
    })
  })

  afterAll(() => {
    tun?.close()
    deleteNetns(NS)
  })

  it('delivers a UDP datagram sent to an address behind the device as an IPv4 packet', async () => {
    const payload = `hello-${RUN_ID}`
    const sender = nsNode(`const s = require('node:dgram').createSocket('udp4');
      s.bind(0, '${LOCAL}', () => s.send('${payload}', 4242, '${PEER}', () => s.close()))`)
    expect(await sender.done).toBe(0)
    const match = (p: Buffer): boolean => p[9] === 17 && p.readUInt16BE(22) === 4242
    expect(await waitFor(() => seen.some(match))).toBe(true)
    const pkt = seen.find(match) as Buffer
    expect(addr(pkt, 12)).toBe(LOCAL)
    expect(addr(pkt, 16)).toBe(PEER)
    expect(pkt.subarray(28).toString()).toBe(payload)
    expect(tun.stats.rxPackets).toBeGreaterThan(0)
  })

  it('injects a written UDP packet that a socket in the namespace receives', async () => {
    const receiver = nsNode(`const s = require('node:dgram').createSocket('udp4');
      s.on('message', (m, r) => { console.log(JSON.stringify({ m: m.toString(), a: r.address, p: r.port })); s.close() });
      s.bind(40000, '${LOCAL}', () => console.log('ready'))`)
    expect(await waitFor(() => receiver.lines.includes('ready'))).toBe(true)
    const pkt = udp4(PEER, 5555, LOCAL, 40000, Buffer.from('from-the-tun'))
    expect(tun.write(pkt, 0, pkt.length)).toBe(true)
    expect(await receiver.done).toBe(0)
    expect(JSON.parse(receiver.lines[1])).toEqual({ m: 'from-the-tun', a: PEER, p: 5555 })
  })

  it('does not deliver a written UDP packet with a wrong checksum', async () => {
    const receiver = nsNode(`const s = require('node:dgram').createSocket('udp4');
      s.on('message', (m) => { console.log('got ' + m); s.close() });
      s.bind(40001, '${LOCAL}', () => console.log('ready'));
      setTimeout(() => { console.log('none'); s.close() }, 500)`)
    expect(await waitFor(() => receiver.lines.includes('ready'))).toBe(true)
    const pkt = udp4(PEER, 5555, LOCAL, 40001, Buffer.from('corrupt'))
    pkt[pkt.length - 1] ^= 0xff
    tun.write(pkt, 0, pkt.length)
    await receiver.done
    expect(receiver.lines).toEqual(['ready', 'none'])
  })

  it('answers a written ICMP echo request with an echo reply read from the device', async () => {
    const id = RUN_ID
    const data = Buffer.from('overpass-ping')
    const req = ipv4(PEER, LOCAL, 1, icmpEcho(8, id, 1, data))
    // Write at an offset to check offset/length are honoured.
    const framed = Buffer.concat([Buffer.from('junk'), req, Buffer.from('tail')])
    expect(tun.write(framed, 4, req.length)).toBe(true)
    const isReply = (p: Buffer): boolean => p[9] === 1 && p[20] === 0 && p.readUInt16BE(24) === id
    expect(await waitFor(() => seen.some(isReply))).toBe(true)
    const reply = seen.find(isReply) as Buffer
    expect(addr(reply, 12)).toBe(LOCAL)
    expect(addr(reply, 16)).toBe(PEER)
    expect(reply.subarray(28).equals(data)).toBe(true)
  })

  it('counts a write the kernel rejects as dropped instead of throwing', () => {
    const before = tun.stats.txDropped
    expect(tun.write(Buffer.alloc(4), 0, 0)).toBe(false)
    expect(tun.write(Buffer.alloc(4), 2, 10)).toBe(false)
    expect(tun.stats.txDropped).toBe(before + 2)
  })

  // Last in this block: it closes the shared device.
  it('can be closed from inside its packet handler, and reads stop there', async () => {
    let calls = 0
    tun.onPacket(() => {
      calls++
      tun.close()
    })
    const req = ipv4(PEER, LOCAL, 1, icmpEcho(8, RUN_ID, 2, Buffer.from('x')))
    // Several replies queue up; only the first may reach the handler.
    for (let i = 0; i < 4; i++) tun.write(req, 0, req.length)
    expect(await waitFor(() => calls > 0)).toBe(true)
    await new Promise((r) => setTimeout(r, 50))
    expect(calls).toBe(1)
    expect(tun.write(req, 0, req.length)).toBe(false)
  })
})

describeIf(gap, 'openTun lifecycle', () => {
  const name = `optest${RUN_ID}b`

  function linkExists(): boolean {
    try {
      ip('link', 'show', 'dev', name)
      return true
    } catch {
      return false
    }
  }

  it('removes the device on close, and close is idempotent', () => {
    const t = openTun(name)
    expect(t.name).toBe(name)
    expect(linkExists()).toBe(true)
    t.close()
    t.close()
    expect(linkExists()).toBe(false)
    expect(t.write(Buffer.alloc(20), 0, 20)).toBe(false)
  })

  it('rejects a second single-queue open of a name in use with TunOpenError', () => {
    const t = openTun(name)
    try {
      expect(() => openTun(name)).toThrowError(expect.objectContaining({ name: 'TunOpenError', code: 'EBUSY', device: name }))
    } finally {
      t.close()
    }
  })

  it('opens several queues of one multi-queue device', () => {
    const a = openTun(name, { multiQueue: true })
    const b = openTun(name, { multiQueue: true })
    try {
      expect(b.name).toBe(a.name)
    } finally {
      a.close()
      b.close()
    }
    expect(linkExists()).toBe(false)
  })

  it('rejects an over-long name before asking the kernel', () => {
    expect(() => openTun('x'.repeat(16))).toThrowError(expect.objectContaining({ name: 'TunOpenError', code: 'EINVAL' }))
  })
})

describeIf(gap, 'TUN in a worker thread', () => {
  it('removes the device and exits cleanly when a worker ends without closing it', async () => {
    const name = `optest${RUN_ID}w`
    const addonPath = fileURLToPath(new URL('../../build/Release/overpass_tun.node', import.meta.url))
    await openInWorkerThenTerminate(
      `const a = require(${JSON.stringify(addonPath)});
       const t = a.open(${JSON.stringify(name)}, false);
       a.poll(t.fd, Buffer.alloc(65536), () => {});
       require('node:worker_threads').parentPort.postMessage('open')`,
    )
    expect(() => ip('link', 'show', 'dev', name)).toThrow()
  })
})

describe('tunAvailable', () => {
  it('gives a reason whenever it says no', () => {
    const a = tunAvailable()
    expect(a.ok || (typeof a.reason === 'string' && a.reason.includes('Fix:'))).toBe(true)
  })
})
