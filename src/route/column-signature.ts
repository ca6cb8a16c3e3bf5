/**
 * The canonical encoding of a map update: the bytes its origin relay signs
 * and every receiver verifies (docs/wire-format.md, "Signed map columns").
 *
 * It is not the msgpack the update travels in: msgpack has several
 * spellings of one value (an integer as fixint or uint32, -0 as an integer
 * 0), so relays that decode and re-encode a column could change its bytes.
 * This encoding is built from the validated fields only, one spelling per
 * value, so a relay can pass a column on without the signature breaking,
 * and a receiver verifies exactly what it is about to apply.
 */
import { E_FROM, O_METHOD, O_SERVICE } from './control-message.js'
import type { EdgeTuple, MapUpdate, OriginTuple } from './control-message.js'

/** Domain label, so a column signature can never be taken for a signature of anything else. */
export const COLUMN_SIGNATURE_LABEL = 'overpass map column v1\0'

const LABEL_BYTES = Buffer.from(COLUMN_SIGNATURE_LABEL, 'latin1')
const U32 = 0x1_0000_0000

/**
 * Bytes of `u`'s canonical encoding. `u` must have passed parseMapUpdate
 * and checkEdges (the names are known relays and services, every number
 * finite). Layout, all integers big-endian, floats IEEE-754 binary64 with
 * -0 written as +0:
 *
 *   label "overpass map column v1\0" | str origin | u32 boot | u64 seq |
 *   u8 full (0 false, 1 true, 2 absent) |
 *   u16 edge count | per edge: str from, f64 pseudo, f64 minPseudo, opt theta, opt rtt, f64 jitter, f64 loss, u8 up |
 *   u16 origin count | per origin: str service, u8 method (1 twamp, 2 icmp), f64 fwd, f64 rev, opt theta, opt rtt,
 *                      f64 jitter, f64 loss, u8 up
 *
 * where str is u16 byte length + UTF-8 and opt is u8 0 (null) or u8 1 + f64.
 */
export function canonicalColumn(u: MapUpdate): Uint8Array {
  const w = new Writer(LABEL_BYTES.length + 32 + u.edges.length * 64 + u.origins.length * 72)
  w.bytes(LABEL_BYTES)
  w.str(u.origin)
  w.u32(u.boot)
  w.u32(Math.floor(u.seq / U32))
  w.u32(u.seq % U32)
  w.u8(u.full === false ? 0 : u.full === true ? 1 : 2)
  w.u16(u.edges.length)
  for (const e of u.edges) edge(w, e)
  w.u16(u.origins.length)
  for (const o of u.origins) origin(w, o)
  return w.done()
}

function edge(w: Writer, e: EdgeTuple): void {
  w.str(e[E_FROM])
  w.f64(e[1])
  w.f64(e[2])
  w.opt(e[3])
  w.opt(e[4])
  w.f64(e[5])
  w.f64(e[6])
  w.u8(e[7] ? 1 : 0)
}

function origin(w: Writer, o: OriginTuple): void {
  w.str(o[O_SERVICE])
  w.u8(o[O_METHOD] === 'twamp' ? 1 : 2)
  w.f64(o[2])
  w.f64(o[3])
  w.opt(o[4])
  w.opt(o[5])
  w.f64(o[6])
  w.f64(o[7])
  w.u8(o[8] ? 1 : 0)
}

/** A growable big-endian byte writer. */
class Writer {
  private buf: Buffer
  private p = 0

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size)
  }

  private room(n: number): void {
    if (this.p + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.p + n))
    this.buf.copy(next, 0, 0, this.p)
    this.buf = next
  }

  bytes(b: Uint8Array): void {
    this.room(b.length)
    this.buf.set(b, this.p)
    this.p += b.length
  }

  str(s: string): void {
    const n = Buffer.byteLength(s, 'utf8')
    this.u16(n)
    this.room(n)
    this.p += this.buf.write(s, this.p, 'utf8')
  }

  u8(x: number): void {
    this.room(1)
    this.buf[this.p++] = x
  }

  u16(x: number): void {
    this.room(2)
    this.buf.writeUInt16BE(x, this.p)
    this.p += 2
  }

  u32(x: number): void {
    this.room(4)
    this.buf.writeUInt32BE(x >>> 0, this.p)
    this.p += 4
  }

  f64(x: number): void {
    this.room(8)
    // -0 and +0 are one value to every receiver; msgpack writes -0 as the integer 0.
    this.buf.writeDoubleBE(x === 0 ? 0 : x, this.p)
    this.p += 8
  }

  opt(x: number | null): void {
    if (x === null) this.u8(0)
    else {
      this.u8(1)
      this.f64(x)
    }
  }

  done(): Uint8Array {
    return this.buf.subarray(0, this.p)
  }
}
