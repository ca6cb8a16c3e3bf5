/**
 * Handshake timestamps survive a restart (daemon/handshake-state.ts): an
 * initiation recorded while the relay accepted it cannot be replayed to the
 * restarted relay. The attack is run against a real daemon on loopback, and
 * the store's wiring into the crypto endpoint is checked on its own.
 */
import dgram from 'node:dgram'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { RelayConfig } from '../../src/config/types.js'
import { CryptoDrop, INIT_LEN, createSecureEndpoint, generateKeyPair, type SecureEndpointOptions } from '../../src/crypto/index.js'
import { HandshakeState, MIN_WRITE_INTERVAL_MS, parseState } from '../../src/daemon/handshake-state.js'
import { startDaemon, type RunningDaemon } from '../../src/daemon/index.js'
import { FakeClock } from '../../src/io/fake-clock.js'
import { silentLogger } from '../../src/io/log.js'
import { MSG_HANDSHAKE_INIT, MSG_HANDSHAKE_RESP, OFF_TYPE } from '../../src/wire/outer.js'
import { buildConfigs } from '../dataplane/helpers.js'
import { freePorts } from '../integration/harness.js'

const dirs: string[] = []
const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overpass-state-'))
  dirs.push(dir)
  return dir
}

async function until(what: string, ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/**
 * Relay "lax" as a daemon, and its peer "sea" played by the test: a socket at
 * sea's endpoint and a crypto endpoint with sea's key, which initiates once.
 */
async function laxAndFakeSea(stateFile: string | undefined) {
  const [laxPort, seaPort] = await freePorts(2)
  let lax: RelayConfig
  let sea: RelayConfig
  // lax probes sea, so its own initiation is often in flight when sea's arrives: then the side with the lower
  // static key keeps its own and ignores the other's. sea's key is made the lower one, so lax answers sea.
  do {
    const configs = buildConfigs({ relays: ['lax', 'sea'], services: [{ paths: [['lax', 'sea']], exits: ['sea'], ingress: [{ relay: 'lax', listen: { host: '127.0.0.1', port: 0 } }] }] })
    lax = configs.get('lax') as RelayConfig
    sea = configs.get('sea') as RelayConfig
  } while (Buffer.compare(Buffer.from(sea.relay.publicKey), Buffer.from(lax.relay.publicKey)) > 0)
  lax.relay.listen.port = laxPort
  lax.peers[0].endpoint.port = seaPort
  if (stateFile !== undefined) lax.relay.stateFile = stateFile
  const socket = dgram.createSocket('udp4')
  await new Promise<void>((r) => socket.bind(seaPort, '127.0.0.1', r))
  const received: Buffer[] = []
  socket.on('message', (m) => received.push(m))
  const sent: Buffer[] = []
  const seaEndpoint = createSecureEndpoint({
    privateKey: sea.relay.privateKey,
    peers: [{ index: 0, publicKey: lax.relay.publicKey }],
    transmit: (_peer, data, length) => {
      sent.push(Buffer.from(data.subarray(0, length)))
      socket.send(data.subarray(0, length), laxPort, '127.0.0.1')
    },
    backend: 'tweetnacl',
  })
  let daemon: RunningDaemon | undefined
  cleanups.push(() => {
    daemon?.stop()
    socket.close()
  })
  const responses = () => received.filter((m) => m[OFF_TYPE] === MSG_HANDSHAKE_RESP).length
  return {
    async start() {
      daemon = await startDaemon(lax, { log: silentLogger, noControlSocket: true })
    },
    stop() {
      daemon?.stop()
      daemon = undefined
    },
    /** sea's first initiation, as an attacker on the path records it. */
    initiate(): Buffer {
      seaEndpoint.send(0, 0, Buffer.from('x'), 1)
      const init = sent.find((m) => m[OFF_TYPE] === MSG_HANDSHAKE_INIT)
      if (init === undefined) throw new Error('sea sent no initiation')
      return init
    },
    replay(init: Buffer) {
      socket.send(init, laxPort, '127.0.0.1')
    },
    responses,
    replayDrops: () => ((daemon!.relay.stats().drops as Record<string, number>).handshake_replay ?? 0),
  }
}

describe('handshake replay after a restart', () => {
  it('is answered by a relay that keeps no state file (the attack)', async () => {
    const w = await laxAndFakeSea(undefined)
    await w.start()
    const init = w.initiate()
    await until('the response', () => w.responses() === 1)
    w.stop()
    await w.start()
    w.replay(init)
    await until('a response to the replay', () => w.responses() === 2)
  })

  it('is refused by a relay that restarts with its state file, and counted', async () => {
    const file = path.join(tempDir(), 'lax.state.json')
    const w = await laxAndFakeSea(file)
    await w.start()
    const init = w.initiate()
    await until('the response', () => w.responses() === 1)
    w.stop()
    expect(parseState(fs.readFileSync(file, 'utf8'))?.size).toBe(1)
    await w.start()
    w.replay(init)
    // The replay is dropped in the handler that would otherwise have answered it.
    await until('the replay drop', () => w.replayDrops() === 1)
    expect(w.responses()).toBe(1)
  })
})

describe('HandshakeState', () => {
  const a = generateKeyPair()
  const b = generateKeyPair()
  const laxOpts = (transmit: SecureEndpointOptions['transmit']): SecureEndpointOptions => ({
    privateKey: a.privateKey,
    peers: [{ index: 0, publicKey: b.publicKey }],
    transmit,
    backend: 'tweetnacl',
  })

  function initiationFrom(wallUs: number): Buffer {
    let init: Buffer | undefined
    const ep = createSecureEndpoint({
      privateKey: b.privateKey,
      peers: [{ index: 0, publicKey: a.publicKey }],
      transmit: (_p, d, n) => void (init ??= Buffer.from(d.subarray(0, n))),
      backend: 'tweetnacl',
      wallClockUs: () => wallUs,
    })
    ep.send(0, 0, Buffer.from('x'), 1)
    return init!
  }

  it('writes an accepted timestamp at most once per interval, and what is pending on close', () => {
    const file = path.join(tempDir(), 'lax.state.json')
    const clock = new FakeClock(0)
    const state = HandshakeState.open(file, { clock, timers: clock, log: silentLogger })
    const lax = createSecureEndpoint(state.wire(laxOpts(() => {})))
    const t0 = Date.now() * 1000 + 10_000_000
    expect(lax.receive(0, 0, initiationFrom(t0), INIT_LEN)).toBe(CryptoDrop.HandshakeConsumed)
    clock.advance(0)
    const key = Buffer.from(b.publicKey).toString('base64')
    expect(parseState(fs.readFileSync(file, 'utf8'))?.get(key)).toBe(t0)
    expect(lax.receive(0, 0, initiationFrom(t0 + 5_000_000), INIT_LEN)).toBe(CryptoDrop.HandshakeConsumed)
    clock.advance(MIN_WRITE_INTERVAL_MS / 2)
    expect(parseState(fs.readFileSync(file, 'utf8'))?.get(key)).toBe(t0)
    clock.advance(MIN_WRITE_INTERVAL_MS / 2)
    expect(parseState(fs.readFileSync(file, 'utf8'))?.get(key)).toBe(t0 + 5_000_000)
    expect(lax.receive(0, 0, initiationFrom(t0 + 9_000_000), INIT_LEN)).toBe(CryptoDrop.HandshakeConsumed)
    state.close()
    expect(parseState(fs.readFileSync(file, 'utf8'))?.get(key)).toBe(t0 + 9_000_000)
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    expect(fs.readdirSync(path.dirname(file))).toEqual(['lax.state.json'])
  })

  it('refuses, after a restart, an initiation no newer than the stored one', () => {
    const file = path.join(tempDir(), 'lax.state.json')
    const clock = new FakeClock(0)
    const t0 = Date.now() * 1000 + 60_000_000
    const recorded = initiationFrom(t0)
    const first = HandshakeState.open(file, { clock, timers: clock, log: silentLogger })
    expect(createSecureEndpoint(first.wire(laxOpts(() => {}))).receive(0, 0, recorded, INIT_LEN)).toBe(CryptoDrop.HandshakeConsumed)
    first.close()
    const replies: number[] = []
    const second = HandshakeState.open(file, { clock, timers: clock, log: silentLogger })
    const restarted = createSecureEndpoint(second.wire(laxOpts((_p, _d, n) => void replies.push(n))))
    expect(restarted.receive(0, 0, recorded, INIT_LEN)).toBe(CryptoDrop.HandshakeReplay)
    expect(replies).toEqual([])
    // A genuinely newer initiation is still accepted.
    expect(restarted.receive(0, 0, initiationFrom(t0 + 1), INIT_LEN)).toBe(CryptoDrop.HandshakeConsumed)
    expect(replies).toEqual([76])
  })

  it('starts empty, and logs once, when the file is malformed or cannot be written', () => {
    const dir = tempDir()
    const file = path.join(dir, 'lax.state.json')
    fs.writeFileSync(file, '{"version":1,"handshake_timestamps":{"k":-1}}')
    const warnings: string[] = []
    const log = { ...silentLogger, warn: (m: string) => void warnings.push(m), child: () => log }
    const clock = new FakeClock(0)
    const state = HandshakeState.open(file, { clock, timers: clock, log })
    expect(warnings).toEqual(['state file is malformed; starting without stored handshake timestamps'])
    const lax = createSecureEndpoint(state.wire(laxOpts(() => {})))
    fs.rmSync(dir, { recursive: true })
    for (let i = 1; i <= 3; i++) {
      expect(lax.receive(0, 0, initiationFrom(Date.now() * 1000 + 120_000_000 + i), INIT_LEN)).toBe(CryptoDrop.HandshakeConsumed)
      clock.advance(MIN_WRITE_INTERVAL_MS)
    }
    expect(warnings.slice(1)).toEqual(['cannot write the state file; handshake timestamps are kept in memory only'])
  })

  it('parses any text without throwing, and only well-formed state files', () => {
    // Seeded mutations of a valid file: truncations and byte flips.
    const valid = '{"version":1,"handshake_timestamps":{"a":1,"b":2}}'
    let seed = 7
    const rnd = (n: number): number => (seed = (seed * 16807) % 0x7fffffff) % n
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(valid).subarray(0, rnd(valid.length + 1))
      for (let k = rnd(3); k > 0 && bytes.length > 0; k--) bytes[rnd(bytes.length)] = rnd(128)
      const parsed = parseState(bytes.toString('latin1'))
      if (parsed !== undefined) for (const v of parsed.values()) expect(Number.isSafeInteger(v) && v >= 0).toBe(true)
    }
    expect(parseState('{"version":1,"handshake_timestamps":{"a":1,"b":2}}')).toEqual(new Map([['a', 1], ['b', 2]]))
    expect(parseState('{"version":2,"handshake_timestamps":{}}')).toBeUndefined()
    expect(parseState('{"version":1,"handshake_timestamps":[]}')).toBeUndefined()
    expect(parseState('{"version":1,"handshake_timestamps":{"a":1.5}}')).toBeUndefined()
  })
})
