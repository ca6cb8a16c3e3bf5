/**
 * Numeric identifiers that appear on the wire. Relay and service names in the
 * config are strings; the data header carries their 32-bit FNV-1a hash. Every
 * relay derives the same number from the same name with no coordination, and
 * config loading rejects the (rare) collision so a hash always names one thing.
 */

/**
 * FNV-1a 32-bit hash of the UTF-8 bytes of `name`; never returns 0 (0 means
 * "none" on the wire). ASCII names (every relay id the config accepts in
 * practice) are hashed from their char codes, which are their UTF-8 bytes:
 * the control plane looks a peer up by name for every probe it sends, and a
 * Buffer per lookup was an idle relay's garbage (docs/performance.md, "Idle CPU").
 */
export function nameId(name: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c >= 0x80) return nameIdUtf8(name)
    h ^= c
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h === 0 ? 1 : h
}

function nameIdUtf8(name: string): number {
  const bytes = Buffer.from(name, 'utf8')
  let h = 0x811c9dc5
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h === 0 ? 1 : h
}
