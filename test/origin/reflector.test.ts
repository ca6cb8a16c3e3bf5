import { createSocket } from 'node:dgram'
import { describe, expect, it } from 'vitest'
import { startReflector, parseListen } from '../../src/cli/commands/reflector.js'
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
})
