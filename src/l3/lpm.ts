/**
 * Longest-prefix match from destination address to owner (a relay id), for
 * L3 mode: every packet's destination is looked up to find the relay that
 * owns its prefix (the exit, or for replies the ingress that announced the
 * client prefix).
 *
 * Each family is a multibit trie with a fixed stride (4 bits by default):
 * a node has 2^stride slots, and a prefix is stored in the node where its
 * last bits fall, expanded over every slot it covers (controlled prefix
 * expansion inside one node only). A lookup walks at most 32/stride or
 * 128/stride nodes reading the address straight from the packet buffer,
 * remembering the last slot that held a prefix: no strings, no allocation.
 *
 * Memory grows with the prefixes (no 2^24 root table), which matters for
 * IPv6 where a per-length hash or a big root would not bound well.
 * Nodes live in flat typed arrays; insert/remove (control path) may grow
 * them and recycle emptied nodes. An exact Map of the stored prefixes is
 * the source of truth that removal uses to re-expand shorter prefixes.
 */
import type { IpPacket } from './ip-packet.js'
import type { Prefix } from './prefix.js'
import { formatPrefix, maskBytes } from './prefix.js'

export type Stride = 1 | 2 | 4 | 8

export const DEFAULT_STRIDE: Stride = 4
const INITIAL_NODES = 64
/** Lookups return this when no prefix covers the address. Values are u32, so it never collides. */
export const NO_MATCH = -1

/** A value that cannot be stored (values are relay ids: unsigned 32-bit integers). */
export class PrefixValueError extends Error {
  override readonly name = 'PrefixValueError'
  constructor(readonly prefix: string, readonly value: number) {
    super(`value for ${prefix} must be an unsigned 32-bit integer (a relay id), got ${value}`)
  }
}

interface Stored {
  prefix: Prefix
  value: number
}

/**
 * One family's trie. Addresses are big-endian byte strings of `bits` bits.
 *
 * Each slot is two 32-bit words side by side in one buffer, so a lookup
 * step touches one cache line: word 0 packs the child node index (<< 4) with
 * the relative length + 1 of the prefix expanded into the slot (0 = none),
 * word 1 is that prefix's value.
 */
export class StrideTrie {
  private readonly stride: number
  private readonly mask: number
  private meta: Int32Array
  private vals: Uint32Array
  /** Per node: child nodes + prefixes stored in it; 0 means the node can be freed. */
  private refs: Int32Array
  private parent: Int32Array
  private parentSlot: Int32Array
  private capacity = INITIAL_NODES
  private used = 1 // node 0 is the root and is never freed
  private readonly freeNodes: number[] = []
  private readonly stored = new Map<string, Stored>()

  constructor(readonly bits: 32 | 128, stride: Stride = DEFAULT_STRIDE) {
    this.stride = stride
    this.mask = (1 << stride) - 1
    const buffer = new ArrayBuffer((INITIAL_NODES << stride) * 8)
    this.meta = new Int32Array(buffer)
    this.vals = new Uint32Array(buffer)
    this.refs = new Int32Array(INITIAL_NODES)
    this.parent = new Int32Array(INITIAL_NODES)
    this.parentSlot = new Int32Array(INITIAL_NODES)
  }

  get size(): number {
    return this.stored.size
  }

  /** Nodes in use (root included); for tests and memory estimates. */
  get nodeCount(): number {
    return this.used - this.freeNodes.length
  }

  /** Bytes of node storage allocated (capacity, not just nodes in use). */
  get nodeBytes(): number {
    return this.meta.byteLength + this.capacity * 12
  }

  /** Value of the longest prefix covering the address at buf[off], or NO_MATCH. */
  lookup(buf: Uint8Array, off: number): number {
    const meta = this.meta
    const vals = this.vals
    const s = this.stride
    const m = this.mask
    let node = 0
    let best = NO_MATCH
    let pos = 0
    for (;;) {
      const j = ((node << s) | ((buf[off + (pos >> 3)] >> (8 - s - (pos & 7))) & m)) << 1
      const w = meta[j]
      if ((w & 15) !== 0) best = vals[j + 1]
      node = w >>> 4
      if (node === 0) return best
      pos += s
    }
  }

