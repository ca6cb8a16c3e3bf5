import { createSocket } from 'node:dgram'
import { describe, expect, it } from 'vitest'
import { startReflector, parseAllow, parseListen } from '../../src/cli/commands/reflector.js'
import { TwampSender } from '../../src/origin/index.js'

/** Sends `data` and resolves with the first reply, or undefined after `waitMs`. */
function exchange(port: number, data: Uint8Array, waitMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4')
    const done = (v: Buffer | undefined) => {
      clearTimeout(timer)
      s.close()
      resolve(v)
    }
    const timer = setTimeout(() => done(undefined), waitMs)
    s.on('message', (m) => done(m))
    s.send(data, port, '127.0.0.1')
  })
}

describe('overpass reflector', () => {
  it('parses HOST:PORT including IPv6', () => {
    expect(parseListen('0.0.0.0:862')).toEqual({ host: '0.0.0.0', port: 862 })
    expect(parseListen('[::1]:8620')).toEqual({ host: '::1', port: 8620 })
    expect(() => parseListen('localhost')).toThrow(expect.objectContaining({ name: 'ListenAddressError' }))
  })

  it('answers a real TWAMP test packet on loopback and ignores garbage', async () => {
    const r = await startReflector({ host: '127.0.0.1', port: 0 })
    try {
      const port = r.address().port
      const sender = new TwampSender({ service: 'svc' })
      const t0 = performance.now()
      const pkt = Uint8Array.from(sender.tick(t0).packet!)
      const reply = await exchange(port, pkt, 2000)
      expect(reply).toBeDefined()
      expect(reply!.length).toBe(pkt.length)
      const sample = sender.onReply(performance.now(), reply!)
      expect(sample).toBeDefined()
      expect(sample!.rttMs!).toBeGreaterThanOrEqual(0)
      expect(sample!.rttMs!).toBeLessThan(2000)
      expect(await exchange(port, Buffer.from('hello'), 200)).toBeUndefined()
      expect(r.counters()).toMatchObject({ reflected: 1, too_short: 1 })
    } finally {
      await r.close()
    }
  })

  it('parses --allow prefixes and single addresses, with a typed error for bad ones', () => {
    expect(parseAllow(['192.0.2.0/24', '127.0.0.1', '::1']).map((p) => p.length)).toEqual([24, 32, 128])
    expect(() => parseAllow(['192.0.2.1/24'])).toThrow(expect.objectContaining({ name: 'PrefixParseError', problem: 'host_bits_set' }))
    expect(() => parseAllow(['exits'])).toThrow(expect.objectContaining({ name: 'PrefixParseError' }))
  })

  it('answers a loopback sender only when --allow covers it', async () => {
    const pkt = Uint8Array.from(new TwampSender({ service: 'svc' }).tick(performance.now()).packet!)
    const closed = await startReflector({ host: '127.0.0.1', port: 0, allow: parseAllow(['192.0.2.0/24']) })
    const open = await startReflector({ host: '127.0.0.1', port: 0, allow: parseAllow(['127.0.0.0/8']) })
    try {
      expect(await exchange(closed.address().port, pkt, 200)).toBeUndefined()
      expect(closed.counters()).toMatchObject({ reflected: 0, not_allowed: 1 })
      expect((await exchange(open.address().port, pkt, 2000))?.length).toBe(pkt.length)
    } finally {
      await closed.close()
      await open.close()
    }
  })
})
