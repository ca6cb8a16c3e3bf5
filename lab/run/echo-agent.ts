/**
 * The origin: a timestamping echo (traffic/) on each given address, run
 * inside an origin namespace. One socket per address so each reply leaves
 * from the address the request reached (the WAN one or the CNI one).
 * With --out, it records every test packet it receives (flow, seq, the
 * client's send time, its receive time) and writes them there on SIGTERM,
 * so the runner can tell loss on the way out from loss on the way back.
 *
 *   node dist/lab/run/echo-agent.js --run-dir DIR --bind 198.18.100.2:9000 --bind 198.19.200.1:9000 [--out DIR/echo-o-bos.json]
 */
import fs from 'node:fs'
import { startTimestampEcho } from '../traffic/index.js'
import type { OriginRecord } from './series.js'

const binds = process.argv.flatMap((a, i) => (process.argv[i - 1] === '--bind' ? [a] : []))
const outIdx = process.argv.indexOf('--out')
const out = outIdx > 0 ? process.argv[outIdx + 1] : undefined
/** Per flow id: one record per copy received (bounded by the flows' packet counts). */
const records = new Map<number, OriginRecord[]>()
const record = out === undefined ? undefined : (flow: number, seq: number, sentMs: number, rxMs: number): void => {
  let list = records.get(flow)
  if (!list) records.set(flow, (list = []))
  list.push([seq, sentMs, rxMs])
}
const sockets = await Promise.all(binds.map((b) => {
  const [host, port] = b.split(':')
  return startTimestampEcho(host, Number(port), record)
}))
const stop = (): void => {
  for (const s of sockets) s.close()
  if (out !== undefined) fs.writeFileSync(out, JSON.stringify({ flows: Object.fromEntries(records) }))
  process.exit(0)
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
process.stdout.write(`echo ready on ${binds.join(', ')}\n`)