  /** Exact-match value of a stored prefix, or undefined. */
  get(bytes: Uint8Array, length: number): number | undefined {
    return this.stored.get(keyOf(bytes, length))?.value
  }

  entries(): { prefix: Prefix; value: number }[] {
    return [...this.stored.values()].map((e) => ({ prefix: e.prefix, value: e.value }))
  }

  /** Adds or replaces a prefix. `bytes` must have its host bits clear (parsePrefix guarantees it). */
  insert(bytes: Uint8Array, length: number, value: number): void {
    const key = keyOf(bytes, length)
    const { level, rel } = this.home(length)
    let node = 0
    for (let lv = 0; lv < level; lv++) {
      const i = (node << this.stride) | this.chunk(bytes, lv)
      let next = this.childOf(i)
      if (next === 0) {
        next = this.allocNode(node, i & this.mask)
        this.setChild(i, next)
        this.refs[node]++
      }
      node = next
    }
    if (!this.stored.has(key)) this.refs[node]++
    const family = this.bits === 32 ? 4 : 6
    this.stored.set(key, { prefix: { family, bytes: Uint8Array.from(bytes), length }, value })
    const first = (node << this.stride) | this.chunk(bytes, level)
    const span = 1 << (this.stride - rel)
    for (let i = first; i < first + span; i++) {
      // A longer prefix already expanded here wins; the same length is this prefix.
      if (this.relOf(i) <= rel) this.setPrefix(i, rel, value)
    }
  }

  /** Removes an exact prefix; returns false if it was not stored. */
  remove(bytes: Uint8Array, length: number): boolean {
    if (!this.stored.delete(keyOf(bytes, length))) return false
    const { level, rel } = this.home(length)
    let node = 0
    for (let lv = 0; lv < level; lv++) node = this.childOf((node << this.stride) | this.chunk(bytes, lv))
    // The slots this prefix covered fall back to the longest shorter prefix stored in the same node.
    let repRel = -1
    let repVal = 0
    for (let r = rel - 1; r >= (level === 0 ? 0 : 1); r--) {
      const len = level * this.stride + r
      const e = this.stored.get(keyOf(maskBytes(bytes, len), len))
      if (e) {
        repRel = r
        repVal = e.value
        break
      }
    }
    const first = (node << this.stride) | this.chunk(bytes, level)
    const span = 1 << (this.stride - rel)
    for (let i = first; i < first + span; i++) {
      if (this.relOf(i) === rel) this.setPrefix(i, repRel, repVal)
    }
    this.refs[node]--
    this.prune(node)
    return true
  }

  private childOf(slot: number): number {
    return this.meta[slot << 1] >>> 4
  }

  private setChild(slot: number, child: number): void {
    const j = slot << 1
    this.meta[j] = (child << 4) | (this.meta[j] & 15)
  }

  /** Relative length of the prefix expanded into a slot, -1 for none. */
  private relOf(slot: number): number {
    return (this.meta[slot << 1] & 15) - 1
  }

  private setPrefix(slot: number, rel: number, value: number): void {
    const j = slot << 1
    this.meta[j] = (this.meta[j] & ~15) | (rel + 1)
    this.vals[j + 1] = rel < 0 ? 0 : value
  }

  /** Node level and relative length (0..stride) where a prefix of `length` bits is stored. */
  private home(length: number): { level: number; rel: number } {
    const level = length === 0 ? 0 : Math.floor((length - 1) / this.stride)
    return { level, rel: length - level * this.stride }
  }

  private chunk(bytes: Uint8Array, level: number): number {
    const pos = level * this.stride
    return (bytes[pos >> 3] >> (8 - this.stride - (pos & 7))) & this.mask
  }

