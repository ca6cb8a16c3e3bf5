/**
 * Control-path errors of crypto/. The data path never throws: it returns a
 * CryptoDrop code instead (see types.ts).
 */

export type KeyProblem = 'not_base64' | 'wrong_length'

/** A key in a config file or on the command line could not be decoded. */
export class KeyFormatError extends Error {
  override readonly name = 'KeyFormatError'
  /** What the key was for, e.g. "relay.private_key" or "peers[2].public_key". */
  readonly what: string
  readonly problem: KeyProblem
  /** Decoded length in bytes when the text was valid base64. */
  readonly byteLength?: number

  constructor(what: string, problem: KeyProblem, message: string, byteLength?: number) {
    super(`${what}: ${message}`)
    this.what = what
    this.problem = problem
    this.byteLength = byteLength
  }
}

/** Bad options passed to createSecureEndpoint (a programming or config error). */
export class EndpointConfigError extends Error {
  override readonly name = 'EndpointConfigError'
  readonly field: string

  constructor(field: string, message: string) {
    super(`${field}: ${message}`)
    this.field = field
  }
}
