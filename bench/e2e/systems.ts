/**
 * The systems under test, each started on the same namespace line and
 * addressed by the client the same way: a target host:port in ing (or the
 * origin itself for the kernel and wireguard-go, which route, not proxy).
 *
 *   kernel          ip_forward in ing, tr, ex
 *   node_forwarder  a bare dgram forwarder in ing, tr, ex
 *   wireguard_go    tunnels ing<->tr and tr<->ex; tr decrypts and re-encrypts
 *   overpass        relays ing (ingress) -> tr (transit) -> ex (exit), path pinned
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { renderPeerKeys, renderRelayYaml } from '../../src/config/render.js'
import { RELAY_NODE_FLAGS } from '../../src/cli/relay-process.js'
import { encodeKey, generateKeyPair } from '../../src/crypto/index.js'
import type { NetnsLine } from './netns.js'
import { nsRun, nsSpawn, run, sleep, stopProcess, tryRun, type Started } from './shell.js'

export const ORIGIN_PORT = 9000
const FORWARDER_PORT = 7100
const OVERLAY_PORT = 7200
const SERVICE_PORT = 27015
const WG_PORT = 51820

export type SystemName = 'kernel' | 'node_forwarder' | 'wireguard_go' | 'overpass' | 'overpass_baseline' | 'overpass_transit'

export interface RelayProc {
  role: 'ingress' | 'transit' | 'exit'
  proc: Started
}

export interface RunningSystem {
  name: SystemName
  target: { host: string; port: number }
  relays: RelayProc[]
  stop: () => Promise<void>
}

export interface SystemContext {
  line: NetnsLine
  dir: string
  relayCpus: string
  /** node flags for the relay processes (e.g. --cpu-prof). */
  nodeFlags: string[]
  /** Another checkout (built) whose relays run as `overpass_baseline`, for before/after in one run. */
  baselineDir?: string
}

const here = path.dirname(fileURLToPath(import.meta.url))
export const BIN = path.resolve(here, '../../../bin/overpass.js')
const FORWARDER = path.join(here, 'node-forwarder.js')

async function waitForLog(p: Started, text: string, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (p.log().includes(text)) return
    if (p.child.exitCode !== null) break
    await sleep(50)
  }
  throw new Error(`${what} did not start:\n${p.log().slice(-2000)}`)
}

async function stopAll(relays: RelayProc[]): Promise<void> {
  await Promise.all(relays.map((r) => stopProcess(r.proc)))
}

export async function startKernel(ctx: SystemContext): Promise<RunningSystem> {
  ctx.line.useKernelRoutes()
  return {
    name: 'kernel',
    target: { host: ctx.line.addr(3, 2), port: ORIGIN_PORT },
    relays: [],
    stop: async () => ctx.line.clearSystemRoutes(),
  }
}

export async function startNodeForwarder(ctx: SystemContext): Promise<RunningSystem> {
  const l = ctx.line
  const spec: [RelayProc['role'], 'ing' | 'tr' | 'ex', string, string, number][] = [
    ['ingress', 'ing', '0.0.0.0', l.addr(1, 2), FORWARDER_PORT],
    ['transit', 'tr', '0.0.0.0', l.addr(2, 2), FORWARDER_PORT],
    ['exit', 'ex', '0.0.0.0', l.addr(3, 2), ORIGIN_PORT],
  ]
  const relays: RelayProc[] = []
  try {
    for (const [role, ns, listen, up, upPort] of spec) {
      const proc = nsSpawn(l.name(ns), ctx.relayCpus, path.join(ctx.dir, `fwd-${ns}.log`), process.execPath, [
        ...ctx.nodeFlags, FORWARDER, listen, String(FORWARDER_PORT), up, String(upPort),
      ])
      relays.push({ role, proc })
      await waitForLog(proc, 'forwarder up', `node forwarder in ${ns}`)
    }
  } catch (err) {
    await stopAll(relays)
    throw err
  }
  return { name: 'node_forwarder', target: { host: l.addr(0, 2), port: FORWARDER_PORT }, relays, stop: () => stopAll(relays) }
}

