import { describe, expect, it } from 'vitest'
import { nextHandshakeTimestamp } from '../../src/crypto/timestamp.js'

describe('handshake timestamps', () => {
  it('follow the wall clock in microseconds and never repeat or go back', () => {
    const base = Date.now() * 1000 + 3_600_000_000
    const a = nextHandshakeTimestamp(base)
    expect(a).toBe(base)
    // Within one microsecond, and after the clock was set back: one above the previous.
    expect(nextHandshakeTimestamp(base)).toBe(base + 1)
    expect(nextHandshakeTimestamp(base - 60_000_000)).toBe(base + 2)
    // Once the clock passes the old values again, it is followed again.
    expect(nextHandshakeTimestamp(base + 10_000_000)).toBe(base + 10_000_000)
  })

  it('stay exact integers below 2^53', () => {
    const t = nextHandshakeTimestamp()
    expect(Number.isSafeInteger(t)).toBe(true)
  })
})
