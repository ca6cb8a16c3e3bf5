/** Property tests of the PROXY protocol v2 header (dataplane/proxy-protocol.ts): round trip, any bytes, mutations. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { buildProxyV2Header, parseProxyV2Header, PROXY_V2_SIGNATURE } from '../../src/dataplane/proxy-protocol.js'
import { encodeClientAddr, type ClientAddress } from '../../src/wire/client-addr.js'
import { bytes, mutate, mutations, RUNS } from '../bench/mutations.js'

const client: fc.Arbitrary<ClientAddress> = fc.oneof(
  fc.record({ family: fc.constant(4 as const), clientAddress: fc.ipV4(), serviceAddress: fc.ipV4(), clientPort: fc.nat(65535), servicePort: fc.nat(65535) }),
  fc.record({ family: fc.constant(6 as const), clientAddress: fc.ipV6(), serviceAddress: fc.ipV6(), clientPort: fc.nat(65535), servicePort: fc.nat(65535) }),
)

describe('PROXY v2 header under fuzzing', () => {
  it('round-trips: parse of build gives the same client, service and ports', () => {
    fc.assert(
      fc.property(client, bytes(40), (a, payload) => {
        const h = buildProxyV2Header(a)
        const p = parseProxyV2Header(Buffer.concat([h, payload]))!
        expect(p.headerLen).toBe(h.length)
        // Addresses compare as bytes: text forms differ (leading zeros, :: compression).
        expect(encodeClientAddr(p.client)).toEqual(encodeClientAddr(a))
      }),
      { numRuns: RUNS },
    )
  })

  it('never throws on any bytes, with or without the signature', () => {
    fc.assert(
      fc.property(fc.boolean(), bytes(120), (signed, rest) => {
        const b = signed ? Buffer.concat([PROXY_V2_SIGNATURE, rest]) : rest
        const p = parseProxyV2Header(b)
        if (p !== undefined) expect(p.headerLen).toBeLessThanOrEqual(b.length)
      }),
      { numRuns: RUNS },
    )
  })

  it('a mutated header is refused or parsed within its bytes', () => {
    fc.assert(
      fc.property(client, mutations, (a, ops) => {
        const b = mutate(buildProxyV2Header(a), ops)
        const p = parseProxyV2Header(b)
        if (p === undefined) return
        expect(p.headerLen).toBeLessThanOrEqual(b.length)
        expect([4, 6]).toContain(p.client.family)
      }),
      { numRuns: RUNS },
    )
  })
})
