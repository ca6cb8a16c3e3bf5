/**
 * The highest handshake timestamp accepted from each peer, kept in the
 * relay's state file (`relay.state_file`) across restarts. The crypto
 * endpoint refuses an initiation whose timestamp is not above the stored one;
 * kept only in memory, that value is lost on restart, and a recorded
 * initiation could then be replayed to make the relay answer and set up a
 * session again (docs/security.md, "Handshake replay after a restart").
 *
 * Writes: after an accepted initiation (about one per peer every two
 * minutes), at most one per MIN_WRITE_INTERVAL_MS, plus one on close.
 * Each writes a temporary file and renames it over the old one, so a crash
 * leaves the old or the new file, never half of one. The writes are
 * synchronous (a few hundred bytes on a control event) so that a write
 * started before close can never land after the final one. There is no
 * fsync: the file survives a crashed or restarted process; a power loss can
 * lose the last seconds of it.
 *
 * Keyed by the peer's public key (base64), so reordering or removing peers
 * in the config does not mix them up. A missing file is a first start; an
 * unreadable or malformed one is logged and treated as empty (the relay then
 * has today's in-memory protection only, instead of not starting).
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import type { SecureEndpointOptions } from '../crypto/types.js'
import type { Clock, TimerHandle, Timers } from '../io/index.js'
import type { Logger } from '../io/log.js'

/** Fewest milliseconds between two writes of the state file. */
export const MIN_WRITE_INTERVAL_MS = 1000
const FORMAT_VERSION = 1

interface StateFile {
  version: number
  /** Highest accepted initiation timestamp by peer public key (base64). */
  handshake_timestamps: Record<string, number>
}

export interface HandshakeStateDeps {
  clock: Clock
  timers: Timers
  log: Logger
}

export class HandshakeState {
  private readonly byKey: Map<string, number>
  /** Peer index → public key (base64), from the endpoint options wired in. */
  private keyOf: string[] = []
  private dirty = false
  private timer: TimerHandle | undefined
  private lastWriteMs = -Infinity
  private failing = false

  private constructor(private readonly file: string, private readonly deps: HandshakeStateDeps, loaded: Map<string, number>) {
    this.byKey = loaded
  }

  /** Reads `file` (absent: nothing stored yet). Never throws. */
  static open(file: string, deps: HandshakeStateDeps): HandshakeState {
    return new HandshakeState(file, deps, load(file, deps.log))
  }

  /** Endpoint options with the stored timestamps filled in and accepted ones recorded. */
  wire(opts: SecureEndpointOptions): SecureEndpointOptions {
    this.keyOf = []
    for (const p of opts.peers) this.keyOf[p.index] = Buffer.from(p.publicKey).toString('base64')
    const outer = opts.onTimestampAccepted
    return {
      ...opts,
      peers: opts.peers.map((p) => ({ ...p, lastTimestamp: Math.max(p.lastTimestamp ?? 0, this.stored(this.keyOf[p.index])) })),
      onTimestampAccepted: (peer, timestamp) => {
        outer?.(peer, timestamp)
        this.accepted(peer, timestamp)
      },
    }
  }

  /** The stored timestamp of a peer key, 0 when none. */
  stored(key: string): number {
    return this.byKey.get(key) ?? 0
  }

  private accepted(peer: number, timestamp: number): void {
    const key = this.keyOf[peer]
    if (key === undefined || timestamp <= this.stored(key)) return
    this.byKey.set(key, timestamp)
    this.dirty = true
    if (this.timer !== undefined) return
    const waitMs = Math.max(0, this.lastWriteMs + MIN_WRITE_INTERVAL_MS - this.deps.clock.nowMs())
    this.timer = this.deps.timers.setTimeout(() => {
      this.timer = undefined
      this.write()
    }, waitMs)
  }

  /** Writes what is pending and stops the timer (daemon stop). */
  close(): void {
    if (this.timer !== undefined) this.deps.timers.clearTimeout(this.timer)
    this.timer = undefined
    this.write()
  }

  private write(): void {
    if (!this.dirty) return
    this.dirty = false
    this.lastWriteMs = this.deps.clock.nowMs()
    const known = new Set(this.keyOf)
    const state: StateFile = {
      version: FORMAT_VERSION,
      // Only configured peers: a removed peer's entry goes with it.
      handshake_timestamps: Object.fromEntries([...this.byKey].filter(([k]) => known.has(k)).sort()),
    }
    const tmp = `${this.file}.${process.pid}.tmp`
    try {
      writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 })
      renameSync(tmp, this.file)
      if (this.failing) this.deps.log.info('state file written again', { file: this.file })
      this.failing = false
    } catch (err) {
      rmSync(tmp, { force: true })
      // Logged once per run of failures; the next accepted handshake retries.
      if (!this.failing) this.deps.log.warn('cannot write the state file; handshake timestamps are kept in memory only', { file: this.file, error: (err as Error).message })
      this.failing = true
      this.dirty = true
    }
  }
}

function load(file: string, log: Logger): Map<string, number> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn('cannot read the state file; starting without stored handshake timestamps', { file, error: (err as Error).message })
    return new Map()
  }
  const parsed = parseState(text)
  if (parsed === undefined) log.warn('state file is malformed; starting without stored handshake timestamps', { file })
  return parsed ?? new Map()
}

/** The timestamps of a state file, or undefined when it is not one. */
export function parseState(text: string): Map<string, number> | undefined {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof raw !== 'object' || raw === null || (raw as StateFile).version !== FORMAT_VERSION) return undefined
  const stamps = (raw as StateFile).handshake_timestamps
  if (typeof stamps !== 'object' || stamps === null || Array.isArray(stamps)) return undefined
  const out = new Map<string, number>()
  for (const [key, value] of Object.entries(stamps)) {
    if (!Number.isSafeInteger(value) || value < 0) return undefined
    out.set(key, value)
  }
  return out
}
