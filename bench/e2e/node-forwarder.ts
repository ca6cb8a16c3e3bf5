/**
 * The bare Node forwarder: the Node limit the relays are compared with.
 * One dgram socket; datagrams from upstream go back to the last downstream
 * sender, everything else goes upstream. No crypto, no header, no flows.
 * It gets the same synchronous literal-address lookup as the relays' io/udp
 * (dns.lookup would defer every send by a tick), so the comparison is fair.
 *
 *   node node-forwarder.js LISTEN_HOST PORT UP_HOST UP_PORT
 */
import dgram from 'node:dgram'

const [listenHost, port, upHost, upPortText] = process.argv.slice(2)
const upPort = Number(upPortText)
type LookupCallback = (err: Error | null, address: string, family: number) => void
const lookup = (host: string, _o: unknown, cb: LookupCallback): void => cb(null, host, 4)
const socket = dgram.createSocket({ type: 'udp4', lookup: lookup as never })
let downAddress = ''
let downPort = 0

socket.on('message', (msg, from) => {
  if (from.port === upPort && from.address === upHost) {
    if (downPort !== 0) socket.send(msg, downPort, downAddress)
  } else {
    downAddress = from.address
    downPort = from.port
    socket.send(msg, upPort, upHost)
  }
})
socket.bind(Number(port), listenHost, () => {
  socket.setRecvBufferSize(4 << 20)
  socket.setSendBufferSize(4 << 20)
  console.error('forwarder up')
})
process.on('SIGTERM', () => {
  socket.close()
  process.exit(0)
})
