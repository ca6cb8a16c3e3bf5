// Runs inside a throwaway network namespace whose loopback has a slow tbf
// qdisc (test/io/native-udp.test.ts): datagrams wait in the qdisc, still
// charged to the sending socket, so a tiny SO_SNDBUF fills and sends hit
// EAGAIN. Drives the addon directly and prints its counters as JSON.
//   argv: addonPath burstCount
import { createRequire } from 'node:module'

const [addonPath, burstArg] = process.argv.slice(2)
const burst = Number(burstArg)
const addon = createRequire(import.meta.url)(addonPath)
const SLOT = 2048
const recv = Buffer.alloc(SLOT * (addon.batch + 1))
const meta = new Int32Array(2 + 3 * addon.batch)
const stats = new Float64Array(8) // one per counter in native/udp.c (ST_COUNT)
const payload = Buffer.alloc(1000, 0x5a)
let queuedInBatch = 0
let sock
const onBatch = (count) => {
  if (count <= 0 || queuedInBatch > 0) return
  // Inside the batch: every send is queued and leaves in sendmmsg after this returns.
  const sink = addon.intern(sock, '127.0.0.1', 9)
  for (let i = 0; i < burst; i++) queuedInBatch += addon.send(sock, payload, 0, payload.length, sink)
}
sock = addon.open(4, '127.0.0.1', 0, 0, 4096, SLOT, recv, meta, stats, onBatch)
const [, port] = addon.local(sock)
addon.send(sock, Buffer.from('go'), 0, 2, addon.intern(sock, '127.0.0.1', port))
const deadline = Date.now() + 5000
const timer = setInterval(() => {
  if (queuedInBatch === 0 && Date.now() < deadline) return
  clearInterval(timer)
  const afterBatch = Array.from(stats)
  // Outside a batch: sent at once; the qdisc still holds the earlier ones, so these find the buffer full.
  const sink = addon.intern(sock, '127.0.0.1', 9)
  let directOk = 0
  let directDropped = 0
  for (let i = 0; i < burst; i++) {
    const r = addon.send(sock, payload, 0, payload.length, sink)
    if (r === 1) directOk++
    else if (r === 0) directDropped++
  }
  addon.close(sock)
  console.log(JSON.stringify({ queuedInBatch, afterBatch, directOk, directDropped, final: Array.from(stats) }))
}, 20)
