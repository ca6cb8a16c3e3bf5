/**
 * The outer header of every overlay datagram (cleartext, 16 bytes for
 * transport packets). Offsets are named constants; docs/wire-format.md is the
 * byte-by-byte reference and must change with this file.
 *
 *   0      1      2      3      4              8                       16
 *   +------+------+------+------+--------------+-----------------------+
 *   | ver  | type | rsvd (0)    | receiver idx | counter (u64 BE)      |
 *   +------+------+------+------+--------------+-----------------------+
 *
 * Transport packets are followed by the XSalsa20-Poly1305 ciphertext (16-byte
 * tag first, as NaCl secretbox lays it out). The 24-byte nonce is these 16
 * header bytes followed by 8 zero bytes, so every header bit is authenticated:
 * altering any of them makes the tag check fail.
 */

export const WIRE_VERSION = 1

/** Outer message types (byte 1). */
export const MSG_HANDSHAKE_INIT = 1
export const MSG_HANDSHAKE_RESP = 2
export const MSG_TRANSPORT = 3
/** Sent instead of a response by a responder under load (crypto/cookie.ts). */
export const MSG_COOKIE_REPLY = 4

export const OFF_VERSION = 0
export const OFF_TYPE = 1
export const OFF_RESERVED = 2
export const OFF_RECEIVER = 4
export const OFF_COUNTER = 8

/** Bytes of cleartext header on a transport packet. */
export const OUTER_HEADER_LEN = 16
/** Poly1305 tag bytes added by sealing. */
export const AEAD_TAG_LEN = 16
/** Total per-hop cryptographic overhead of a transport packet. */
export const TRANSPORT_OVERHEAD = OUTER_HEADER_LEN + AEAD_TAG_LEN
/** Nonce length of XSalsa20-Poly1305 (NaCl secretbox). */
export const NONCE_LEN = 24

/**
 * Lanes: a relay with several workers gives each flow a lane, and every relay
 * on the path handles lane L in its worker L mod N (the kernel steers by the
 * lane byte, see io/native-udp.ts laneSteering). The lane is the top 16 bits
 * of the 64-bit counter, so the per-lane counter has 48 bits:
 *
 *   counter = lane * 2^48 + n      (n counts packets on that lane, from 0)
 *
 * Each lane is sealed by exactly one worker per relay, so (key, lane, n)
 * never repeats across threads. Lane 0 is the single-worker relay's only
 * lane: its counters are what version 1 always sent.
 */
export const MAX_LANES = 32
/** Byte of the outer header holding the lane (the low byte of the counter's top 16 bits). */
export const OFF_LANE = OFF_COUNTER + 1
/** Packets per lane and key pair: n stays below this. */
export const LANE_COUNTER_LIMIT = 2 ** 48