  private allocNode(parent: number, slot: number): number {
    let node = this.freeNodes.pop()
    if (node === undefined) {
      if (this.used === this.capacity) this.grow()
      node = this.used++
    }
    this.refs[node] = 0
    this.parent[node] = parent
    this.parentSlot[node] = slot
    return node
  }

  /** Frees nodes that hold neither prefixes nor children, walking up to the root. */
  private prune(node: number): void {
    while (node !== 0 && this.refs[node] === 0) {
      const parent = this.parent[node]
      this.setChild((parent << this.stride) | this.parentSlot[node], 0)
      const base = (node << this.stride) << 1
      this.meta.fill(0, base, base + (2 << this.stride))
      this.freeNodes.push(node)
      this.refs[parent]--
      node = parent
    }
  }

  private grow(): void {
    const cap = this.capacity * 2
    const buffer = new ArrayBuffer((cap << this.stride) * 8)
    const meta = new Int32Array(buffer)
    meta.set(this.meta)
    this.meta = meta
    this.vals = new Uint32Array(buffer)
    this.refs = growI32(this.refs, cap)
    this.parent = growI32(this.parent, cap)
    this.parentSlot = growI32(this.parentSlot, cap)
    this.capacity = cap
  }
}

function growI32(a: Int32Array, cap: number): Int32Array {
  const b = new Int32Array(cap)
  b.set(a)
  return b
}

function keyOf(bytes: Uint8Array, length: number): string {
  return `${length}/${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`
}

export interface PrefixTableInit {
  /** Bits consumed per trie level: 4 balances memory and lookup depth; 8 is faster and larger. */
  stride?: Stride
}

/**
 * IPv4 and IPv6 prefixes to relay ids. Lookups are allocation-free and read
 * addresses from the packet buffer; insert/remove are control-path calls.
 * Not safe to mutate while another caller looks up mid-call (single thread: fine).
 */
export class PrefixTable {
  readonly v4: StrideTrie
  readonly v6: StrideTrie

  constructor(init: PrefixTableInit = {}) {
    const stride = init.stride ?? DEFAULT_STRIDE
    this.v4 = new StrideTrie(32, stride)
    this.v6 = new StrideTrie(128, stride)
  }

  get size(): number {
    return this.v4.size + this.v6.size
  }

  insert(prefix: Prefix, value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new PrefixValueError(formatPrefix(prefix), value)
    this.trie(prefix).insert(maskBytes(prefix.bytes, prefix.length), prefix.length, value)
  }

  remove(prefix: Prefix): boolean {
    return this.trie(prefix).remove(maskBytes(prefix.bytes, prefix.length), prefix.length)
  }

  /** Exact match, for the control plane (who owns exactly this prefix?). */
  get(prefix: Prefix): number | undefined {
    return this.trie(prefix).get(maskBytes(prefix.bytes, prefix.length), prefix.length)
  }

  /** Longest match for the IPv4 address at buf[off, off + 4). */
  lookup4(buf: Uint8Array, off: number): number {
    return this.v4.lookup(buf, off)
  }

  /** Longest match for the IPv6 address at buf[off, off + 16). */
  lookup6(buf: Uint8Array, off: number): number {
    return this.v6.lookup(buf, off)
  }

  /** Longest match for a parsed packet's destination. */
  lookupDst(buf: Uint8Array, pkt: IpPacket): number {
    return pkt.version === 4 ? this.v4.lookup(buf, pkt.dstOffset) : this.v6.lookup(buf, pkt.dstOffset)
  }

  /** Longest match for a parsed packet's source (e.g. to check a reply came from a prefix the exit serves). */
  lookupSrc(buf: Uint8Array, pkt: IpPacket): number {
    return pkt.version === 4 ? this.v4.lookup(buf, pkt.srcOffset) : this.v6.lookup(buf, pkt.srcOffset)
  }

  entries(): { prefix: Prefix; value: number }[] {
    return [...this.v4.entries(), ...this.v6.entries()]
  }

  private trie(prefix: Prefix): StrideTrie {
    return prefix.family === 4 ? this.v4 : this.v6
  }
}
