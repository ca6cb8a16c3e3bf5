/**
 * PROXY protocol v2 headers (HAProxy spec, section 2.2) for UDP: command PROXY,
 * transport DGRAM. The exit prepends one to every datagram it sends to an
 * origin in `proxy-protocol` delivery mode, so the origin learns the client's
 * real address and port. Built once per flow; sending copies it in front of
 * each payload.
 */
import type { ClientAddress } from '../wire/client-addr.js'
import { bytesToIp, ipToBytes } from '../wire/ip-address.js'

const SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a])
const VERSION_2_PROXY = 0x21
const INET_DGRAM = 0x12
const INET6_DGRAM = 0x22

export const PROXY_V2_SIGNATURE = SIGNATURE

export function buildProxyV2Header(a: ClientAddress): Buffer {
  const v4 = a.family === 4
  const addrLen = v4 ? 12 : 36
  const out = Buffer.alloc(16 + addrLen)
  SIGNATURE.copy(out, 0)
  out[12] = VERSION_2_PROXY
  out[13] = v4 ? INET_DGRAM : INET6_DGRAM
  out.writeUInt16BE(addrLen, 14)
  const size = v4 ? 4 : 16
  const src = addrBytes(a.clientAddress, a.family)
  const dst = addrBytes(a.serviceAddress, a.family)
  src.copy(out, 16)
  dst.copy(out, 16 + size)
  out.writeUInt16BE(a.clientPort, 16 + 2 * size)
  out.writeUInt16BE(a.servicePort, 18 + 2 * size)
  return out
}

/** Parses a v2 header (used by tests and example origins). Returns undefined if absent or malformed. */
export function parseProxyV2Header(buf: Buffer): { client: ClientAddress; headerLen: number } | undefined {
  if (buf.length < 16 || !buf.subarray(0, 12).equals(SIGNATURE) || buf[12] !== VERSION_2_PROXY) return undefined
  const len = buf.readUInt16BE(14)
  if (buf.length < 16 + len) return undefined
  const fam = buf[13]
  const size = fam === INET_DGRAM ? 4 : fam === INET6_DGRAM ? 16 : 0
  if (size === 0 || len < 2 * size + 4) return undefined
  const ip = (off: number): string => bytesToIp(buf.subarray(off, off + size))
  return {
    headerLen: 16 + len,
    client: {
      family: size === 4 ? 4 : 6,
      clientAddress: ip(16),
      serviceAddress: ip(16 + size),
      clientPort: buf.readUInt16BE(16 + 2 * size),
      servicePort: buf.readUInt16BE(18 + 2 * size),
    },
  }
}

function addrBytes(text: string, family: 4 | 6): Buffer {
  const parsed = ipToBytes(text)
  if (!parsed) return Buffer.alloc(family === 4 ? 4 : 16)
  return parsed.bytes
}
