/**
 * `overpass reflector [--listen HOST:PORT]`: a stateless TWAMP-Light
 * Session-Reflector (RFC 5357 Appendix I) to run next to an origin, so exits
 * can measure one-way pseudo delays across their CNI link. Replies are the
 * same size as the request; malformed requests are dropped and counted.
 * Counters are printed on SIGTERM/SIGINT.
 *
 * Time stamps come from this host's clock (performance.timeOrigin + now, in
 * the NTP era); senders only use differences, so no clock sync is needed.
 */
import type { Socket } from 'node:dgram'
import { createLiteralSocket } from '../../io/udp.js'
import type { Command } from 'commander'
import { MAX_TEST_PACKET_BYTES, NTP_UNIX_OFFSET_MS, TWAMP_LIGHT_PORT, TwampReflectorCore, UNKNOWN_TTL, type ReflectorCounters } from '../../origin/index.js'

export interface ReflectorHandle {
  address(): { address: string; port: number }
  counters(): ReflectorCounters
  close(): Promise<void>
}

export class ListenAddressError extends Error {
  override readonly name = 'ListenAddressError'
  constructor(readonly value: string) {
    super(`--listen: "${value}" is not HOST:PORT (e.g. 0.0.0.0:862 or [::]:862)`)
  }
}

export function parseListen(value: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:]+):(\d+)$/.exec(value)
  const port = m ? Number(m[2]) : NaN
  if (!m || !(port >= 0 && port <= 65535)) throw new ListenAddressError(value)
  return { host: m[1], port }
}

const ntpNowMs = (): number => NTP_UNIX_OFFSET_MS + performance.timeOrigin + performance.now()

/** Binds the reflector; resolves once it is listening. */
export function startReflector(opts: { host: string; port: number }): Promise<ReflectorHandle> {
  const core = new TwampReflectorCore()
  const out = Buffer.alloc(MAX_TEST_PACKET_BYTES)
  const socket: Socket = createLiteralSocket(opts.host.includes(':') ? 'udp6' : 'udp4')
  socket.on('message', (msg, rinfo) => {
    const rx = ntpNowMs()
    const len = core.reflect(msg, msg.length, rx, ntpNowMs(), UNKNOWN_TTL, out)
    // The literal lookup makes dgram read `out` inside send(), so it is reusable at once
    // (with the default lookup dgram reads it on a later tick).
    if (len > 0) socket.send(out, 0, len, rinfo.port, rinfo.address)
  })
  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(opts.port, opts.host, () => {
      socket.off('error', reject)
      socket.on('error', () => {}) // ICMP unreachable from a gone sender must not kill the reflector.
      resolve({
        address: () => socket.address(),
        counters: () => ({ ...core.counters }),
        close: () => new Promise<void>((done) => socket.close(() => done())),
      })
    })
  })
}

export function register(program: Command): void {
  program
    .command('reflector')
    .description('run a stateless TWAMP-Light reflector next to an origin')
    .option('--listen <host:port>', 'address to listen on', `0.0.0.0:${TWAMP_LIGHT_PORT}`)
    .action(async (opts: { listen: string }) => {
      const r = await startReflector(parseListen(opts.listen))
      const a = r.address()
      process.stdout.write(`reflector listening on ${a.address}:${a.port}\n`)
      const stop = async () => {
        process.stdout.write(`reflector counters: ${JSON.stringify(r.counters())}\n`)
        await r.close()
      }
      process.once('SIGTERM', stop)
      process.once('SIGINT', stop)
    })
}
