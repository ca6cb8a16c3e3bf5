/**
 * Endpoint probes: how a relay learns whether a peer's spare endpoint
 * (dataplane/peer-endpoints.ts) works. The relay seals a request to the
 * peer's session as usual but sends it to the spare's address; the peer,
 * which matches us by our address and not by which of its own we used,
 * answers with the same bytes as a reply along its usual way back. So a
 * reply proves the spare carried our datagram to the peer. Its own plaintext
 * kind (KIND_ENDPOINT_PROBE), fixed layout, big-endian:
 *
 *   0 type (1 request, 2 reply) | 1 reserved (0) | 2..3 reserved (0) | 4..7 token
 *
 * A reply is exactly as long as its request. The decoder never throws: it
 * returns a negative ProbeError the receiver counts.
 */

/** Plaintext kind of an endpoint probe (byte 0; wire/data.ts has kinds 1..4, path-report.ts 5). */
export const KIND_ENDPOINT_PROBE = 6
export const ENDPOINT_PROBE_REQUEST = 1
export const ENDPOINT_PROBE_REPLY = 2
/** The body after the kind byte. */
export const ENDPOINT_PROBE_LEN = 8

const OFF_TYPE = 0
const OFF_RESERVED = 1
const OFF_TOKEN = 4

export const enum ProbeError {
  BadLength = -1,
  BadType = -2,
  Reserved = -3,
}

/** The counter suffix of each ProbeError (`endpoint_probe_malformed_<reason>`). */
export function probeErrorName(e: ProbeError): string {
  return e === ProbeError.BadLength ? 'bad_length' : e === ProbeError.BadType ? 'bad_type' : 'reserved'
}

/** Writes a request or reply body at `buf[offset..]`; returns its length. */
export function writeEndpointProbe(buf: Buffer, offset: number, type: typeof ENDPOINT_PROBE_REQUEST | typeof ENDPOINT_PROBE_REPLY, token: number): number {
  buf[offset + OFF_TYPE] = type
  buf[offset + OFF_RESERVED] = 0
  buf.writeUInt16BE(0, offset + OFF_RESERVED + 1)
  buf.writeUInt32BE(token >>> 0, offset + OFF_TOKEN)
  return ENDPOINT_PROBE_LEN
}

/** The type (1 or 2) of a well-formed body, or a negative ProbeError. */
export function endpointProbeType(body: Uint8Array): number {
  if (body.length !== ENDPOINT_PROBE_LEN) return ProbeError.BadLength
  const type = body[OFF_TYPE]
  if (type !== ENDPOINT_PROBE_REQUEST && type !== ENDPOINT_PROBE_REPLY) return ProbeError.BadType
  if (body[OFF_RESERVED] !== 0 || body[OFF_RESERVED + 1] !== 0 || body[OFF_RESERVED + 2] !== 0) return ProbeError.Reserved
  return type
}

/** The token of a well-formed body (endpointProbeType said so). */
export function endpointProbeToken(body: Uint8Array): number {
  return ((body[OFF_TOKEN] << 24) | (body[OFF_TOKEN + 1] << 16) | (body[OFF_TOKEN + 2] << 8) | body[OFF_TOKEN + 3]) >>> 0
}
