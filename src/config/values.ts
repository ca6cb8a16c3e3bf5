/**
 * Parsers for the scalar formats a config file uses: relay ids, host:port,
 * durations and base64 keys. Each returns a value or an error message, never
 * throws, so the schema can turn failures into issues with a field path.
 */
import { isIPv4, isIPv6 } from 'node:net'
import { KEY_LEN, decodeKey as decodeCryptoKey, generateKeyPair } from '../crypto/keys.js'
import { KeyFormatError } from '../crypto/errors.js'
import type { HostPort } from './types.js'

/** Relay ids and service names: short, lowercase, safe in file names and logs. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/
export { KEY_LEN }

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string }

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value })
const fail = <T>(error: string): Parsed<T> => ({ ok: false, error })

/** RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens, with at least one letter. */
const HOST_NAME = /^(?=.{1,253}$)(?!.*\.\.)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.?$/i

/** True for a host that is a DNS name rather than an IP literal. */
export function isHostName(host: string): boolean {
  return !isIPv4(host) && !isIPv6(host)
}

/**
 * A peer's endpoint: "1.2.3.4:80", "[::1]:80" or "relay.example.net:80".
 * Names are resolved when the relay starts and again on their TTL
 * (node/endpoint-names.ts); everything else must be an IP literal.
 */
export function parseEndpoint(text: string): Parsed<HostPort> {
  const literal = parseHostPort(text)
  if (literal.ok || text.startsWith('[')) return literal
  const colon = text.lastIndexOf(':')
  if (colon < 0) return literal
  const host = text.slice(0, colon)
  if (!HOST_NAME.test(host) || !/[a-z]/i.test(host)) return literal
  const port = parseHostPort(`127.0.0.1:${text.slice(colon + 1)}`)
  return port.ok ? ok({ host: host.toLowerCase().replace(/\.$/, ''), port: port.value.port }) : port
}

/**
 * "1.2.3.4:80" or "[::1]:80". Hosts must be IP literals: the daemon binds and
 * sends without DNS, so a name here would fail later and less clearly.
 */
export function parseHostPort(text: string): Parsed<HostPort> {
  let host: string
  let portText: string
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close < 0 || text[close + 1] !== ':') return fail('an IPv6 address must be written [addr]:port')
    host = text.slice(1, close)
    portText = text.slice(close + 2)
    if (!isIPv6(host)) return fail(`host "${host}" is not an IPv6 address`)
  } else {
    const colon = text.lastIndexOf(':')
    if (colon < 0) return fail('missing the ":port" part')
    host = text.slice(0, colon)
    portText = text.slice(colon + 1)
    if (isIPv6(host)) return fail('an IPv6 address must be written in brackets, [addr]:port')
    if (!isIPv4(host)) return fail(`host "${host}" is not an IPv4 address (host names are not resolved)`)
  }
  if (!/^\d{1,5}$/.test(portText)) return fail(`port "${portText}" is not a number`)
  const port = Number(portText)
  if (port < 1 || port > 65535) return fail(`port ${port} is outside 1..65535`)
  return ok({ host, port })
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`
}

/** True for the any-address, which overlaps every specific address on the same port. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::'
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * "250ms", "30s", "1.5m", "2h" → whole milliseconds. A bare number is refused:
 * whether 30 means seconds or milliseconds is exactly the mistake to prevent.
 */
export function parseDurationMs(text: string, allowZero = false): Parsed<number> {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(text.trim())
  if (!m) return fail('not a duration with a unit (ms, s, m, h)')
  const ms = Math.round(Number(m[1]) * DURATION_UNITS_MS[m[2]])
  if (!Number.isSafeInteger(ms) || ms < 0 || (ms === 0 && !allowZero)) return fail('must be a positive duration')
  return ok(ms)
}

/** 250 → "250ms", 1000 → "1s": how bounds are quoted back in messages. */
export function formatDurationMs(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`
}

/**
 * "5%", "0.5%" or a bare number 0..100. A string without "%" is refused so
 * that "0.05" (a fraction) is not silently read as 0.05 percent.
 */
export function parsePercent(value: unknown): Parsed<number> {
  let pct: number
  if (typeof value === 'number') pct = value
  else if (typeof value === 'string') {
    const m = /^(\d+(?:\.\d+)?)\s*%$/.exec(value.trim())
    if (!m) return fail(`${JSON.stringify(value)} is not a percentage like 5%`)
    pct = Number(m[1])
  } else return fail('must be a percentage like 5% or a number from 0 to 100')
  if (!Number.isFinite(pct) || pct < 0 || pct > 100) return fail(`${pct} is outside 0..100 percent`)
  return ok(pct)
}

/** A base64 X25519 key from the config (crypto/keys.ts decodeKey decodes; this turns its error into an issue). */
export function parseKey(text: string): Parsed<Uint8Array> {
  try {
    return ok(decodeCryptoKey(text, 'key'))
  } catch (err) {
    if (!(err instanceof KeyFormatError)) throw err
    return fail(err.problem === 'not_base64' ? 'key is not valid base64' : `key decodes to ${err.byteLength} bytes, expected ${KEY_LEN}`)
  }
}

export { encodeKey, publicKeyFromPrivate as publicKeyOf } from '../crypto/keys.js'
export { signPublicKeyOf } from '../crypto/column-signing.js'

/** A fresh private key, clamped as X25519 expects so it is stored in canonical form. */
export function generatePrivateKey(): Uint8Array {
  return generateKeyPair().privateKey
}

/**
 * Accepts a bare base64 key or text containing a `private_key: <b64>` line, so
 * the output of `overpass keygen` can be saved or piped as is.
 */
export function extractPrivateKeyText(text: string): string {
  const line = /^\s*private_key:\s*"?([^"\s]+)"?\s*$/m.exec(text)
  return line ? line[1] : text.trim()
}
