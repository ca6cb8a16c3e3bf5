/**
 * Plays the ingress and the exit around one Overpass transit relay, so the
 * transit can be loaded on its own (bench:e2e's `overpass_transit`):
 *
 *   1. Two crypto endpoints, "ing" on BIND:ING_PORT and "ex" on BIND:EX_PORT,
 *      complete handshakes with the transit and confirm both sessions.
 *   2. "ing" seals COUNT data packets (path ing -> tr -> ex, 100-byte
 *      payloads) and writes them to FILE as fixed-size records (u32 record
 *      size first), without sending them.
 *   3. It prints "sealed N SIZE" and exits. loadgen's `relay` mode then sends
 *      the records from ING_PORT and counts the transit's re-sealed output
 *      on EX_PORT, so the load costs no crypto on the load side.
 *
 *   node transit-driver.js SPEC.json   (see DriverSpec)
 */
import fs from 'node:fs'
import { createSecureEndpoint, decodeKey, type CryptoSecureEndpoint } from '../../src/crypto/index.js'
import { createLiteralSocket } from '../../src/io/udp.js'
import { encodeDataHeader } from '../../src/wire/data.js'
import { nameId } from '../../src/wire/ids.js'

export interface DriverSpec {
  bindHost: string
  ingPort: number
  exPort: number
  ingPrivateKey: string
  exPrivateKey: string
  trPublicKey: string
  trHost: string
  trPort: number
  service: string
  count: number
  payloadBytes: number
  file: string
  /** Seal packet i on lane i mod lanes (a multi-worker transit spreads lanes over its workers); default 1. */
  lanes?: number
  /**
   * Which ends this process plays (default both). bench:e2e --hop runs "ex"
   * alone in the ex namespace first (handshake, then exit), then "ing" in
   * the ing namespace, so the transit's output crosses a real link.
   */
  roles?: ('ing' | 'ex')[]
  /** Where "ex" binds, when it is not bindHost. */
  exBindHost?: string
}

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as DriverSpec
const t0 = performance.now()
const now = (): number => performance.now() - t0 + 1000

/** While set, "ing" hands its sealed datagrams here instead of sending them. */
let capture: ((data: Buffer, length: number) => void) | undefined

function endpoint(privateKey: string, host: string, port: number, captured: boolean): { ep: CryptoSecureEndpoint; close: () => void } {
  const socket = createLiteralSocket('udp4')
  socket.bind(port, host)
  const ep = createSecureEndpoint({
    privateKey: decodeKey(privateKey, 'private key'),
    peers: [{ index: 0, publicKey: decodeKey(spec.trPublicKey, 'transit public key') }],
    transmit: (_peer, data, length) => {
      if (captured && capture !== undefined) capture(data, length)
      else socket.send(data, 0, length, spec.trPort, spec.trHost)
    },
  })
  socket.on('message', (msg, from) => {
    if (from.port === spec.trPort && from.address === spec.trHost) ep.receive(0, now(), msg, msg.length)
  })
  return { ep, close: () => socket.close() }
}

const roles = spec.roles ?? ['ing', 'ex']
const ing = roles.includes('ing') ? endpoint(spec.ingPrivateKey, spec.bindHost, spec.ingPort, true) : undefined
const ex = roles.includes('ex') ? endpoint(spec.exPrivateKey, spec.exBindHost ?? spec.bindHost, spec.exPort, false) : undefined
const ends = [ing, ex].filter((e) => e !== undefined).map((e) => e.ep)
// Kind 0 is no inner kind the relay knows: it authenticates, confirms the session and drops it.
const kick = Buffer.from([0])

async function sessionsUp(timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    for (const e of ends) {
      e.tick(now())
      e.send(0, now(), kick, 1)
    }
    await new Promise((r) => setTimeout(r, 100))
    if (ends.every((e) => e.hasSession(0))) {
      // One more confirmed packet each, and time for the transit's own handshakes to settle.
      for (const e of ends) e.send(0, now(), kick, 1)
      await new Promise((r) => setTimeout(r, 500))
      return
    }
  }
  throw new Error('transit-driver: no sessions with the transit relay')
}

/** Seals spec.count data packets on ing's session into one file of fixed-size records. */
function sealAll(): number {
  const path = Uint32Array.from(['ing', 'tr', 'ex'].map(nameId))
  // Room for the data header (a three-relay path) and the payload.
  const plain = Buffer.alloc(256 + spec.payloadBytes)
  let size = 0
  let out = Buffer.alloc(0)
  let n = 0
  capture = (data, length) => {
    if (size === 0) {
      size = length
      out = Buffer.allocUnsafe(4 + size * spec.count)
      out.writeUInt32LE(size, 0)
    }
    if (length !== size) throw new Error(`transit-driver: sealed sizes differ (${length} != ${size})`)
    data.copy(out, 4 + size * n++, 0, length)
  }
  for (let i = 0; i < spec.count; i++) {
    const h = encodeDataHeader(plain, 0, 8, nameId(spec.service), 1, i, path, path.length)
    plain.fill(0x5a, h, h + spec.payloadBytes)
    ing!.ep.send(0, now(), plain, h + spec.payloadBytes, i % (spec.lanes ?? 1))
    if (n !== i + 1) throw new Error(`transit-driver: packet ${i} was not sealed at once`)
  }
  capture = undefined
  fs.writeFileSync(spec.file, out)
  return size
}

async function main(): Promise<void> {
  await sessionsUp(15_000)
  if (ing === undefined) console.log('sessions up')
  else console.log(`sealed ${spec.count} ${sealAll()}`)
  ing?.close()
  ex?.close()
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  },
)
