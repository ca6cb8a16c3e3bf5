/**
 * IP addresses and prefixes as text, for config and control-plane messages
 * ("198.18.0.0/15", "2001:db8::/32"). This is the control path: it allocates,
 * and it throws a typed `PrefixParseError` naming the problem and a fix, so
 * `overpass check` can print it next to the config field.
 */

export interface Prefix {
  family: 4 | 6
  /** 4 or 16 bytes, host bits zero. */
  bytes: Uint8Array
  /** Prefix length in bits: 0..32 or 0..128. */
  length: number
}

export type PrefixProblem = 'missing_length' | 'bad_length' | 'bad_address' | 'host_bits_set'

export class PrefixParseError extends Error {
  override readonly name = 'PrefixParseError'
  constructor(
    readonly input: string,
    readonly problem: PrefixProblem,
    readonly detail: string,
    readonly fix: string,
  ) {
    super(`invalid prefix "${input}": ${detail} (fix: ${fix})`)
  }
}

/** Parses "a.b.c.d/len" or "ipv6/len". Throws PrefixParseError. */
export function parsePrefix(text: string): Prefix {
  const input = text.trim()
  const slash = input.indexOf('/')
  if (slash < 0) {
    const bytes = parseAddressOrNull(input)
    const fix = bytes ? `write ${input}/${bytes.length * 8} for the single address` : 'write address/length, e.g. 198.18.0.0/15'
    throw new PrefixParseError(text, 'missing_length', 'no /length', fix)
  }
  const addrText = input.slice(0, slash)
  const lenText = input.slice(slash + 1)
  const bytes = parseAddressOrNull(addrText)
  if (!bytes) {
    throw new PrefixParseError(text, 'bad_address', `"${addrText}" is not an IPv4 or IPv6 address`, 'write a dotted quad (198.18.0.0) or an IPv6 address (2001:db8::)')
  }
  const maxLen = bytes.length * 8
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > maxLen) {
    throw new PrefixParseError(text, 'bad_length', `length "${lenText}" is not 0..${maxLen}`, `use a length from 0 to ${maxLen}`)
  }
  const length = Number(lenText)
  const masked = maskBytes(bytes, length)
  for (let i = 0; i < bytes.length; i++) {
    if (masked[i] !== bytes[i]) {
      const fixed = formatPrefix({ family: bytes.length === 4 ? 4 : 6, bytes: masked, length })
      throw new PrefixParseError(text, 'host_bits_set', `bits after the first ${length} are set`, `use ${fixed}`)
    }
  }
  return { family: bytes.length === 4 ? 4 : 6, bytes, length }
}

/** Parses one address; throws PrefixParseError (problem bad_address). */
export function parseAddress(text: string): Uint8Array {
  const bytes = parseAddressOrNull(text.trim())
  if (!bytes) throw new PrefixParseError(text, 'bad_address', 'not an IPv4 or IPv6 address', 'write e.g. 198.18.0.1 or 2001:db8::1')
  return bytes
}

/** Copy of `bytes` with every bit after the first `length` cleared. */
export function maskBytes(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(bytes.length)
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, length - 8 * i))
    out[i] = bytes[i] & ((0xff00 >> keep) & 0xff)
  }
  return out
}

export function formatPrefix(p: Prefix): string {
  return `${formatAddress(p.bytes)}/${p.length}`
}

/** Dotted quad, or RFC 5952 IPv6 text (lower case, longest run of zero groups as ::). */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1])
  let bestAt = -1
  let bestLen = 1 // RFC 5952: never compress a single zero group
  for (let i = 0; i < 8; ) {
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen) {
      bestAt = i
      bestLen = j - i
    }
    i = j === i ? i + 1 : j
  }
  const hex = groups.map((g) => g.toString(16))
  if (bestAt < 0) return hex.join(':')
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`
}

function parseAddressOrNull(text: string): Uint8Array | null {
  if (text.includes(':')) return parseV6(text)
  return parseV4(text)
}

function parseV4(text: string): Uint8Array | null {
  const parts = text.split('.')
  if (parts.length !== 4) return null
  const out = new Uint8Array(4)
  for (let i = 0; i < 4; i++) {
    // No leading zeros: "010" means 8 to some parsers and 10 to others.
    if (!/^(0|[1-9]\d{0,2})$/.test(parts[i])) return null
    const n = Number(parts[i])
    if (n > 255) return null
    out[i] = n
  }
  return out
}

function parseV6(text: string): Uint8Array | null {
  const halves = text.split('::')
  if (halves.length > 2) return null
  const head = halves[0] === '' ? [] : halves[0].split(':')
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1].split(':')) : []
  const groups: number[] = []
  const all = [...head, ...tail]
  let v4Tail: Uint8Array | null = null
  if (all.length > 0 && all[all.length - 1].includes('.')) {
    v4Tail = parseV4(all[all.length - 1])
    if (!v4Tail) return null
    if (tail.length > 0) tail.pop()
    else head.pop()
  }
  const parseGroups = (list: string[]): boolean => {
    for (const g of list) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false
      groups.push(parseInt(g, 16))
    }
    return true
  }
  const explicit = head.length + tail.length + (v4Tail ? 2 : 0)
  if (!parseGroups(head)) return null
  const headCount = groups.length
  if (halves.length === 2) {
    if (explicit > 7) return null // "::" stands for at least one zero group
    for (let i = 0; i < 8 - explicit; i++) groups.push(0)
  } else if (explicit !== 8) {
    return null
  }
  if (!parseGroups(tail)) return null
  if (groups.length + (v4Tail ? 2 : 0) !== 8 || headCount > 8) return null
  const out = new Uint8Array(16)
  for (let i = 0; i < groups.length; i++) {
    out[2 * i] = groups[i] >> 8
    out[2 * i + 1] = groups[i] & 0xff
  }
  if (v4Tail) out.set(v4Tail, 12)
  return out
}
