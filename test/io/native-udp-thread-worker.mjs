// A worker thread for test/io/native-udp-threads.test.ts: drives the
// overpass_udp addon directly (a worker cannot import the TypeScript
// sources) and reports to its parent with postMessage.
//   workerData: { addon, mode: 'member' | 'burst', ... }
// member: joins a lane-steered reuseport group on `port` (flags 1, group
//   `lanes`), posts 'ready', then posts every datagram's bytes 0..19 as they
//   arrive; closes on 'close'.
// connected: opens `count` connected sockets (openConnected, one arena)
//   to an echoing node:dgram socket, sends one datagram on each, and once
//   every echo came back through the sockets' callbacks closes half of them,
//   posts the counts and exits the thread, leaving the other half to the
//   env's teardown.
// burst: on 'go', a driver socket sends `count` tagged datagrams to R in
//   windows; R's batch handler forwards each on F (a send queued during
//   another socket's batch), and S receives them. Posts what S saw.
import dgram from 'node:dgram'
import { createRequire } from 'node:module'
import { parentPort, workerData } from 'node:worker_threads'

const addon = createRequire(import.meta.url)(workerData.addon)
const SLOT = 2048
const STATS = 8 // ST_COUNT in native/udp.c

function open(port, onBatch, flags = 0, lanes = 0) {
  const recv = Buffer.alloc(SLOT * (addon.batch + 1))
  const meta = new Int32Array(2 + 3 * addon.batch)
  const stats = new Float64Array(STATS)
  const s = { recv, meta, stats, handle: undefined }
  s.handle = addon.open(4, '127.0.0.1', port, 0, 0, SLOT, recv, meta, stats, (n) => onBatch(s, n), flags, lanes)
  s.port = addon.local(s.handle)[1]
  return s
}

/** Calls fn(slotStart, length) for each datagram of the batch. */
function eachDatagram(s, count, fn) {
  for (let k = 0; k < count; k++) fn(s.meta[2 + 3 * k] * SLOT, s.meta[3 + 3 * k])
}

function member() {
  const s = open(workerData.port, (sock, n) => {
    if (n <= 0) return
    const got = []
    eachDatagram(sock, n, (start, len) => got.push([...sock.recv.subarray(start, start + Math.min(len, 20))]))
    parentPort.postMessage({ got })
  }, 1, workerData.lanes)
  parentPort.on('message', (m) => {
    if (m !== 'close') return
    addon.close(s.handle)
    parentPort.close()
  })
  parentPort.postMessage('ready')
}

function burst() {
  const { tag, count, window } = workerData
  const seen = new Uint8Array(count)
  let received = 0
  let foreign = 0
  let outOfOrder = 0
  let last = -1
  const sink = open(0, (sock, n) => {
    eachDatagram(sock, n, (start, len) => {
      const b = sock.recv.subarray(start, start + len)
      if (len !== 64 || b.readUInt32BE(0) !== tag) return void foreign++
      const seq = b.readUInt32BE(4)
      if (seq >= count || seen[seq]) return void foreign++
      if (seq < last) outOfOrder++
      last = seq
      seen[seq] = 1
      received++
    })
  })
  const fwd = open(0, () => {})
  const sinkId = addon.intern(fwd.handle, '127.0.0.1', sink.port)
  const r = open(0, (sock, n) => {
    // Inside R's batch: sends on F queue in F's native batch and leave when this returns.
    eachDatagram(sock, n, (start, len) => addon.send(fwd.handle, sock.recv, start, len, sinkId))
  })
  const driver = open(0, () => {})
  const rId = addon.intern(driver.handle, '127.0.0.1', r.port)
  const payload = Buffer.alloc(64)
  payload.writeUInt32BE(tag, 0)
  let sent = 0
  const deadline = Date.now() + workerData.timeoutMs
  const step = () => {
    if (received === sent && sent < count) {
      for (const end = Math.min(count, sent + window); sent < end; sent++) {
        payload.writeUInt32BE(sent, 4)
        addon.send(driver.handle, payload, 0, 64, rId)
      }
    }
    if (received < count && Date.now() < deadline) return void setTimeout(step, 1)
    const result = { received, foreign, outOfOrder, fwdStats: [...fwd.stats], sinkStats: [...sink.stats] }
    for (const s of [sink, fwd, r, driver]) addon.close(s.handle)
    parentPort.postMessage(result)
    parentPort.close()
  }
  parentPort.once('message', () => step())
  parentPort.postMessage('ready')
}

function connected() {
  const { count } = workerData
  const slot = 2048
  addon.arena(Buffer.alloc(slot * (addon.connectedBatch + 1)), new Int32Array(1 + 2 * addon.connectedBatch), slot)
  const echo = dgram.createSocket('udp4')
  echo.on('message', (m, r) => echo.send(m, r.port, r.address))
  echo.bind(0, '127.0.0.1', () => {
    let echoed = 0
    const handles = []
    const done = () => {
      for (const h of handles.slice(0, count / 2)) addon.closeConnected(h)
      echo.close()
      parentPort.postMessage({ echoed, open: count - count / 2 })
      // The open sockets keep the loop alive: end the thread (its env's teardown) with them open.
      process.exit(0)
    }
    for (let i = 0; i < count; i++) {
      const h = addon.openConnected(4, '127.0.0.1', 0, '127.0.0.1', echo.address().port, 0, 0, (n) => {
        if (n > 0 && (echoed += n) === count) done()
      })
      handles.push(h)
      addon.sendConnected(h, Buffer.from([i & 0xff]), 0, 1)
    }
  })
}

if (workerData.mode === 'member') member()
else if (workerData.mode === 'connected') connected()
else burst()
