import { describe, expect, it } from 'vitest'
import { formatSignatureFile, judgeVersion, parseSignatureFile, signedMessage, type SignedNetworkFile } from '../../src/config/signed-version.js'
import { operatorKeyPairOf, signDetached } from '../../src/crypto/operator-signing.js'

const operator = operatorKeyPairOf(new Uint8Array(32).fill(7))
const stranger = operatorKeyPairOf(new Uint8Array(32).fill(8))
const BYTES = new TextEncoder().encode('relays:\n  - id: lax\n')

function signed(version: number, bytes = BYTES, key = operator.secretKey): SignedNetworkFile {
  return { version, bytes, signature: signDetached(signedMessage(version, bytes), key) }
}
const valid = () => [] as string[]

describe('signedMessage', () => {
  it('is the label, the decimal version and a newline, then the exact file bytes', () => {
    const msg = Buffer.from(signedMessage(12, BYTES)).toString('utf8')
    expect(msg).toBe('overpass network file v1\n12\nrelays:\n  - id: lax\n')
  })
})

describe('judgeVersion', () => {
  const flip = (b: Uint8Array, i: number) => {
    const c = new Uint8Array(b)
    c[i] ^= 1
    return c
  }
  // Numbered rows: [name, current, candidate, validate, expected reason or 'accept'].
  const rows: [string, number | undefined, () => SignedNetworkFile, (b: Uint8Array) => string[], string][] = [
    ['1 first version, signed, valid', undefined, () => signed(1), valid, 'accept'],
    ['2 newer version', 4, () => signed(5), valid, 'accept'],
    ['3 much newer version', 4, () => signed(1000), valid, 'accept'],
    ['4 equal version', 5, () => signed(5), valid, 'not_newer'],
    ['5 older version', 5, () => signed(3), valid, 'not_newer'],
    ['6 content altered after signing', undefined, () => ({ ...signed(2), bytes: flip(BYTES, 3) }), valid, 'bad_signature'],
    ['7 signature altered', undefined, () => { const s = signed(2); return { ...s, signature: flip(s.signature, 10) } }, valid, 'bad_signature'],
    ['8 version raised without re-signing', 1, () => ({ ...signed(2), version: 9 }), valid, 'bad_signature'],
    ['9 signed by another key', undefined, () => signed(2, BYTES, stranger.secretKey), valid, 'bad_signature'],
    ['10 truncated signature', undefined, () => ({ ...signed(2), signature: new Uint8Array(63) }), valid, 'bad_signature'],
    ['11 version 0', undefined, () => signed(0), valid, 'bad_version'],
    ['12 fractional version', undefined, () => ({ ...signed(2), version: 2.5 }), valid, 'bad_version'],
    ['13 signed but invalid content', undefined, () => signed(3), () => ['relays[0].endpoint: bad'], 'invalid_content'],
  ]
  it.each(rows)('%s', (_name, current, candidate, validate, expected) => {
    const v = judgeVersion({ currentVersion: current, candidate: candidate(), operatorKey: operator.publicKey, validate })
    expect(v.accept ? 'accept' : v.reason).toBe(expected)
  })

  it('does not parse the content of a version whose signature fails', () => {
    let parsed = 0
    judgeVersion({ currentVersion: undefined, candidate: { ...signed(2), bytes: flip(BYTES, 0) }, operatorKey: operator.publicKey, validate: () => (parsed++, []) })
    expect(parsed).toBe(0)
  })
})

describe('the signature file', () => {
  it('round-trips version and signature', () => {
    const s = signed(42)
    const p = parseSignatureFile(formatSignatureFile(42, s.signature))
    expect(p).toEqual({ ok: true, version: 42, signature: s.signature })
  })
  it.each([
    ['no version', 'signature: ' + Buffer.alloc(64).toString('base64')],
    ['no signature', 'version: 3'],
    ['short signature', 'version: 3\nsignature: ' + Buffer.alloc(63).toString('base64')],
    ['version 0', 'version: 0\nsignature: ' + Buffer.alloc(64).toString('base64')],
    ['a version beyond 2^53', 'version: 9999999999999999\nsignature: ' + Buffer.alloc(64).toString('base64')],
  ])('refuses a file with %s', (_n, text) => {
    expect(parseSignatureFile(text).ok).toBe(false)
  })
})

describe('parseSignatureFile on arbitrary text', () => {
  it('never throws, and accepts only whole versions with 64-byte signatures', async () => {
    const fc = (await import('fast-check')).default
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string().map((s) => `version: ${s}\nsignature: ${s}`), fc.uint8Array({ maxLength: 80 }).map((b) => `version: 7\nsignature: ${Buffer.from(b).toString('base64')}`)), (text) => {
        const p = parseSignatureFile(text)
        if (p.ok) {
          expect(Number.isSafeInteger(p.version)).toBe(true)
          expect(p.signature.length).toBe(64)
        }
      }),
      { numRuns: 2000 },
    )
  })
})
