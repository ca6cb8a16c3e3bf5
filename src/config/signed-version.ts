/**
 * Signed versions of the network file: what exactly is signed, how the
 * signature file is written, and when a relay accepts a version. Sans-IO:
 * bytes in, a verdict out; the caller reads the files and validates content.
 *
 * Signed message (docs/configuration.md, "Signing the network file"):
 *
 *   "overpass network file v1\n" || decimal(version) || "\n" || the file's exact bytes
 *
 * signed with Ed25519 (pure, no prehash). The file is signed byte for byte,
 * so no YAML canonicalisation is involved: any edit, even whitespace, needs a
 * new signature, and the version cannot be changed without one either.
 */
import { verifyDetached, OPERATOR_SIGNATURE_LEN } from '../crypto/operator-signing.js'

export const SIGNED_MESSAGE_LABEL = 'overpass network file v1\n'
/** Versions are positive safe integers, so they survive JSON and YAML unchanged. */
export const MIN_VERSION = 1

export interface SignedNetworkFile {
  version: number
  /** The network file's exact bytes. */
  bytes: Uint8Array
  signature: Uint8Array
}

export type Verdict =
  | { accept: true; version: number }
  | { accept: false; reason: 'bad_version' | 'bad_signature' | 'not_newer' | 'invalid_content'; detail: string }

export function signedMessage(version: number, bytes: Uint8Array): Uint8Array {
  const head = Buffer.from(`${SIGNED_MESSAGE_LABEL}${version}\n`, 'utf8')
  const out = new Uint8Array(head.length + bytes.length)
  out.set(head, 0)
  out.set(bytes, head.length)
  return out
}

export function isValidVersion(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= MIN_VERSION
}

/**
 * Whether to accept `candidate` while running `currentVersion` (undefined:
 * none yet). Checked in this order: version format; signature (before the
 * version comparison, so a forged or altered version is always reported as
 * such, whatever number it claims); newer than current; content last, so
 * bytes nobody signed are never parsed.
 * `validate` returns the content's problems (empty when valid).
 */
export function judgeVersion(input: {
  currentVersion: number | undefined
  candidate: SignedNetworkFile
  operatorKey: Uint8Array
  validate: (bytes: Uint8Array) => readonly string[]
}): Verdict {
  const { candidate, currentVersion } = input
  if (!isValidVersion(candidate.version)) return { accept: false, reason: 'bad_version', detail: `version ${String(candidate.version)} is not a whole number >= ${MIN_VERSION}` }
  if (candidate.signature.length !== OPERATOR_SIGNATURE_LEN || !verifyDetached(candidate.signature, signedMessage(candidate.version, candidate.bytes), input.operatorKey)) {
    return { accept: false, reason: 'bad_signature', detail: `the signature does not match version ${candidate.version} of the file and the operator key: the file, its version or its signature was altered, or it was signed with another key` }
  }
  if (currentVersion !== undefined && candidate.version <= currentVersion) {
    return { accept: false, reason: 'not_newer', detail: `version ${candidate.version} is not newer than the current version ${currentVersion}` }
  }
  const problems = input.validate(candidate.bytes)
  if (problems.length > 0) return { accept: false, reason: 'invalid_content', detail: problems.join('; ') }
  return { accept: true, version: candidate.version }
}

/** The `.sig` file next to the network file: two lines, `version: N` and `signature: BASE64`. */
export function formatSignatureFile(version: number, signature: Uint8Array): string {
  return `# overpass network sign: Ed25519 over the label, the version and network file's exact bytes\nversion: ${version}\nsignature: ${Buffer.from(signature).toString('base64')}\n`
}

export type ParsedSignature = { ok: true; version: number; signature: Uint8Array } | { ok: false; error: string }

export function parseSignatureFile(text: string): ParsedSignature {
  const version = /^version:\s*(\d{1,16})\s*$/m.exec(text)
  const sig = /^signature:\s*([A-Za-z0-9+/]+={0,2})\s*$/m.exec(text)
  if (!version) return { ok: false, error: 'no "version: N" line' }
  if (!sig) return { ok: false, error: 'no "signature: BASE64" line' }
  const signature = new Uint8Array(Buffer.from(sig[1], 'base64'))
  if (signature.length !== OPERATOR_SIGNATURE_LEN || Buffer.from(signature).toString('base64') !== sig[1]) {
    return { ok: false, error: `the signature is not base64 of ${OPERATOR_SIGNATURE_LEN} bytes` }
  }
  const v = Number(version[1])
  if (!isValidVersion(v)) return { ok: false, error: `version ${version[1]} is not a whole number from ${MIN_VERSION} to ${Number.MAX_SAFE_INTEGER}` }
  return { ok: true, version: v, signature }
}
