/**
 * A raw ICMP socket, for the exits' ICMP origin probes
 * (control/origin-probes.ts): ICMP over IPv4 or ICMPv6 over IPv6. Opening
 * one needs root or CAP_NET_RAW; the `raw-socket` addon provides it.
 * IPv4: received messages include the IPv4 header. IPv6: they do not, and
 * the kernel computes the ICMPv6 checksum of what we send and checks it on
 * what we receive (RFC 3542, section 3.1: it covers a pseudo-header with
 * addresses only the kernel knows).
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
  createSocket(opts: { protocol: number; addressFamily?: number }): RawIcmpSocket
  Protocol: { ICMP: number; ICMPv6: number }
  AddressFamily: { IPv4: number; IPv6: number }
}

/** Opens a raw ICMP (`family` 4) or ICMPv6 (6) socket; throws when the addon is missing or the process may not open raw sockets. */
export function openRawIcmpSocket(family: 4 | 6 = 4): RawIcmpSocket {
  const raw = require('raw-socket') as RawSocketModule
  if (family === 6) return raw.createSocket({ protocol: raw.Protocol.ICMPv6, addressFamily: raw.AddressFamily.IPv6 })
  return raw.createSocket({ protocol: raw.Protocol.ICMP })
}
