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
