/** Property tests of the endpoint probe parser (wire/endpoint-probe.ts): any bytes, valid probes, and mutations of them. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ENDPOINT_PROBE_LEN, ENDPOINT_PROBE_REPLY, ENDPOINT_PROBE_REQUEST, ProbeError,
  endpointProbeToken, endpointProbeType, probeErrorName, writeEndpointProbe,
} from '../../src/wire/endpoint-probe.js'
import { bytes, RUNS } from '../bench/mutations.js'

const KNOWN = new Set([ProbeError.BadLength, ProbeError.BadType, ProbeError.Reserved])
const probe = fc.record({ type: fc.constantFrom(ENDPOINT_PROBE_REQUEST, ENDPOINT_PROBE_REPLY), token: fc.nat(0xffffffff) })

function encode(p: { type: typeof ENDPOINT_PROBE_REQUEST | typeof ENDPOINT_PROBE_REPLY; token: number }): Buffer {
  const b = Buffer.alloc(ENDPOINT_PROBE_LEN)
  writeEndpointProbe(b, 0, p.type, p.token)
  return b
}

describe('endpoint probe parser under fuzzing', () => {
  it('never throws on any bytes: a type, or a named error', () => {
    fc.assert(
      fc.property(bytes(64), (b) => {
        const t = endpointProbeType(b)
        if (t < 0) {
          expect(KNOWN.has(t)).toBe(true)
          expect(probeErrorName(t)).toMatch(/^[a-z_]+$/)
        } else {
          expect(b.length).toBe(ENDPOINT_PROBE_LEN)
          expect([ENDPOINT_PROBE_REQUEST, ENDPOINT_PROBE_REPLY]).toContain(t)
        }
      }),
      { numRuns: RUNS },
    )
  })

  it('round-trips every valid probe, and a reply is exactly as long as its request', () => {
    fc.assert(
      fc.property(probe, (p) => {
        const b = encode(p)
        expect(endpointProbeType(b)).toBe(p.type)
        expect(endpointProbeToken(b)).toBe(p.token)
        expect(encode({ type: ENDPOINT_PROBE_REPLY, token: p.token }).length).toBe(b.length)
      }),
      { numRuns: RUNS },
    )
  })

  it('refuses any valid probe with one byte changed in its header, or cut, or lengthened', () => {
    fc.assert(
      fc.property(probe, fc.nat(3), fc.integer({ min: 1, max: 255 }), fc.integer({ min: -ENDPOINT_PROBE_LEN, max: 16 }).filter((d) => d !== 0), (p, at, xor, grow) => {
        const b = encode(p)
        const changed = Buffer.from(b)
        changed[at] ^= xor
        const t = endpointProbeType(changed)
        // Type 1 and 2 differ in two bits: flipping between them is still a valid probe (of the other type).
        if (at === 0 && (changed[0] === ENDPOINT_PROBE_REQUEST || changed[0] === ENDPOINT_PROBE_REPLY)) expect(t).toBe(changed[0])
        else expect(t).toBeLessThan(0)
        const resized = grow < 0 ? b.subarray(0, b.length + grow) : Buffer.concat([b, Buffer.alloc(grow)])
        expect(endpointProbeType(resized)).toBe(ProbeError.BadLength)
      }),
      { numRuns: RUNS },
    )
  })
})
