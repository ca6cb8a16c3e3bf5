/**
 * Packets through a real TUN device against the same count through a loopback
 * UDP socket pair (the path Overpass already uses), in the same run. Root only.
 *
 * One op is a batch of 32 packets written and 32 read back:
 * - baseline: 32 UDP datagrams from one loopback socket to another, all received;
 * - TUN: 32 ICMP echo requests written into the device, all 32 echo replies
 *   the kernel sends back read from it. The device sits in a per-run network
 *   namespace so nothing is configured on the host.
 * Lost packets end a batch after 1 s (and are reported) instead of hanging.
 */
import { execFileSync } from 'node:child_process'
import { NodeUdpSocket } from '../src/io/udp.js'
import { configureTun, moveTunToNetns, openTun, tunAvailable } from '../src/io/tun.js'
import { ratioSuite } from './lib.js'

const BATCH = 32
const BATCH_TIMEOUT_MS = 1000
const PAYLOAD_BYTES = 56 // ping's default, so both cases move 84-byte IP packets
const RUN_ID = process.pid % 10000
const NS = `opbench${RUN_ID}`
const DEV = `opbench${RUN_ID}`
const LOCAL = [198, 18, 0, 1]
const PEER = [198, 18, 0, 2]

let got = 0
let lost = 0
let generation = 0
let wake: (() => void) | undefined

function arrived(): void {
  if (++got === BATCH && wake) wake()
}

/** Runs `send` and resolves when BATCH packets arrived or the batch timed out. */
function batch(send: () => void): Promise<void> {
  got = 0
  // benny calls each case twice without awaiting to probe its type, so an
  // older batch may time out late: only the current one counts losses.
  const gen = ++generation
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      if (gen === generation) {
        lost += BATCH - got
        wake = undefined
      }
      resolve()
    }, BATCH_TIMEOUT_MS)
    wake = () => {
      clearTimeout(timer)
      wake = undefined
      resolve()
    }
    send()
  })
}

function checksum(buf: Buffer, start: number, end: number): number {
  let acc = 0
  for (let i = start; i < end; i += 2) acc += (buf[i] << 8) | buf[i + 1]
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16)
  return ~acc & 0xffff
}

/** An IPv4 ICMP echo request PEER -> LOCAL, checksums filled in. */
function echoRequest(): Buffer {
  const pkt = Buffer.alloc(28 + PAYLOAD_BYTES)
  pkt[0] = 0x45
  pkt.writeUInt16BE(pkt.length, 2)
  pkt[8] = 64
  pkt[9] = 1
  Buffer.from(PEER).copy(pkt, 12)
  Buffer.from(LOCAL).copy(pkt, 16)
  pkt.writeUInt16BE(checksum(pkt, 0, 20), 10)
  pkt[20] = 8
  pkt.writeUInt16BE(RUN_ID, 24)
  pkt.writeUInt16BE(checksum(pkt, 20, pkt.length), 22)
  return pkt
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'ignore', timeout: 5000 })
}

function deleteNetns(): void {
  try {
    ip('netns', 'del', NS)
  } catch {
    // already gone
  }
}

export async function run(): Promise<void> {
  const avail = tunAvailable()
  if (!avail.ok) {
    console.log(`\n  tun: skipped (${avail.reason})`)
    return
  }
  deleteNetns()
  ip('netns', 'add', NS)
  const tun = openTun(DEV)
  const rx = new NodeUdpSocket('127.0.0.1', 0)
  const tx = new NodeUdpSocket('127.0.0.1', 0)
  try {
    moveTunToNetns(DEV, NS)
    configureTun(DEV, { netns: NS, mtu: 1500, addresses: [`${LOCAL.join('.')}/30`] })
    tun.onPacket((p) => {
      if (p[9] === 1 && p[20] === 0) arrived() // echo reply
    })
    rx.onMessage(arrived)
    const rxPort = (await rx.bound()).port
    await tx.bound()
    const req = echoRequest()
    const datagram = Buffer.alloc(PAYLOAD_BYTES)
    const res = await ratioSuite(`tun (one op = ${BATCH} packets written and read back)`, [
      {
        name: 'baseline: loopback UDP socket pair',
        fn: () => batch(() => {
          for (let i = 0; i < BATCH; i++) tx.send(datagram, 0, datagram.length, rxPort, '127.0.0.1')
        }),
      },
      {
        name: 'TUN: ICMP echo in, kernel reply out',
        fn: () => batch(() => {
          for (let i = 0; i < BATCH; i++) tun.write(req, 0, req.length)
        }),
      },
    ])
    for (const c of res.cases) console.log(`    ${c.name.padEnd(44)} ${(c.opsPerSec * BATCH).toFixed(0).padStart(9)} packets/s`)
    console.log(`    lost packets: ${lost}; TUN write drops: ${tun.stats.txDropped}`)
  } finally {
    tun.close()
    rx.close()
    tx.close()
    deleteNetns()
  }
}
