/**
 * Textual IP addresses to and from bytes (Node has no inet_pton). Used once
 * per flow, never per packet. Returns undefined for anything that is not a
 * literal IPv4 or IPv6 address.
 */
import { isIPv4, isIPv6 } from 'node:net'

export function ipv4ToBytes(text: string): Buffer | undefined {
  if (!isIPv4(text)) return undefined
  return Buffer.from(text.split('.').map((p) => Number(p)))
}

export function ipv6ToBytes(text: string): Buffer | undefined {
  const zone = text.indexOf('%')
  const addr = zone >= 0 ? text.slice(0, zone) : text
  if (!isIPv6(addr)) return undefined
  const out = Buffer.alloc(16)
  let head = addr
  let tail = ''
  const dbl = addr.indexOf('::')
  if (dbl >= 0) {
    head = addr.slice(0, dbl)
    tail = addr.slice(dbl + 2)
  }
  const groups = (part: string): number[] => {
    if (part === '') return []
    const words: number[] = []
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const v4 = ipv4ToBytes(g)!
        words.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3])
      } else words.push(parseInt(g, 16))
    }
    return words
  }
  const h = groups(head)
  const t = groups(tail)
  const words = dbl >= 0 ? [...h, ...new Array(8 - h.length - t.length).fill(0), ...t] : h
  words.forEach((w, i) => out.writeUInt16BE(w, 2 * i))
  return out
}

/** Bytes of an address of either family; `family` 4 maps IPv6-mapped IPv4 back. */
export function ipToBytes(text: string): { family: 4 | 6; bytes: Buffer } | undefined {
  const v4 = ipv4ToBytes(text)
  if (v4) return { family: 4, bytes: v4 }
  const v6 = ipv6ToBytes(text)
  if (v6) return { family: 6, bytes: v6 }
  return undefined
}

export function bytesToIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`
  const words: string[] = []
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] << 8) | bytes[i + 1]).toString(16))
  // Compress the longest run of zero words, as RFC 5952 asks.
  let best = -1
  let bestLen = 0
  for (let i = 0; i < 8; ) {
    if (words[i] !== '0') { i++; continue }
    let j = i
    while (j < 8 && words[j] === '0') j++
    if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i }
    i = j
  }
  if (best < 0) return words.join(':')
  return `${words.slice(0, best).join(':')}::${words.slice(best + bestLen).join(':')}`
}
