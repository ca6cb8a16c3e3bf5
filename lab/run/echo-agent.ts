/**
 * The origin: a timestamping echo (traffic/) on each given address, run
 * inside an origin namespace. One socket per address so each reply leaves
 * from the address the request reached (the WAN one or the CNI one).
 *
 *   node dist/lab/run/echo-agent.js --run-dir DIR --bind 198.18.100.2:9000 --bind 198.19.200.1:9000
 */
import { startTimestampEcho } from '../traffic/index.js'

const binds = process.argv.flatMap((a, i) => (process.argv[i - 1] === '--bind' ? [a] : []))
const sockets = await Promise.all(binds.map((b) => {
  const [host, port] = b.split(':')
  return startTimestampEcho(host, Number(port))
}))
const stop = (): void => {
  for (const s of sockets) s.close()
  process.exit(0)
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
process.stdout.write(`echo ready on ${binds.join(', ')}\n`)
