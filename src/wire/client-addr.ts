/**
 * The client-address extension of a data header (see data.ts): who the client
 * is and which service address it sent to, so an exit can tell the origin in
 * a PROXY protocol v2 header. Encoded once per flow at the ingress.
 */
import { CLIENT_ADDR_V4_LEN, CLIENT_ADDR_V6_LEN } from './data.js'
import { bytesToIp, ipToBytes } from './ip-address.js'

export interface ClientAddress {
  family: 4 | 6
  clientAddress: string
  clientPort: number
  serviceAddress: string
  servicePort: number
}

/** Encodes the extension; IPv4 clients on an IPv6 service socket are written as IPv6. */
export function encodeClientAddr(a: ClientAddress): Buffer | undefined {
  const c = ipToBytes(a.clientAddress)
  const s = ipToBytes(a.serviceAddress)
  if (!c || !s) return undefined
  const family: 4 | 6 = c.family === 4 && s.family === 4 ? 4 : 6
  const len = family === 4 ? CLIENT_ADDR_V4_LEN : CLIENT_ADDR_V6_LEN
  const out = Buffer.alloc(len)
  out[0] = family
  out.writeUInt16BE(a.clientPort, 2)
  out.writeUInt16BE(a.servicePort, 4)
  const addrLen = family === 4 ? 4 : 16
  toFamily(c, family).copy(out, 6)
  toFamily(s, family).copy(out, 6 + addrLen)
  return out
}

export function decodeClientAddr(buf: Buffer, off: number): ClientAddress {
  const family = buf[off] === 4 ? 4 : 6
  const addrLen = family === 4 ? 4 : 16
  return {
    family,
    clientPort: buf.readUInt16BE(off + 2),
    servicePort: buf.readUInt16BE(off + 4),
    clientAddress: bytesToIp(buf.subarray(off + 6, off + 6 + addrLen)),
    serviceAddress: bytesToIp(buf.subarray(off + 6 + addrLen, off + 6 + 2 * addrLen)),
  }
}

function toFamily(a: { family: 4 | 6; bytes: Buffer }, family: 4 | 6): Buffer {
  if (a.family === family) return a.bytes
  // IPv4 inside IPv6: ::ffff:a.b.c.d
  const out = Buffer.alloc(16)
  out[10] = 0xff
  out[11] = 0xff
  a.bytes.copy(out, 12)
  return out
}
