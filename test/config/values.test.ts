import { describe, expect, it } from 'vitest'
import { parseKey, extractPrivateKeyText, parseDurationMs, parseHostPort } from '../../src/config/values.js'

describe('parseHostPort', () => {
  const cases: [string, { host: string; port: number } | RegExp][] = [
    ['127.0.0.1:7001', { host: '127.0.0.1', port: 7001 }],
    ['0.0.0.0:65535', { host: '0.0.0.0', port: 65535 }],
    ['[::1]:7001', { host: '::1', port: 7001 }],
    ['[fe80::1]:1', { host: 'fe80::1', port: 1 }],
    ['127.0.0.1', /missing the ":port"/],
    ['127.0.0.1:0', /outside 1\.\.65535/],
    ['127.0.0.1:65536', /outside 1\.\.65535/],
    ['127.0.0.1:http', /not a number/],
    ['localhost:80', /not an IPv4 address/],
    ['::1:80', /in brackets/],
    ['[::1]80', /\[addr\]:port/],
    ['[1.2.3.4]:80', /not an IPv6 address/],
    ['300.1.1.1:80', /not an IPv4 address/],
  ]
  it.each(cases)('%s', (text, want) => {
    const r = parseHostPort(text)
    if (want instanceof RegExp) expect(r.ok ? 'ok' : r.error).toMatch(want)
    else expect(r).toEqual({ ok: true, value: want })
  })
})

describe('parseDurationMs', () => {
  const cases: [string, number | null][] = [
    ['250ms', 250],
    ['30s', 30_000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    [' 5 s ', 5000],
    ['30', null],
    ['0s', null],
    ['-1s', null],
    ['5d', null],
    ['s', null],
  ]
  it.each(cases)('%s → %s', (text, want) => {
    const r = parseDurationMs(text)
    expect(r.ok ? r.value : null).toBe(want)
  })
})

describe('parseKey', () => {
  const good = Buffer.alloc(32, 7).toString('base64')
  it('accepts padded base64 of 32 bytes', () => {
    const r = parseKey(good)
    expect(r.ok && Buffer.from(r.value).equals(Buffer.alloc(32, 7))).toBe(true)
  })
  it('rejects a key with a stray character, which Buffer alone would skip', () => {
    expect(parseKey(good.slice(0, 10) + '!' + good.slice(10))).toMatchObject({ ok: false, error: /not valid base64/ })
  })
  it('rejects the wrong length', () => {
    expect(parseKey(Buffer.alloc(31).toString('base64'))).toMatchObject({ ok: false, error: /31 bytes, expected 32/ })
  })
  it('rejects missing padding', () => {
    expect(parseKey(good.replace(/=$/, ''))).toMatchObject({ ok: false })
  })
})

describe('extractPrivateKeyText', () => {
  it('finds the private_key line of keygen output', () => {
    expect(extractPrivateKeyText('private_key: abc=\npublic_key: xyz=\n')).toBe('abc=')
  })
  it('passes a bare key through trimmed', () => {
    expect(extractPrivateKeyText('  abc=\n')).toBe('abc=')
  })
})
