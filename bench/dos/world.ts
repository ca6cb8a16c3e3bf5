/**
 * The network `bench:dos` attacks: one network namespace the run creates,
 * everything on its loopback (127.0.0.0/8 is all local there, so the
 * attacker can write datagrams from any of those addresses with a raw
 * socket, and nothing leaves the namespace).
 *
 *   client 127.0.0.1 ──> ing 127.0.0.2 (victim: ingress of "game", :27015)
 *                          │ overlay :7200
 *                          ├── ex  127.0.0.3 (exit) ──> origin 127.0.0.6:9000
 *                          ├── p3  127.0.0.4 (a member relay: the legitimate peer)
 *                          └── atl 127.0.0.5 (a member relay that turned hostile)
 *   spoofed clients 127.16.0.0/12
 *
 * ing, ex and p3 are `overpass up` processes; atl is hostile-peer.js, the
 * same daemon with a hook to send crafted control messages.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { renderPeerKeys, renderRelayYaml } from '../../src/config/render.js'
import { RELAY_NODE_FLAGS } from '../../src/cli/relay-process.js'
import { encodeKey, generateKeyPair, type KeyPair } from '../../src/crypto/index.js'
import { controlRequest } from '../../src/daemon/control-server.js'
import { nsRun, nsSpawn, run, sleep, stopProcess, tryRun, type Started } from '../e2e/shell.js'

export const OVERLAY_PORT = 7200
export const SERVICE_PORT = 27015
export const ORIGIN_PORT = 9000
export const CLIENT_ADDR = '127.0.0.1'
export const ORIGIN_ADDR = '127.0.0.6'
/** Spoofed clients come from here up (many /24s, so per-prefix caps do not stop them alone). */
export const SPOOF_CLIENT_BASE = '127.16.0.0'
/**
 * The game service's flow table: an eighth of the default, so the flood
 * (2,500 spoofed clients/s, each unanswered flow kept 5 s) fills it in about
 * 3 s. A new client's flow then survives MAX_FLOWS / rate = 3.3 s before it
 * must have seen a reply (docs/security.md, Flow table floods).
 */
export const MAX_FLOWS = 8_192

export const RELAYS = { ing: '127.0.0.2', ex: '127.0.0.3', p3: '127.0.0.4', atl: '127.0.0.5' } as const
export type RelayId = keyof typeof RELAYS

const here = path.dirname(fileURLToPath(import.meta.url))
const BIN = path.resolve(here, '../../../bin/overpass.js')
const HOSTILE = path.join(here, 'hostile-peer.js')
const CPUS = '0-1'
/** How many times the hostile relay sends each crafted control message. */
export const HOSTILE_REPEAT = 20

export interface RelayRun {
  id: RelayId
  proc: Started
  config: string
  socket: string
}

export class DosWorld {
  readonly ns: string
  readonly keys: Record<RelayId, KeyPair>
  private created = false
  readonly relays = new Map<RelayId, RelayRun>()

  constructor(readonly dir: string) {
    this.ns = `opd${(process.pid % 46_656).toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`
    this.keys = { ing: generateKeyPair(), ex: generateKeyPair(), p3: generateKeyPair(), atl: generateKeyPair() }
  }

  create(): void {
    run('ip', ['netns', 'add', this.ns])
    this.created = true
    nsRun(this.ns, 'ip', ['link', 'set', 'lo', 'up'])
  }

  destroy(): void {
    if (this.created) tryRun('ip', ['netns', 'del', this.ns])
    this.created = false
  }

  spawn(name: string, cmd: string, args: string[]): Started {
    return nsSpawn(this.ns, CPUS, path.join(this.dir, `${name}.log`), cmd, args)
  }

  writeConfigs(): void {
    const ids = Object.keys(RELAYS) as RelayId[]
    const service = {
      name: 'game',
      ingress: [{ relay: 'ing', listen: `${RELAYS.ing}:${SERVICE_PORT}` }],
      origin: `${ORIGIN_ADDR}:${ORIGIN_PORT}`,
      exits: ['ex'],
      paths: [['ing', 'ex']],
      max_flows: MAX_FLOWS,
    }
    for (const id of ids) {
      const file = this.configFile(id)
      fs.writeFileSync(file, renderRelayYaml({
        id,
        privateKey: encodeKey(this.keys[id].privateKey),
        listen: `${RELAYS[id]}:${OVERLAY_PORT}`,
        controlSocket: path.join(this.dir, `${id}.sock`),
        peers: ids.filter((p) => p !== id).map((p) => ({ id: p, ...renderPeerKeys(this.keys[p].privateKey), endpoint: `${RELAYS[p]}:${OVERLAY_PORT}` })),
        services: [service],
      }, 'overpass bench:dos relay (generated; throwaway keys)'), { mode: 0o600 })
    }
  }

