/**
 * A handshake flood against running relays (issue 14, point 4), on an
 * in-memory network: an attacker who knows relay sea's public key (it is in
 * every peer's config) spoofs relay lax's overlay address and floods sea with
 * initiations while a client's first packets need the lax-sea session.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { INIT_LEN } from '../../src/crypto/index.js'
import { INIT_OFF_MAC1 } from '../../src/crypto/handshake.js'
import { hash, mac1 } from '../../src/crypto/kdf.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import { FakeNetwork } from '../../src/io/fake-network.js'
import { silentLogger } from '../../src/io/log.js'
import { MSG_HANDSHAKE_INIT } from '../../src/wire/outer.js'
import { buildConfigs, staticRelay } from './helpers.js'

const SERVICE = { address: '127.0.0.1', port: 27015 }
let stop: (() => void) | undefined
afterEach(() => stop?.())

describe('relays under a spoofed handshake flood', () => {
  it('a client flow starts within 1 s while 10,000 forged initiations per second arrive from a peer’s address', async () => {
    const clock = new FakeClock(1000)
    const net = new FakeNetwork(clock, { delayMs: () => 5 })
    const configs = buildConfigs({ relays: ['lax', 'sea', 'dal'], services: [{ paths: [['lax', 'sea', 'dal']] }] })
    const relays = [...configs.values()].map(
      (config) => staticRelay(config, { udp: net, clock, timers: clock, log: silentLogger, cryptoBackend: 'auto' }),
    )
    for (const r of relays) await r.start()
    const origin = net.open('127.0.0.1', 9000)
    origin.onMessage((d, from) => origin.send(d, 0, d.length, from.port, from.address))
    const client = net.open('127.0.0.1', 50000)
    const got: string[] = []
    client.onMessage((d) => got.push(d.toString()))
    stop = () => {
      for (const r of relays) r.stop()
      origin.close()
      client.close()
    }
    const lax = configs.get('lax')!.relay.listen
    const sea = configs.get('sea')!.relay
    const key = hash(Buffer.from('mac1----', 'ascii'), sea.publicKey)
    let seed = 7
    const forged = (): Buffer => {
      const m = Buffer.alloc(INIT_LEN)
      for (let i = 0; i < INIT_LEN; i++) m[i] = (seed = (seed * 16807) % 0x7fffffff) & 0xff
      m[0] = 1
      m[1] = MSG_HANDSHAKE_INIT
      m[2] = m[3] = 0
      mac1(key, m, INIT_OFF_MAC1).copy(m, INIT_OFF_MAC1)
      return m
    }
    const flood = (n: number): void => {
      for (let i = 0; i < n; i++) net.inject({ address: lax.host, port: lax.port }, { address: sea.listen.host, port: sea.listen.port }, forged())
    }
    flood(200)
    const startMs = clock.nowMs()
    let answeredAtMs: number | undefined
    for (let t = 0; t < 1_500 && answeredAtMs === undefined; t += 10) {
      flood(100) // 100 per 10 ms
      if (t % 100 === 0) client.send(Buffer.from(`hello ${t}`), 0, `hello ${t}`.length, SERVICE.port, SERVICE.address)
      clock.advance(10)
      await Promise.resolve()
      if (got.length > 0) answeredAtMs = clock.nowMs()
    }
    expect(answeredAtMs).toBeDefined()
    expect(answeredAtMs! - startMs).toBeLessThan(1_000)
    const drops = relays[1].stats().drops
    expect(drops.handshake_under_load).toBeGreaterThan(0)
  })
})
