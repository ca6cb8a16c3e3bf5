/**
 * The Internet checksum (RFC 1071): the ones' complement of the ones'
 * complement sum of 16-bit big-endian words. IPv4 headers, ICMPv4 and ICMPv6
 * (with its pseudo-header) all use it, so it lives in one place. Sums are
 * kept unfolded in a JS number (53-bit safe) and folded once at the end,
 * which is exact for any packet up to 64 KiB.
 */

/** Adds buf[start, end) as big-endian 16-bit words to `sum`; an odd last byte is padded with zero. */
export function sumWords(buf: Uint8Array, start: number, end: number, sum: number): number {
  let i = start
  for (; i + 1 < end; i += 2) sum += (buf[i] << 8) | buf[i + 1]
  if (i < end) sum += buf[i] << 8
  return sum
}

/** Folds a running sum into 16 bits (carries added back in), without complementing. */
export function foldSum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000)
  return sum
}

/** The checksum field value for buf[start, end) (its own checksum field must be zero while summing). */
export function internetChecksum(buf: Uint8Array, start: number, end: number, initial = 0): number {
  return ~foldSum(sumWords(buf, start, end, initial)) & 0xffff
}

/**
 * Patches the 16-bit checksum at buf[c..c+1] after one 16-bit word of the
 * covered data changed from `oldWord` to `newWord` (RFC 1624, equation 3:
 * HC' = ~(~HC + ~m + m')), instead of summing the data again.
 */
export function patchChecksum(buf: Uint8Array, c: number, oldWord: number, newWord: number): void {
  let sum = (~((buf[c] << 8) | buf[c + 1]) & 0xffff) + (~oldWord & 0xffff) + newWord
  sum = (sum & 0xffff) + (sum >>> 16)
  sum = (sum & 0xffff) + (sum >>> 16)
  const hc = ~sum & 0xffff
  buf[c] = hc >> 8
  buf[c + 1] = hc & 0xff
}
