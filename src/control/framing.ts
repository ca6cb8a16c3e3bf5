/**
 * The control framing of the overlay: a plaintext whose kind byte
 * (wire/data.ts) is KIND_PROBE carries a probe (probe/probe-codec.ts) as
 * is; one whose kind byte is KIND_CONTROL carries a router control message
 * encoded by the strict msgpack codec (control-codec.ts).
 */
import { KIND_CONTROL, KIND_PROBE } from '../wire/data.js'

/** Writes KIND_PROBE + probe bytes into `out`; returns the framed length. */
export function frameProbe(out: Buffer, probe: Uint8Array): number {
  out[0] = KIND_PROBE
  out.set(probe, 1)
  return 1 + probe.length
}

/** Writes KIND_CONTROL + encoded body into `out`; returns the framed length. */
export function frameControl(out: Buffer, body: Buffer): number {
  out[0] = KIND_CONTROL
  body.copy(out, 1)
  return 1 + body.length
}
