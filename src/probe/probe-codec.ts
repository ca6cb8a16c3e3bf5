/**
 * The probe: a fixed 48-byte binary message every relay sends to every other
 * relay each probe interval. docs/one-way-latency.md is the byte reference and
 * must change with this file. All integers and floats are big-endian.
 *
 *   0    1    2    3    4          8          12         16                   24
 *   +----+----+----+----+----------+----------+----------+--------------------+
 *   |ver |type|flag|rsvd| senderId | bootId   | seq      | txMs (f64)         |
 *   +----+----+----+----+----------+----------+----------+--------------------+
 *   24         28         32                   40                   48
 *   +----------+----------+--------------------+--------------------+
 *   | echoSeq  | echoBoot | echoTxMs (f64)     | echoRxMs (f64)     |
 *   +----------+----------+--------------------+--------------------+
 *
 * For the NTP-style exchange seen by the receiver R of a probe from S:
 *   t1 = echoTxMs  (R's clock: when R sent its probe `echoSeq`)
 *   t2 = echoRxMs  (S's clock: when S received it)
 *   t3 = txMs      (S's clock: when S sent this probe)
 *   t4 = receive time (R's clock)
 */

// Specification constants.
export const PROBE_VERSION = 1
export const PROBE_TYPE = 1
/** Bit 0 of the flags byte: the echo fields are valid (S has heard from R). */
export const PROBE_FLAG_ECHO = 0x01
/**
 * Bit 1: S probes R at its fast interval (S sends R data; probe-rate.ts), so
 * R holds the edge S -> R to the fast silence deadline.
 */
export const PROBE_FLAG_FAST = 0x02
const PROBE_FLAGS_KNOWN = PROBE_FLAG_ECHO | PROBE_FLAG_FAST

export const PROBE_OFF_VERSION = 0
export const PROBE_OFF_TYPE = 1
export const PROBE_OFF_FLAGS = 2
export const PROBE_OFF_RESERVED = 3
export const PROBE_OFF_SENDER_ID = 4
export const PROBE_OFF_BOOT_ID = 8
export const PROBE_OFF_SEQ = 12
export const PROBE_OFF_TX_MS = 16
export const PROBE_OFF_ECHO_SEQ = 24
export const PROBE_OFF_ECHO_BOOT_ID = 28
export const PROBE_OFF_ECHO_TX_MS = 32
export const PROBE_OFF_ECHO_RX_MS = 40
export const PROBE_LEN = 48

/** Decoded probe fields. One instance is reused by the decoder (no per-probe allocation). */
export interface ProbeFields {
  senderId: number
  bootId: number
  seq: number
  txMs: number
  hasEcho: boolean
  /** The sender probes us at its fast interval (PROBE_FLAG_FAST). */
  fast: boolean
  echoSeq: number
  echoBootId: number
  echoTxMs: number
  echoRxMs: number
}

export function emptyProbeFields(): ProbeFields {
  return { senderId: 0, bootId: 0, seq: 0, txMs: 0, hasEcho: false, fast: false, echoSeq: 0, echoBootId: 0, echoTxMs: 0, echoRxMs: 0 }
}

// One scratch buffer and view for the codec: probes are encoded into it and
// copied out, and copied in before decoding, so no DataView is allocated per
// probe. (Single-threaded; neither function re-enters.)
const SCRATCH = new Uint8Array(PROBE_LEN)
const SCRATCH_VIEW = new DataView(SCRATCH.buffer)

/** Writes `f` into `out` (at least PROBE_LEN bytes). */
export function encodeProbe(out: Uint8Array, f: ProbeFields): void {
  encodeProbeView(SCRATCH_VIEW, f)
  out.set(SCRATCH)
}

/** Writes `f` at offset 0 of `dv` (at least PROBE_LEN bytes): for a sender that keeps one view per buffer. */
export function encodeProbeView(dv: DataView, f: ProbeFields): void {
  dv.setUint8(PROBE_OFF_VERSION, PROBE_VERSION)
  dv.setUint8(PROBE_OFF_TYPE, PROBE_TYPE)
  dv.setUint8(PROBE_OFF_FLAGS, (f.hasEcho ? PROBE_FLAG_ECHO : 0) | (f.fast ? PROBE_FLAG_FAST : 0))
  dv.setUint8(PROBE_OFF_RESERVED, 0)
  dv.setUint32(PROBE_OFF_SENDER_ID, f.senderId >>> 0)
  dv.setUint32(PROBE_OFF_BOOT_ID, f.bootId >>> 0)
  dv.setUint32(PROBE_OFF_SEQ, f.seq >>> 0)
  dv.setFloat64(PROBE_OFF_TX_MS, f.txMs)
  dv.setUint32(PROBE_OFF_ECHO_SEQ, f.hasEcho ? f.echoSeq >>> 0 : 0)
  dv.setUint32(PROBE_OFF_ECHO_BOOT_ID, f.hasEcho ? f.echoBootId >>> 0 : 0)
  dv.setFloat64(PROBE_OFF_ECHO_TX_MS, f.hasEcho ? f.echoTxMs : 0)
  dv.setFloat64(PROBE_OFF_ECHO_RX_MS, f.hasEcho ? f.echoRxMs : 0)
}

/** Why a probe was dropped; 0 means accepted. */
export const enum ProbeDrop {
  Ok = 0,
  Length = 1,
  Version = 2,
  NonFinite = 3,
  Reserved = 4,
}

/**
 * Parses `bytes` into `out`. Returns ProbeDrop.Ok or the reason it was
 * rejected; never throws. Who sent it is checked by the caller (senderId
 * against the overlay peer).
 */
export function decodeProbe(bytes: Uint8Array, out: ProbeFields): ProbeDrop {
  if (bytes.byteLength !== PROBE_LEN) return ProbeDrop.Length
  SCRATCH.set(bytes)
  const dv = SCRATCH_VIEW
  if (dv.getUint8(PROBE_OFF_VERSION) !== PROBE_VERSION || dv.getUint8(PROBE_OFF_TYPE) !== PROBE_TYPE) return ProbeDrop.Version
  const flags = dv.getUint8(PROBE_OFF_FLAGS)
  if ((flags & ~PROBE_FLAGS_KNOWN) !== 0 || dv.getUint8(PROBE_OFF_RESERVED) !== 0) return ProbeDrop.Reserved
  out.senderId = dv.getUint32(PROBE_OFF_SENDER_ID)
  out.bootId = dv.getUint32(PROBE_OFF_BOOT_ID)
  out.seq = dv.getUint32(PROBE_OFF_SEQ)
  out.txMs = dv.getFloat64(PROBE_OFF_TX_MS)
  out.hasEcho = (flags & PROBE_FLAG_ECHO) !== 0
  out.fast = (flags & PROBE_FLAG_FAST) !== 0
  out.echoSeq = dv.getUint32(PROBE_OFF_ECHO_SEQ)
  out.echoBootId = dv.getUint32(PROBE_OFF_ECHO_BOOT_ID)
  out.echoTxMs = dv.getFloat64(PROBE_OFF_ECHO_TX_MS)
  out.echoRxMs = dv.getFloat64(PROBE_OFF_ECHO_RX_MS)
  if (!Number.isFinite(out.txMs)) return ProbeDrop.NonFinite
  if (out.hasEcho && !(Number.isFinite(out.echoTxMs) && Number.isFinite(out.echoRxMs))) return ProbeDrop.NonFinite
  return ProbeDrop.Ok
}
