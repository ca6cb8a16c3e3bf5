/**
 * Sealing and opening of transport packets, shared by the full endpoint
 * (secure-endpoint.ts, which also runs handshakes) and the lane endpoint of
 * extra workers (lane-endpoint.ts, which only gets keys). Owns the
 * preallocated output and plaintext buffers, so neither path allocates.
 */
import {
  AEAD_TAG_LEN,
  MAX_LANES,
  MSG_TRANSPORT,
  OFF_COUNTER,
  OFF_RECEIVER,
  OFF_RESERVED,
  OFF_TYPE,
  OFF_VERSION,
  OUTER_HEADER_LEN,
  TRANSPORT_OVERHEAD,
  WIRE_VERSION,
} from '../wire/outer.js'
import type { Aead } from './aead.js'
import type { Keypair } from './keypair.js'
import { CryptoDrop } from './types.js'
import { ViewCache } from './view-cache.js'

const U32 = 0x100000000
const LANE_UNIT = 0x10000

export interface KeyLimits {
  rejectAfterMs: number
  rejectAfterPackets: number
}

export class TransportCodec {
  readonly out: Buffer
  readonly plain: Buffer
  /** Lane of the last packet `open` accepted (or looked at). */
  lane = 0
  private readonly sealViews: ViewCache
  private readonly plainViews: ViewCache
  private readonly nonce = Buffer.alloc(24)
  /** Ciphertext views into the receive buffer last seen twice in a row (see cipherView). */
  private cipherBase: ArrayBufferLike | undefined
  private cipherOffset = -1
  private cipherViews: ViewCache | undefined
  private seenBase: ArrayBufferLike | undefined
  private seenOffset = -1

  constructor(private readonly aead: Aead, maxPacketBytes: number) {
    this.out = Buffer.alloc(maxPacketBytes)
    this.plain = Buffer.alloc(maxPacketBytes - TRANSPORT_OVERHEAD)
    this.sealViews = new ViewCache(this.out, OUTER_HEADER_LEN)
    this.plainViews = new ViewCache(this.plain, 0)
  }

  /** plain[0, length): a cached view, so forwarding `plain` itself allocates nothing. */
  plainView(length: number): Buffer {
    return this.plainViews.get(length)
  }

  /**
   * data[OUTER_HEADER_LEN, length) without a new view per packet: the
   * batched socket delivers every datagram at the same place of one receive
   * buffer, so once a base (ArrayBuffer and offset) shows up twice in a row
   * its views are cached per length. A socket that hands out a fresh Buffer
   * per datagram (node:dgram) never repeats a base and just gets subarray.
   * Same bytes either way: the caller checked length <= data.length.
   */
  private cipherView(data: Buffer, length: number): Buffer {
    const base = data.buffer
    const offset = data.byteOffset
    if (base === this.cipherBase && offset === this.cipherOffset) return this.cipherViews!.get(length - OUTER_HEADER_LEN)
    if (base === this.seenBase && offset === this.seenOffset) {
      this.cipherBase = base
      this.cipherOffset = offset
      this.cipherViews = new ViewCache(Buffer.from(base, offset, base.byteLength - offset), OUTER_HEADER_LEN)
      return this.cipherViews.get(length - OUTER_HEADER_LEN)
    }
    this.seenBase = base
    this.seenOffset = offset
    return data.subarray(OUTER_HEADER_LEN, length)
  }

  /** True if `length` bytes of `plain` can be sealed on `lane`. */
  fits(plain: Buffer, length: number, lane: number): boolean {
    return length >= 0 && length <= this.plain.length && length <= plain.length && lane >= 0 && lane < MAX_LANES
  }

  /** Header, nonce and seal of `plain` (exactly the payload) into `out`; returns the datagram length. */
  seal(kp: Keypair, lane: number, plain: Uint8Array): number {
    const out = this.out
    const n = kp.nextCounter(lane)
    out[OFF_VERSION] = WIRE_VERSION
    out[OFF_TYPE] = MSG_TRANSPORT
    out[OFF_RESERVED] = 0
    out[OFF_RESERVED + 1] = 0
    out.writeUInt32BE(kp.remoteIndex, OFF_RECEIVER)
    out.writeUInt32BE(lane * LANE_UNIT + Math.floor(n / U32), OFF_COUNTER)
    out.writeUInt32BE(n >>> 0, OFF_COUNTER + 4)
    for (let i = 0; i < OUTER_HEADER_LEN; i++) this.nonce[i] = out[i]
    this.aead.seal(this.sealViews.get(plain.length + AEAD_TAG_LEN), plain, this.nonce, kp.sendKey)
    return plain.length + TRANSPORT_OVERHEAD
  }

  /**
   * Limits, replay pre-check, open into `plain`, replay update (only after the
   * tag verified). The caller has checked version, type and reserved bytes
   * and found `kp` by the receiver index. Returns the plaintext length or a
   * CryptoDrop code; `lane` is the packet's lane either way.
   */
  open(kp: Keypair, nowMs: number, data: Buffer, length: number, limits: KeyLimits): number {
    const plainLen = length - TRANSPORT_OVERHEAD
    if (plainLen < 0 || plainLen > this.plain.length) return CryptoDrop.Malformed
    const hi = data.readUInt32BE(OFF_COUNTER)
    const lane = Math.floor(hi / LANE_UNIT)
    this.lane = lane
    if (lane >= MAX_LANES) return CryptoDrop.Malformed
    const n = (hi % LANE_UNIT) * U32 + data.readUInt32BE(OFF_COUNTER + 4)
    if (nowMs - kp.createdMs >= limits.rejectAfterMs || n >= limits.rejectAfterPackets) return CryptoDrop.Expired
    const replay = kp.replayFor(lane)
    if (!replay.check(n)) return CryptoDrop.Replay
    for (let i = 0; i < OUTER_HEADER_LEN; i++) this.nonce[i] = data[i]
    if (!this.aead.open(this.plainViews.get(plainLen), this.cipherView(data, length), this.nonce, kp.receiveKey)) {
      return CryptoDrop.AuthFailed
    }
    if (!replay.update(n)) return CryptoDrop.Replay
    return plainLen
  }
}

/** A keypair may still send: younger than the age limit, under the packet limit. */
export function keyUsable(kp: Keypair, nowMs: number, limits: KeyLimits): boolean {
  return nowMs - kp.createdMs < limits.rejectAfterMs && kp.sendCounter < limits.rejectAfterPackets
}

/** The checks every datagram passes before its type is looked at: 0 if fine, else the drop code. */
export function outerHeaderDrop(data: Buffer, length: number): number {
  if (!(length >= OUTER_HEADER_LEN / 2 && length <= data.length)) return CryptoDrop.Malformed
  if (data[OFF_VERSION] !== WIRE_VERSION) return CryptoDrop.BadVersion
  if (data[OFF_RESERVED] !== 0 || data[OFF_RESERVED + 1] !== 0) return CryptoDrop.Malformed
  return 0
}
