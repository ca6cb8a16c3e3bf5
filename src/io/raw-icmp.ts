/**
 * A raw ICMP socket (IPv4), for the exits' ICMP origin probes
 * (control/origin-probes.ts). Opening one needs root or CAP_NET_RAW; the
 * `raw-socket` addon provides it. Received messages include the IPv4 header.
 */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

export interface RawIcmpSocket {
  on(event: 'message', fn: (msg: Buffer, source: string) => void): void
  on(event: 'error', fn: (err: Error) => void): void
  send(buf: Buffer, offset: number, length: number, address: string, cb: (err?: Error) => void): void
  close(): void
}

interface RawSocketModule {
  createSocket(opts: { protocol: number }): RawIcmpSocket
  Protocol: { ICMP: number }
}

/** Opens a raw ICMP socket; throws when the addon is missing or the process may not open raw sockets. */
export function openRawIcmpSocket(): RawIcmpSocket {
  const raw = require('raw-socket') as RawSocketModule
  return raw.createSocket({ protocol: raw.Protocol.ICMP })
}
