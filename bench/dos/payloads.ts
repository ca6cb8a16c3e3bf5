/**
 * The attacker's datagrams for `npm run bench:dos`, built with what an
 * attacker has: the victim's public key (it is in every peer's config) and
 * nothing else. Written to files of [u16 BE length][bytes] records that
 * dosgen.c sends in turn.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import { generateKeyPair, selectAead, sodiumDh, tweetnaclDh } from '../../src/crypto/index.js'
import { createInitiation, INIT_LEN, INIT_OFF_MAC1, localIdentity, remoteIdentity } from '../../src/crypto/handshake.js'
import { hash, mac1 } from '../../src/crypto/kdf.js'
import { MSG_HANDSHAKE_INIT, MSG_TRANSPORT, OFF_COUNTER, OFF_RECEIVER, OFF_TYPE, TRANSPORT_OVERHEAD, WIRE_VERSION } from '../../src/wire/outer.js'

const MAC1_LABEL = Buffer.from('mac1----', 'ascii')

/** Random fields, the right header and a valid mac1: a spoofed initiation that passes the first gate. */
export function forgedInitiation(victimPublic: Uint8Array): Buffer {
  const msg = randomBytes(INIT_LEN)
  msg[0] = WIRE_VERSION
  msg[OFF_TYPE] = MSG_HANDSHAKE_INIT
  msg[2] = msg[3] = 0
  mac1(hash(MAC1_LABEL, victimPublic), msg, INIT_OFF_MAC1).copy(msg, INIT_OFF_MAC1)
  return msg
}

/** A well-formed initiation from a static key the victim does not know. */
export function unknownKeyInitiation(victimPublic: Uint8Array): Buffer {
  const dh = sodiumDh() ?? tweetnaclDh
  const stranger = generateKeyPair()
  const local = localIdentity(stranger.privateKey, stranger.publicKey)
  const init = createInitiation({ aead: selectAead('auto'), dh }, local, remoteIdentity(dh, local, victimPublic), randomBytes(4).readUInt32BE(0), generateKeyPair().privateKey, Date.now() * 1000)
  if (init === null) throw new Error('could not build an initiation')
  return init.msg
}

/** A transport packet sealed under keys the victim never agreed: a random receiver index and counter. */
export function unknownKeyTransport(payloadLen = 64): Buffer {
  const msg = randomBytes(TRANSPORT_OVERHEAD + payloadLen)
  msg[0] = WIRE_VERSION
  msg[OFF_TYPE] = MSG_TRANSPORT
  msg[2] = msg[3] = 0
  msg.writeUInt32BE(randomBytes(4).readUInt32BE(0), OFF_RECEIVER)
  msg.writeUInt32BE(0, OFF_COUNTER)
  return msg
}

/**
 * Malformed datagrams, one of each shape in turn: empty, a byte, random
 * bytes, a wrong version, an unknown type, each handshake type at a wrong
 * length, a transport packet shorter than its header and tag.
 */
export function malformedDatagrams(count: number): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; out.length < count; i++) {
    const shape = i % 8
    let b: Buffer
    if (shape === 0) b = Buffer.alloc(0)
    else if (shape === 1) b = randomBytes(1)
    else if (shape === 2) b = randomBytes(1 + (i % 1400))
    else if (shape === 3) b = withHeader(randomBytes(100), 7, MSG_TRANSPORT)
    else if (shape === 4) b = withHeader(randomBytes(100), WIRE_VERSION, 9 + (i % 200))
    else if (shape === 5) b = withHeader(randomBytes(INIT_LEN - 1 - (i % 50)), WIRE_VERSION, 1 + (i % 4))
    else if (shape === 6) b = withHeader(randomBytes(INIT_LEN + 1 + (i % 50)), WIRE_VERSION, 1 + (i % 2))
    else b = withHeader(randomBytes(4 + (i % (TRANSPORT_OVERHEAD - 4))), WIRE_VERSION, MSG_TRANSPORT)
    out.push(b)
  }
  return out
}

function withHeader(b: Buffer, version: number, type: number): Buffer {
  if (b.length > 0) b[0] = version
  if (b.length > 1) b[OFF_TYPE] = type
  return b
}

/** Records in dosgen's PAYLOADS format. */
export function encodePayloads(list: Uint8Array[]): Buffer {
  const parts: Buffer[] = []
  for (const p of list) {
    const h = Buffer.alloc(2)
    h.writeUInt16BE(p.length)
    parts.push(h, Buffer.from(p))
  }
  return Buffer.concat(parts)
}

export function decodePayloads(buf: Buffer): Buffer[] {
  const out: Buffer[] = []
  for (let off = 0; off + 2 <= buf.length; ) {
    const len = buf.readUInt16BE(off)
    if (off + 2 + len > buf.length) break
    out.push(buf.subarray(off + 2, off + 2 + len))
    off += 2 + len
  }
  return out
}

export function writePayloads(file: string, list: Uint8Array[]): void {
  fs.writeFileSync(file, encodePayloads(list))
}

/** Interleaves lists (a, b, c, a, b, c, ...) so each kind arrives at the same rate. */
export function interleave<T>(...lists: T[][]): T[] {
  const out: T[] = []
  const n = Math.max(...lists.map((l) => l.length))
  for (let i = 0; i < n; i++) for (const l of lists) if (l.length > 0) out.push(l[i % l.length])
  return out
}
