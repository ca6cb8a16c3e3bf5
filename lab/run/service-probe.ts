/**
 * A short burst of test packets from inside a client namespace to one
 * service port, counting the origin's echoes: whether a client gets through
 * a service that a network version just added (run/network-changes.ts,
 * `add-service`). Prints one JSON line, `{ sent, received, first_reply_ms }`
 * (ms after the first packet; null when nothing came back), and exits.
 *
 *   node dist/lab/run/service-probe.js --target 198.19.0.1:20100 --flow 4000000000 --count 50 --interval-ms 20
 */
import dgram from 'node:dgram'
import { monoMs } from '../traffic/index.js'
import { readTestPacket, TP_HEADER_BYTES, writeTestPacket } from '../traffic/packet.js'
import { argValue } from '../topo/argv.js'

/** How long to wait for the last echoes after the last packet. */
const DRAIN_MS = 1000

const [host, port] = argValue('--target').split(':')
const flow = Number(argValue('--flow'))
const count = Number(argValue('--count'))
const intervalMs = Number(argValue('--interval-ms'))
const seen = new Set<number>()
let firstReplyMs: number | null = null
const s = dgram.createSocket('udp4')
const startMs = monoMs()
s.on('message', (msg) => {
  const p = readTestPacket(msg)
  if (p === undefined || p.flow !== flow) return
  seen.add(p.seq)
  firstReplyMs ??= +(monoMs() - startMs).toFixed(1)
})
await new Promise<void>((done) => s.bind(0, '0.0.0.0', () => done()))
const buf = Buffer.alloc(TP_HEADER_BYTES + 64)
for (let seq = 0; seq < count; seq++) {
  writeTestPacket(buf, flow, seq, monoMs())
  s.send(buf, Number(port), host)
  await new Promise((r) => setTimeout(r, intervalMs))
}
await new Promise((r) => setTimeout(r, DRAIN_MS))
s.close()
process.stdout.write(`${JSON.stringify({ sent: count, received: seen.size, first_reply_ms: firstReplyMs })}\n`)
