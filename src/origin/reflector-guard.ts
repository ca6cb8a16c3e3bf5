/**
 * Who the TWAMP-Light reflector answers. A reflector sends a datagram back to
 * whatever source a datagram claims, so with spoofed sources it can be aimed
 * at a victim, or at another reflector: one spoofed packet "from R1:862" to
 * R2:862 would bounce between the two for ever (the CVE-2024-2169 class).
 * Checked before the packet is parsed, in this order:
 *
 *   1. `--allow` prefixes: when any are given, other sources get nothing.
 *   2. Source port: a Session-Sender uses an ephemeral port. A source port
 *      below 1024 (TWAMP's 862, echo, chargen, DNS, NTP...) is a server that
 *      may answer, and so is our own listen port (a second reflector set up
 *      like us); answering either can start a loop.
 *   3. Rate per source address: REFLECTOR_PACKETS_PER_SECOND (burst
 *      REFLECTOR_BURST), for at most MAX_TRACKED_SOURCES addresses.
 *
 * The core (twamp-reflector.ts) then drops anything that is not a sender
 * packet with zero MBZ bytes: a reflector's own reply never is, which ends a
 * loop between reflectors whatever their ports. Sans-IO: `nowMs` is passed in.
 */
import type { Prefix } from '../l3/prefix.js'
import { ipToBytes } from '../wire/ip-address.js'

/** Source ports below this belong to servers, never to a Session-Sender. */
export const FIRST_SENDER_PORT = 1024
/** Test packets answered per second per source address (an exit probes every 10 ms at the fastest). */
export const REFLECTOR_PACKETS_PER_SECOND = 200
export const REFLECTOR_BURST = 50
/** Source addresses with a rate-limit state; a full table refuses new ones until old ones go stale. */
export const MAX_TRACKED_SOURCES = 4_096
/** A source silent this long has a full bucket again: its state can be forgotten. */
const STALE_SOURCE_MS = (REFLECTOR_BURST / REFLECTOR_PACKETS_PER_SECOND) * 1000
/** A full table is swept for stale sources at most this often (the sweep is O(table)). */
const SWEEP_EVERY_MS = 100

export type GuardDrop = 'not_allowed' | 'reflector_port' | 'rate_limited'

interface Bucket {
  tokens: number
  lastMs: number
}

export interface ReflectorGuardInit {
  /** Prefixes whose sources are answered; empty: any source. */
  allow?: Prefix[]
  /** The port the reflector listens on. */
  listenPort: number
}

export class ReflectorGuard {
  private readonly allow: Prefix[]
  private readonly listenPort: number
  private readonly sources = new Map<string, Bucket>()
  private lastSweepMs = Number.NEGATIVE_INFINITY

  constructor(init: ReflectorGuardInit) {
    this.allow = init.allow ?? []
    this.listenPort = init.listenPort
  }

  /** null if the datagram from `address`:`port` may be answered, else why not. */
  check(address: string, port: number, nowMs: number): GuardDrop | null {
    if (this.allow.length > 0 && !this.allowed(address)) return 'not_allowed'
    if (port < FIRST_SENDER_PORT || port === this.listenPort) return 'reflector_port'
    return this.take(address, nowMs) ? null : 'rate_limited'
  }

  private allowed(address: string): boolean {
    const parsed = ipToBytes(unmapped(address))
    if (parsed === undefined) return false
    for (const p of this.allow) if (p.bytes.length === parsed.bytes.length && inPrefix(parsed.bytes, p)) return true
    return false
  }

  private take(address: string, nowMs: number): boolean {
    let b = this.sources.get(address)
    if (b === undefined) {
      if (this.sources.size >= MAX_TRACKED_SOURCES && !this.sweep(nowMs)) return false
      b = { tokens: REFLECTOR_BURST, lastMs: nowMs }
      this.sources.set(address, b)
    }
    b.tokens = Math.min(REFLECTOR_BURST, b.tokens + (Math.max(0, nowMs - b.lastMs) * REFLECTOR_PACKETS_PER_SECOND) / 1000)
    b.lastMs = Math.max(b.lastMs, nowMs)
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }

  /** Forgets stale sources; true if that made room. */
  private sweep(nowMs: number): boolean {
    if (nowMs - this.lastSweepMs < SWEEP_EVERY_MS) return false
    this.lastSweepMs = nowMs
    for (const [address, b] of this.sources) if (nowMs - b.lastMs >= STALE_SOURCE_MS) this.sources.delete(address)
    return this.sources.size < MAX_TRACKED_SOURCES
  }
}

/** "::ffff:a.b.c.d" (an IPv4 sender on a dual-stack socket) as "a.b.c.d". */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}

function inPrefix(bytes: Uint8Array, p: Prefix): boolean {
  for (let bit = 0; bit < p.length; bit += 8) {
    const keep = Math.min(8, p.length - bit)
    const mask = (0xff00 >> keep) & 0xff
    if ((bytes[bit >> 3] & mask) !== p.bytes[bit >> 3]) return false
  }
  return true
}