/** True when wireguard-go and wg are present, installing them with apt-get if they are not. */
export function ensureWireguard(log: (line: string) => void): boolean {
  const have = (): boolean => tryRun('sh', ['-c', 'command -v wireguard-go && command -v wg'])
  if (have()) return true
  log('installing wireguard-go and wireguard-tools (apt-get) ...')
  tryRun('sh', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y wireguard-go wireguard-tools >/dev/null 2>&1'])
  return have()
}

export async function startWireguard(ctx: SystemContext): Promise<RunningSystem> {
  const l = ctx.line
  const ifName = (s: string): string => `opw${l.tag}${s}`
  const keys = Object.fromEntries(['a', 'b1', 'b2', 'c'].map((s) => {
    const priv = run('wg', ['genkey']).trim()
    return [s, { priv, pub: run('wg', ['pubkey'], priv + '\n').trim() }]
  })) as Record<'a' | 'b1' | 'b2' | 'c', { priv: string; pub: string }>
  // Interface, namespace, tunnel address, listen port, peer: key, endpoint, allowed IPs.
  const tunnels: { s: 'a' | 'b1' | 'b2' | 'c'; ns: 'ing' | 'tr' | 'ex'; role: RelayProc['role']; ip: string; port: number; peer: 'a' | 'b1' | 'b2' | 'c'; endpoint: string; allowed: string }[] = [
    { s: 'a', ns: 'ing', role: 'ingress', ip: l.tunnelAddr(1), port: WG_PORT, peer: 'b1', endpoint: `${l.addr(1, 2)}:${WG_PORT}`, allowed: `${l.subnet(3)},${l.tunnelAddr(2)}/32` },
    { s: 'b1', ns: 'tr', role: 'transit', ip: l.tunnelAddr(2), port: WG_PORT, peer: 'a', endpoint: `${l.addr(1, 1)}:${WG_PORT}`, allowed: `${l.subnet(0)},${l.tunnelAddr(1)}/32` },
    { s: 'b2', ns: 'tr', role: 'transit', ip: l.tunnelAddr(3), port: WG_PORT + 1, peer: 'c', endpoint: `${l.addr(2, 2)}:${WG_PORT}`, allowed: `${l.subnet(3)},${l.tunnelAddr(4)}/32` },
    { s: 'c', ns: 'ex', role: 'exit', ip: l.tunnelAddr(4), port: WG_PORT, peer: 'b2', endpoint: `${l.addr(2, 1)}:${WG_PORT + 1}`, allowed: `${l.subnet(0)},${l.tunnelAddr(3)}/32` },
  ]
  const relays: RelayProc[] = []
  try {
    for (const t of tunnels) {
      const ns = l.name(t.ns)
      const dev = ifName(t.s)
      const proc = nsSpawn(ns, ctx.relayCpus, path.join(ctx.dir, `wg-${dev}.log`), 'wireguard-go', ['-f', dev], { GOMAXPROCS: '2' })
      relays.push({ role: t.role, proc })
      const until = Date.now() + 10_000
      while (!tryRun('ip', ['netns', 'exec', ns, 'wg', 'show', dev])) {
        if (Date.now() > until || proc.child.exitCode !== null) throw new Error(`wireguard-go ${dev} did not start: ${proc.log()}`)
        await sleep(50)
      }
      const keyFile = path.join(ctx.dir, `${dev}.key`)
      fs.writeFileSync(keyFile, keys[t.s].priv + '\n', { mode: 0o600 })
      nsRun(ns, 'wg', ['set', dev, 'private-key', keyFile, 'listen-port', String(t.port), 'peer', keys[t.peer].pub, 'endpoint', t.endpoint, 'allowed-ips', t.allowed])
      nsRun(ns, 'ip', ['addr', 'add', `${t.ip}/32`, 'dev', dev])
      nsRun(ns, 'ip', ['link', 'set', dev, 'up'])
    }
    l.useDevRoutes({ ing: ifName('a'), trToIng: ifName('b1'), trToEx: ifName('b2'), ex: ifName('c') })
  } catch (err) {
    await stopAll(relays)
    l.clearSystemRoutes()
    throw err
  }
  const stop = async (): Promise<void> => {
    await stopAll(relays)
    l.clearSystemRoutes()
    for (const t of tunnels) fs.rmSync(`/var/run/wireguard/${ifName(t.s)}.sock`, { force: true })
  }
  return { name: 'wireguard_go', target: { host: l.addr(3, 2), port: ORIGIN_PORT }, relays, stop }
}

export async function startOverpass(ctx: SystemContext, baseline = false): Promise<RunningSystem> {
  const l = ctx.line
  const bin = baseline ? path.resolve(ctx.baselineDir ?? '.', 'bin/overpass.js') : BIN
  const tag = baseline ? 'baseline-' : ''
  const ids = ['ing', 'tr', 'ex'] as const
  const roles: Record<(typeof ids)[number], RelayProc['role']> = { ing: 'ingress', tr: 'transit', ex: 'exit' }
  // How each relay reaches each other one (tr forwards between k1 and k2 for the ing<->ex mesh edge).
  const endpoint: Record<string, string> = {
    'ing>tr': l.addr(1, 2), 'ing>ex': l.addr(2, 2),
    'tr>ing': l.addr(1, 1), 'tr>ex': l.addr(2, 2),
    'ex>ing': l.addr(1, 1), 'ex>tr': l.addr(2, 1),
  }
  const keys = Object.fromEntries(ids.map((id) => [id, generateKeyPair()]))
  const service = {
    name: 'game',
    ingress: [{ relay: 'ing', listen: `${l.addr(0, 2)}:${SERVICE_PORT}` }],
    origin: `${l.addr(3, 2)}:${ORIGIN_PORT}`,
    exits: ['ex'],
    paths: [['ing', 'tr', 'ex']],
    // The flows check opens 10k flows from one load-generator address: lift the per-/24 cap.
    max_flows_per_prefix: 65_536,
  }
  const relays: RelayProc[] = []
  try {
    for (const id of ids) {
      const file = path.join(ctx.dir, `${tag}${id}.yaml`)
      fs.writeFileSync(file, renderRelayYaml({
        id,
        privateKey: encodeKey(keys[id].privateKey),
        listen: `0.0.0.0:${OVERLAY_PORT}`,
        controlSocket: path.join(ctx.dir, `${tag}${id}.sock`),
        peers: ids.filter((p) => p !== id).map((p) => ({ id: p, ...renderPeerKeys(keys[p].privateKey), endpoint: `${endpoint[`${id}>${p}`]}:${OVERLAY_PORT}` })),
        services: [service],
      }, 'overpass bench:e2e relay (generated; throwaway keys)'), { mode: 0o600 })
      const proc = nsSpawn(l.name(id), ctx.relayCpus, path.join(ctx.dir, `overpass-${tag}${id}.log`), process.execPath, [
        ...RELAY_NODE_FLAGS, ...ctx.nodeFlags, bin, 'up', '-c', file, '--log-format', 'json',
      ])
      relays.push({ role: roles[id], proc })
      await waitForLog(proc, '"relay up"', `overpass relay ${id}`)
    }
  } catch (err) {
    await stopAll(relays)
    throw err
  }
  return { name: baseline ? 'overpass_baseline' : 'overpass', target: { host: l.addr(0, 2), port: SERVICE_PORT }, relays, stop: () => stopAll(relays) }
}

export const STARTERS: Record<SystemName, (ctx: SystemContext) => Promise<RunningSystem>> = {
  kernel: startKernel,
  node_forwarder: startNodeForwarder,
  wireguard_go: startWireguard,
  overpass: (ctx) => startOverpass(ctx),
  overpass_baseline: (ctx) => startOverpass(ctx, true),
  overpass_transit: () => Promise.reject(new Error('overpass_transit is measured by transit.ts, not started as a chain')),
}
