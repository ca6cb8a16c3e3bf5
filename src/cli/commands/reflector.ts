/**
 * `overpass reflector [--listen HOST:PORT] [--allow CIDR...]`: a stateless
 * TWAMP-Light Session-Reflector (RFC 5357 Appendix I) to run next to an
 * origin, so exits can measure one-way pseudo delays across their CNI link.
 * Replies are the same size as the request. Only sources in the --allow
 * prefixes are answered (any source without --allow, with a warning), never
 * from a server port, at a bounded rate per source (origin/reflector-guard.ts);
 * everything else is dropped and counted. Counters are printed on
 * SIGTERM/SIGINT.
 *
 * Time stamps come from this host's clock (performance.timeOrigin + now, in
 * the NTP era); senders only use differences, so no clock sync is needed.
 */
import type { Socket } from 'node:dgram'
import { createLiteralSocket } from '../../io/udp.js'
import { InvalidArgumentError, Option, type Command } from 'commander'
import { parsePrefix, type Prefix } from '../../l3/prefix.js'
import { MAX_TEST_PACKET_BYTES, NTP_UNIX_OFFSET_MS, ReflectorGuard, TWAMP_LIGHT_PORT, TwampReflectorCore, UNKNOWN_TTL, type ReflectorCounters } from '../../origin/index.js'

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

/**
 * `--allow` values: prefixes, or single addresses (as /32 or /128). Throws
 * PrefixParseError naming the value and the fix.
 */
export function parseAllow(values: string[]): Prefix[] {
  return values.map((v) => {
    const text = v.trim()
    return parsePrefix(text.includes('/') ? text : `${text}/${text.includes(':') ? 128 : 32}`)
  })
}

const ntpNowMs = (): number => NTP_UNIX_OFFSET_MS + performance.timeOrigin + performance.now()

/** Binds the reflector; resolves once it is listening. `allow` empty or absent: any source is answered. */
export function startReflector(opts: { host: string; port: number; allow?: Prefix[] }): Promise<ReflectorHandle> {
  const out = Buffer.alloc(MAX_TEST_PACKET_BYTES)
  const socket: Socket = createLiteralSocket(opts.host.includes(':') ? 'udp6' : 'udp4')
  // Made once bound: the guard needs the real port (opts.port may be 0).
  let core: TwampReflectorCore | undefined
  socket.on('message', (msg, rinfo) => {
    if (core === undefined) return
    const rx = ntpNowMs()
    const len = core.handle(rinfo.address, rinfo.port, performance.now(), msg, msg.length, rx, ntpNowMs(), UNKNOWN_TTL, out)
    // The literal lookup makes dgram read `out` inside send(), so it is reusable at once
    // (with the default lookup dgram reads it on a later tick).
    if (len > 0) socket.send(out, 0, len, rinfo.port, rinfo.address)
  })
  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(opts.port, opts.host, () => {
      socket.off('error', reject)
      const reflector = new TwampReflectorCore(new ReflectorGuard({ listenPort: socket.address().port, allow: opts.allow }))
      core = reflector
      socket.on('error', () => {}) // ICMP unreachable from a gone sender must not kill the reflector.
      resolve({
        address: () => socket.address(),
        counters: () => ({ ...reflector.counters }),
        close: () => new Promise<void>((done) => socket.close(() => done())),
      })
    })
  })
}

/** Runs a value check, turning its error into commander's usage error (exit 2) with the same message. */
function usage<T>(check: () => T): T {
  try {
    return check()
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err))
  }
}

export function register(program: Command): void {
  program
    .command('reflector')
    .description('run a stateless TWAMP-Light reflector next to an origin')
    // Checked while parsing: a bad value is a usage error (exit 2, with the fix), like every other option's.
    .addOption(new Option('--listen <host:port>', 'address to listen on').default(`0.0.0.0:${TWAMP_LIGHT_PORT}`).argParser((v) => usage(() => (parseListen(v), v))))
    .addOption(new Option('--allow <cidr...>', 'answer only these sources, e.g. the exits: 192.0.2.0/24 2001:db8::7 (default: any source)')
      .argParser((v, previous: string[] | undefined) => usage(() => (parseAllow([v]), [...(previous ?? []), v]))))
    .action(async (opts: { listen: string; allow?: string[] }) => {
      const allow = parseAllow(opts.allow ?? [])
      const r = await startReflector({ ...parseListen(opts.listen), allow })
      const a = r.address()
      process.stdout.write(`reflector listening on ${a.address}:${a.port}\n`)
      if (allow.length === 0) process.stderr.write('warning: no --allow: answering test packets from any source (name the exits with --allow CIDR...)\n')
      const stop = async () => {
        process.stdout.write(`reflector counters: ${JSON.stringify(r.counters())}\n`)
        await r.close()
      }
      process.once('SIGTERM', stop)
      process.once('SIGINT', stop)
    })
}