  configFile(id: RelayId): string {
    return path.join(this.dir, `${id}.yaml`)
  }

  async startRelay(id: RelayId): Promise<RelayRun> {
    const config = this.configFile(id)
    const args = id === 'atl' ? [HOSTILE, config, 'ing', 'ex', String(HOSTILE_REPEAT)] : [...RELAY_NODE_FLAGS, BIN, 'up', '-c', config, '--log-format', 'json']
    const proc = this.spawn(`relay-${id}-${Date.now()}`, process.execPath, args)
    const r = { id, proc, config, socket: path.join(this.dir, `${id}.sock`) }
    this.relays.set(id, r)
    await waitForLog(proc, '"relay up"', `relay ${id}`)
    return r
  }

  async stopRelay(id: RelayId): Promise<void> {
    const r = this.relays.get(id)
    if (r === undefined) return
    this.relays.delete(id)
    await stopProcess(r.proc)
  }

  /** The relay's `overpass status --json`, from its control socket. */
  async status(id: RelayId): Promise<RelayStatus> {
    return (await controlRequest(path.join(this.dir, `${id}.sock`), { cmd: 'status' }, 10_000)) as RelayStatus
  }

  alive(id: RelayId): boolean {
    const r = this.relays.get(id)
    return r !== undefined && r.proc.child.exitCode === null && r.proc.child.signalCode === null
  }

  pid(id: RelayId): number {
    const r = this.relays.get(id)
    if (r === undefined) throw new Error(`relay ${id} is not running`)
    return r.proc.pid
  }

  /** Waits until `id` has a session with every relay in `peers`. */
  async sessions(id: RelayId, peers: RelayId[], timeoutMs = 20_000): Promise<void> {
    const until = Date.now() + timeoutMs
    while (Date.now() < until) {
      const s = await this.status(id).catch(() => undefined)
      if (s !== undefined && peers.every((p) => s.peers[p]?.session === true)) return
      await sleep(100)
    }
    throw new Error(`relay ${id}: no session with ${peers.join(', ')} after ${timeoutMs / 1000} s`)
  }

  /** UDP datagrams the namespace's kernel dropped for full receive buffers (all sockets), from /proc/PID/net/snmp. */
  udpRcvbufErrors(): number {
    const text = nsRun(this.ns, 'cat', ['/proc/net/snmp'])
    const lines = text.split('\n').filter((l) => l.startsWith('Udp:'))
    if (lines.length < 2) return 0
    const names = lines[0].split(/\s+/)
    const values = lines[1].split(/\s+/)
    return Number(values[names.indexOf('RcvbufErrors')] ?? 0)
  }
}

export interface RelayStatus {
  peers: Record<string, { session?: boolean } & Record<string, unknown>>
  services: Record<string, { ingress_flows: number; exit_flows: number; drops: Record<string, number> }>
  drops: Record<string, number>
  crypto?: { total?: { cookieRepliesSent?: number; drops?: Record<string, number> } } & Record<string, unknown>
  router?: Record<string, number>
}

export async function waitForLog(p: Started, text: string, what: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (p.log().includes(text)) return
    if (p.child.exitCode !== null) break
    await sleep(50)
  }
  throw new Error(`${what} did not log ${text}:\n${p.log().slice(-3000)}`)
}

/** The ISO time of the first JSON log line with `msg` (and every field of `fields`), in ms since the epoch. */
export function logTimeMs(log: string, msg: string, fields: Record<string, string> = {}): number | undefined {
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      const rec = JSON.parse(line) as Record<string, unknown>
      if (rec.msg !== msg) continue
      if (Object.entries(fields).some(([k, v]) => rec[k] !== v)) continue
      return Date.parse(String(rec.time))
    } catch {
      // Not a log record.
    }
  }
  return undefined
}
