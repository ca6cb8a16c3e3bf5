/**
 * Copying packet bytes without allocating: `Uint8Array.set(src.subarray())`
 * would create a view object per packet, so Buffers use Buffer#copy (a
 * memmove in C++) and plain Uint8Arrays fall back to a loop.
 */
export function copyBytes(src: Uint8Array, srcStart: number, srcEnd: number, dst: Uint8Array, dstOff: number): void {
  if (Buffer.isBuffer(src)) {
    src.copy(dst, dstOff, srcStart, srcEnd)
    return
  }
  for (let i = srcStart; i < srcEnd; i++) dst[dstOff + i - srcStart] = src[i]
}
