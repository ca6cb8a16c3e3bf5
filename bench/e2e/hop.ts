/**
 * `bench:e2e --hop`: what ONE relay in the middle of the namespace line adds
 * to the one-way latency of a game-rate flow, and the CPU it spends per
 * datagram, for every system side by side in one run:
 *
 *   ing: loadgen sender ──k1──> tr: the relay ──k2──> ex: loadgen sink
 *                                                    (same process, setns)
 *
 *   kernel          tr forwards (ip_forward); the floor every figure is relative to
 *   c_forwarder     the user-space floor: loadgen.c's forwarder in tr, blocked in
 *                   recvmmsg (no event loop, no crypto); what any relay that
 *                   sleeps between datagrams pays on this machine for the
 *                   wake-up and the two syscalls
 *   node_forwarder  a bare node:dgram forwarder in tr
 *   overpass        an Overpass transit in tr: open, replay check, header, re-seal
 *                   (datagrams sealed in advance by transit-driver as "ing";
 *                   "ex" completes its handshake from the ex namespace)
 *   wireguard_go    wireguard-go tunnels ing<->tr and tr<->ex: tr decrypts and
 *                   re-encrypts; the tunnel ends in ing and ex are wireguard-go too
 *   nebula          a nebula relay (am_relay) and lighthouse in tr, nebula ends in
 *                   ing and ex with use_relays; forwarding off in tr, so the
 *                   datagrams must go through the relay
 *
 * The tunnelled systems (wireguard_go, nebula) also run "direct" (ends
 * only, tr forwarding their outer datagrams in the kernel), so what the hop
 * itself adds is tunnelled minus direct of the same round.
 *
 * Latency: send time stamped by the sender just before sendmmsg, arrival by
 * the kernel at the sink socket (SO_TIMESTAMPNS): neither end's wake-up is
 * measured. "Added" percentiles are a system's percentile minus the kernel's
 * at the same rate in the same round; the median over rounds is reported.
 * CPU per datagram: all threads of the relay's processes in tr (schedstat,
 * ns resolution) over datagrams delivered. The relay runs on CPU 1, the
 * sender, the sink and the tunnel ends on CPU 0.
 */
import fs from 'node:fs'
import path from 'node:path'
import { RELAY_NODE_FLAGS } from '../../src/cli/relay-process.js'
import { encodeKey, generateKeyPair } from '../../src/crypto/index.js'
import { FAST_PROBE_HOLD_MS } from '../../src/probe/probe-rate.js'
import { round } from './measure.js'
import { median } from './interleaved.js'
import type { NetnsLine } from './netns.js'
import { cpuUsFine } from './proc.js'
import { nsRun, nsSpawn, run, runAsync, sleep, stopProcess, tryRun, type Started } from './shell.js'
import { DRIVER, EX_PORT, FORWARDER, ING_PORT, PAYLOAD_BYTES, RELAY_PORT, waitFor, writeTransitConfig } from './transit.js'

/** Game rates (one-way datagrams/s) and datagrams per run at each: ~3 s and ~2 s. */
export const HOP_RATES = [1_000, 5_000]
const COUNT: Record<number, number> = { 1_000: 3_000, 5_000: 10_000 }
/** Datagrams per run at a rate of --hop-rates other than the game rates: 2 s of it. */
const countAt = (rate: number): number => COUNT[rate] ?? rate * 2
const READY_COUNT = 200
const READY_TRIES = 12
const SINK_PORT = 7301
const SRC_PORT = 7300
const FWD_PORT = 7100
const WG_PORT = 51820
const NEBULA_PORT = 4242

export const HOP_SYSTEMS = ['kernel', 'c_forwarder', 'node_forwarder', 'overpass', 'wireguard_go', 'wireguard_go_direct', 'nebula', 'nebula_direct', 'overpass_baseline'] as const
export type HopSystem = (typeof HOP_SYSTEMS)[number]

export interface HopContext {
  line: NetnsLine
  dir: string
  bin: string
  loadgen: string
  nodeFlags: string[]
  log: (line: string) => void
  relayCpus: string
  loadCpus: string
  /** One-way datagrams/s of each measured run (--hop-rates; default HOP_RATES). */
  rates?: number[]
  /** Payload bytes of every datagram (--hop-bytes; default PAYLOAD_BYTES, 100): the application's datagram, before any tunnel's overhead. */
  bytes?: number
  /** Another built checkout whose transit runs as `overpass_baseline` (--baseline). */
  baselineDir?: string
  /** Told when each system's run in a round begins and ends (main.ts's progress display). */
  progress?: { begin(what: string): void; done(): void }
}

/** One system ready for load: where the sender sends, what it sends, which processes are the relay. */
interface HopTarget {
  dst: { host: string; port: number }
  /** '-' for plain datagrams, else a file of sealed records (the sender's offset advances through it). */
  records: string
  sinkHost: string
  /** Where the sender binds in ing (a tunnel's own address for the tunnelled systems); default ing's k1 address. */
  srcHost?: string
  relayPids: number[]
  stop: () => Promise<void>
  /** The last log lines of the system's processes, for a failure message. */
  logTail?: () => string
}

export interface HopRun {
  rate: number
  sent: number
  received: number
  loss: number
  matched: number
  p50_us: number
  p90_us: number
  p99_us: number
  p999_us: number
  max_us: number
  cpu_us_per_packet: number | null
}

export interface HopFigures {
  added_p50_us: number | null
  added_p99_us: number | null
  added_p999_us: number | null
  cpu_us_per_packet: number | null
}

export interface HopResult {
  /** The issue's shape: per system, per rate, the median over rounds. */
  hop: Partial<Record<HopSystem, Record<number, HopFigures>>>
  /** What the hop alone adds in the tunnelled systems: tunnelled minus direct (same round), median. */
  hop_only: Partial<Record<'wireguard_go' | 'nebula', Record<number, HopFigures>>>
  rounds: Partial<Record<HopSystem, HopRun[]>>[]
  /**
   * CPU the relay's processes use per second with no traffic (µs/s, median
   * over rounds): timers and housekeeping, paid on top of every datagram.
   */
  idle_cpu_us_per_s: Partial<Record<HopSystem, number>>
  skipped: Partial<Record<HopSystem, string>>
}

const haveCmd = (cmd: string): boolean => tryRun('sh', ['-c', `command -v ${cmd}`])

export async function measureHop(ctx: HopContext, systems: HopSystem[], rounds: number): Promise<HopResult> {
  const out: HopResult = { hop: {}, hop_only: {}, rounds: [], idle_cpu_us_per_s: {}, skipped: {} }
  const idle: Partial<Record<HopSystem, number[]>> = {}
  if (!haveCmd('wireguard-go') || !haveCmd('wg')) {
    for (const s of ['wireguard_go', 'wireguard_go_direct'] as const) out.skipped[s] = 'wireguard-go or wg not installed (apt-get install wireguard-go wireguard-tools)'
  }
  if (!haveCmd('nebula') || !haveCmd('nebula-cert')) {
    for (const s of ['nebula', 'nebula_direct'] as const) out.skipped[s] = 'nebula or nebula-cert not installed (apt-get install nebula)'
  }
  if (ctx.baselineDir === undefined) out.skipped.overpass_baseline = 'no --baseline DIR'
  const todo = systems.filter((s) => out.skipped[s] === undefined)
  if (!todo.includes('kernel')) todo.unshift('kernel')
  for (let r = 0; r < rounds; r++) {
    const results: Partial<Record<HopSystem, HopRun[]>> = {}
    // Rotate the order so no system always runs first; the kernel floor is measured every round.
    const turn = [...todo.slice(r % todo.length), ...todo.slice(0, r % todo.length)]
    for (const name of turn) {
      if (out.skipped[name] !== undefined) continue
      ctx.log(`  round ${r + 1}: ${name}`)
      ctx.progress?.begin(`round ${r + 1}/${rounds}: ${name}`)
      try {
        const res = await runSystem(ctx, name, r)
        results[name] = res.runs
        if (res.idleCpuUsPerS !== null) (idle[name] ??= []).push(res.idleCpuUsPerS)
      } catch (err) {
        const reason = (err as Error).message.split('\n').slice(0, 3).join(' | ').slice(0, 3000)
        out.skipped[name] = `failed in round ${r + 1}: ${reason}`
        ctx.log(`    ${name} skipped: ${reason}`)
      }
      ctx.progress?.done()
    }
    out.rounds.push(results)
  }
  Object.assign(out, summariseHop(out.rounds, idle))
  return out
}

/**
 * The issue's figures from the rounds: per system and rate, the median over
 * rounds of (system percentile - kernel percentile of the same round), and
 * of the relay's CPU per datagram; hop_only the same against the tunnelled
 * system's direct run. Rounds where either side matched nothing are left out.
 */
export function summariseHop(rounds: HopResult['rounds'], idle: Partial<Record<HopSystem, number[]>>): Pick<HopResult, 'hop' | 'hop_only' | 'idle_cpu_us_per_s'> {
  const out: Pick<HopResult, 'hop' | 'hop_only' | 'idle_cpu_us_per_s'> = { hop: {}, hop_only: {}, idle_cpu_us_per_s: {} }
  const added = (sys: HopSystem, base: HopSystem, rate: number): HopFigures | undefined => {
    const per = rounds.map((rd) => ({ s: rd[sys]?.find((x) => x.rate === rate), b: rd[base]?.find((x) => x.rate === rate) })).filter((x) => x.s && x.b && x.s.matched > 0 && x.b.matched > 0)
    if (per.length === 0) return undefined
    const med = (f: (p: { s: HopRun; b: HopRun }) => number): number | null => {
      const m = median(per.map((p) => f(p as { s: HopRun; b: HopRun })))
      return m === null ? null : round(m, 1)
    }
    const cpus = rounds.map((rd) => rd[sys]?.find((x) => x.rate === rate)?.cpu_us_per_packet).filter((x): x is number => typeof x === 'number')
    return {
      added_p50_us: med((p) => p.s.p50_us - p.b.p50_us),
      added_p99_us: med((p) => p.s.p99_us - p.b.p99_us),
      added_p999_us: med((p) => p.s.p999_us - p.b.p999_us),
      cpu_us_per_packet: cpus.length > 0 ? round(median(cpus)!, 2) : null,
    }
  }
  for (const [sys, xs] of Object.entries(idle)) out.idle_cpu_us_per_s[sys as HopSystem] = Math.round(median(xs!)!)
  const rates = [...new Set(rounds.flatMap((r) => Object.values(r).flatMap((runs) => runs!.map((x) => x.rate))))].sort((a, b) => a - b)
  for (const sys of HOP_SYSTEMS) {
    for (const rate of rates) {
      const f = added(sys, 'kernel', rate)
      if (f) (out.hop[sys] ??= {})[rate] = f
    }
  }
  for (const sys of ['wireguard_go', 'nebula'] as const) {
    for (const rate of rates) {
      const f = added(sys, `${sys}_direct`, rate)
      if (f) (out.hop_only[sys] ??= {})[rate] = { ...f, cpu_us_per_packet: out.hop[sys]?.[rate]?.cpu_us_per_packet ?? null }
    }
  }
  return out
}

const IDLE_MS = 2_000
/**
 * The idle window starts this long after the ready traffic: an Overpass
 * relay probes the edge that carried it every 20 ms until FAST_PROBE_HOLD_MS
 * after its last datagram (probe/probe-rate.ts), so an earlier window
 * measured that, not a relay without traffic.
 */
const IDLE_AFTER_MS = FAST_PROBE_HOLD_MS + 500

async function runSystem(ctx: HopContext, name: HopSystem, r: number): Promise<{ runs: HopRun[]; idleCpuUsPerS: number | null }> {
  const tag = `${name}-r${r}`
  const rates = ctx.rates ?? HOP_RATES
  const budget = READY_COUNT * READY_TRIES + rates.reduce((a, rate) => a + countAt(rate), 0)
  const target = await START[name](ctx, tag, budget)
  const runs: HopRun[] = []
  let idleCpuUsPerS: number | null = null
  try {
    let offset = 0
    const one = async (rate: number, count: number): Promise<HopRun> => {
      const before = target.relayPids.reduce((a, p) => a + cpuUsFine(p), 0)
      const res = await loadgenHop(ctx, target, offset, count, rate)
      const used = target.relayPids.reduce((a, p) => a + cpuUsFine(p), 0) - before
      offset += count
      return { ...res, rate, cpu_us_per_packet: target.relayPids.length > 0 && res.received > 0 ? round(used / res.received, 2) : null }
    }
    let ready = false
    for (let i = 0; i < READY_TRIES && !ready; i++) {
      const res = await one(1_000, READY_COUNT)
      ready = res.received >= res.sent * 0.99
      if (!ready) await sleep(300)
    }
    if (!ready) throw new Error(`${name}: no datagrams through the relay after ${READY_TRIES} tries${target.logTail ? `; logs: ${target.logTail()}` : ''}`)
    if (target.relayPids.length > 0) {
      await sleep(IDLE_AFTER_MS)
      const before = target.relayPids.reduce((a, p) => a + cpuUsFine(p), 0)
      const t0 = performance.now()
      await sleep(IDLE_MS)
      idleCpuUsPerS = Math.round(((target.relayPids.reduce((a, p) => a + cpuUsFine(p), 0) - before) * 1000) / (performance.now() - t0))
      ctx.log(`    ${name} idle: ${idleCpuUsPerS} us of relay CPU per second`)
    }
    for (const rate of rates) {
      await sleep(200)
      const res = await one(rate, countAt(rate))
      runs.push(res)
      ctx.log(`    ${name} ${rate}/s: one-way p50 ${res.p50_us} p99 ${res.p99_us} p99.9 ${res.p999_us} us, ${res.received}/${res.sent}, relay cpu ${res.cpu_us_per_packet ?? '-'} us/pkt`)
    }
  } finally {
    await target.stop()
  }
  return { runs, idleCpuUsPerS }
}

async function loadgenHop(ctx: HopContext, t: HopTarget, first: number, count: number, rate: number): Promise<Omit<HopRun, 'rate' | 'cpu_us_per_packet'>> {
  const l = ctx.line
  const out = await runAsync('ip', [
    'netns', 'exec', l.name('ing'), 'taskset', '-c', ctx.loadCpus, ctx.loadgen, 'hop', t.records, String(first), String(count),
    t.srcHost ?? l.addr(1, 1), String(t.records === '-' ? SRC_PORT : ING_PORT), t.dst.host, String(t.dst.port), l.name('ex'), t.sinkHost, String(t.records === '-' ? SINK_PORT : EX_PORT), String(rate), String(ctx.bytes ?? PAYLOAD_BYTES),
  ], (count / rate + 10) * 1000)
  const r = JSON.parse(out.trim().split('\n').pop()!) as Omit<HopRun, 'rate' | 'cpu_us_per_packet' | 'loss'>
  return { ...r, loss: r.sent > 0 ? round(1 - r.received / r.sent, 5) : 1 }
}

const START: Record<HopSystem, (ctx: HopContext, tag: string, budget: number) => Promise<HopTarget>> = {
  kernel: async (ctx) => ({ dst: { host: ctx.line.addr(2, 2), port: SINK_PORT }, records: '-', sinkHost: ctx.line.addr(2, 2), relayPids: [], stop: async () => {} }),
  c_forwarder: startCForwarder,
  node_forwarder: startForwarder,
  overpass: (ctx, tag, budget) => startOverpassHop(ctx, tag, budget, ctx.bin),
  overpass_baseline: (ctx, tag, budget) => startOverpassHop(ctx, tag, budget, path.resolve(ctx.baselineDir ?? '.', 'bin/overpass.js')),
  wireguard_go: (ctx, tag) => startWireguardHop(ctx, tag, false),
  wireguard_go_direct: (ctx, tag) => startWireguardHop(ctx, tag, true),
  nebula: (ctx, tag) => startNebula(ctx, tag, false),
  nebula_direct: (ctx, tag) => startNebula(ctx, tag, true),
}

/** Long enough for every run of one round; stopped by PID after it. */
const C_FORWARDER_SECONDS = 600

async function startCForwarder(ctx: HopContext, tag: string): Promise<HopTarget> {
  const l = ctx.line
  const p = nsSpawn(l.name('tr'), ctx.relayCpus, path.join(ctx.dir, `hop-${tag}.log`), ctx.loadgen, [
    'forward', String(FWD_PORT), l.addr(2, 2), String(SINK_PORT), String(C_FORWARDER_SECONDS),
  ])
  await waitFor(p, 'forwarder up', 'c forwarder (hop)')
  return { dst: { host: l.addr(1, 2), port: FWD_PORT }, records: '-', sinkHost: l.addr(2, 2), relayPids: [p.pid], stop: () => stopProcess(p) }
}

async function startForwarder(ctx: HopContext, tag: string): Promise<HopTarget> {
  const l = ctx.line
  const p = nsSpawn(l.name('tr'), ctx.relayCpus, path.join(ctx.dir, `hop-${tag}.log`), process.execPath, [
    ...ctx.nodeFlags, FORWARDER, '0.0.0.0', String(FWD_PORT), l.addr(2, 2), String(SINK_PORT),
  ])
  await waitFor(p, 'forwarder up', 'node forwarder (hop)')
  return { dst: { host: l.addr(1, 2), port: FWD_PORT }, records: '-', sinkHost: l.addr(2, 2), relayPids: [p.pid], stop: () => stopProcess(p) }
}

async function startOverpassHop(ctx: HopContext, tag: string, budget: number, bin: string): Promise<HopTarget> {
  const l = ctx.line
  const keys = { ing: generateKeyPair(), tr: generateKeyPair(), ex: generateKeyPair() }
  const file = path.join(ctx.dir, `hop-${tag}.yaml`)
  writeTransitConfig(file, l, path.join(ctx.dir, `hop-${tag}.sock`), keys, `${l.addr(1, 1)}:${ING_PORT}`, `${l.addr(2, 2)}:${EX_PORT}`)
  const relay = nsSpawn(l.name('tr'), ctx.relayCpus, path.join(ctx.dir, `hop-${tag}.log`), process.execPath, [
    ...RELAY_NODE_FLAGS, ...ctx.nodeFlags, bin, 'up', '-c', file, '--log-format', 'json',
  ])
  const drivers: Started[] = []
  const stop = async (): Promise<void> => {
    for (const d of drivers) await stopProcess(d)
    await stopProcess(relay)
  }
  try {
    await waitFor(relay, '"relay up"', 'overpass transit (hop)')
    const records = path.join(ctx.dir, `hop-${tag}.bin`)
    const spec = {
      bindHost: l.addr(1, 1), exBindHost: l.addr(2, 2), ingPort: ING_PORT, exPort: EX_PORT,
      ingPrivateKey: encodeKey(keys.ing.privateKey), exPrivateKey: encodeKey(keys.ex.privateKey), trPublicKey: encodeKey(keys.tr.publicKey),
      trPort: RELAY_PORT, service: 'game', count: budget, payloadBytes: ctx.bytes ?? PAYLOAD_BYTES, file: records,
    }
    // "ex" first, from its own namespace (the transit must hold a session with it), then "ing" seals.
    for (const [role, ns, done] of [['ex', 'ex', 'sessions up'], ['ing', 'ing', 'sealed ']] as const) {
      const specFile = path.join(ctx.dir, `hop-${tag}-${role}.json`)
      // The transit answers each end from the address on that end's link.
      fs.writeFileSync(specFile, JSON.stringify({ ...spec, roles: [role], trHost: role === 'ex' ? l.addr(2, 1) : l.addr(1, 2) }))
      const d = nsSpawn(l.name(ns), ctx.loadCpus, path.join(ctx.dir, `hop-${tag}-${role}.log`), process.execPath, [DRIVER, specFile])
      drivers.push(d)
      await waitFor(d, done, `transit driver (${role})`, 60_000)
      await new Promise<void>((resolve) => (d.child.exitCode !== null ? resolve() : d.child.once('exit', () => resolve())))
    }
    return { dst: { host: l.addr(1, 2), port: RELAY_PORT }, records, sinkHost: l.addr(2, 2), relayPids: [relay.pid], stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/**
 * wireguard-go: tunnels a (ing) <-> b1 (tr) and b2 (tr) <-> c (ex), tr routing
 * between them; or, `direct`, one tunnel a (ing) <-> c (ex) whose outer
 * datagrams tr forwards in the kernel. Each interface has one peer, so its
 * allowed IPs are everything (wg adds no routes itself).
 */
async function startWireguardHop(ctx: HopContext, tag: string, direct: boolean): Promise<HopTarget> {
  const l = ctx.line
  const ifName = (s: string): string => `opw${l.tag}${s}`
  const sink = l.tunnelAddr(4)
  type Tun = { s: string; ns: 'ing' | 'tr' | 'ex'; ip: string; port: number; peer: string; endpoint: string; cpus: string }
  const tunnels: Tun[] = direct
    ? [
        { s: 'a', ns: 'ing', ip: l.tunnelAddr(1), port: WG_PORT, peer: 'c', endpoint: `${l.addr(2, 2)}:${WG_PORT}`, cpus: ctx.loadCpus },
        { s: 'c', ns: 'ex', ip: sink, port: WG_PORT, peer: 'a', endpoint: `${l.addr(1, 1)}:${WG_PORT}`, cpus: ctx.loadCpus },
      ]
    : [
        { s: 'a', ns: 'ing', ip: l.tunnelAddr(1), port: WG_PORT, peer: 'b1', endpoint: `${l.addr(1, 2)}:${WG_PORT}`, cpus: ctx.loadCpus },
        { s: 'b1', ns: 'tr', ip: l.tunnelAddr(2), port: WG_PORT, peer: 'a', endpoint: `${l.addr(1, 1)}:${WG_PORT}`, cpus: ctx.relayCpus },
        { s: 'b2', ns: 'tr', ip: l.tunnelAddr(3), port: WG_PORT + 1, peer: 'c', endpoint: `${l.addr(2, 2)}:${WG_PORT}`, cpus: ctx.relayCpus },
        { s: 'c', ns: 'ex', ip: sink, port: WG_PORT, peer: 'b2', endpoint: `${l.addr(2, 1)}:${WG_PORT + 1}`, cpus: ctx.loadCpus },
      ]
  const keys = Object.fromEntries(tunnels.map((t) => {
    const priv = run('wg', ['genkey']).trim()
    return [t.s, { priv, pub: run('wg', ['pubkey'], priv + '\n').trim() }]
  })) as Record<string, { priv: string; pub: string }>
  const procs: { t: Tun; p: Started }[] = []
  const stop = async (): Promise<void> => {
    for (const { p } of procs) await stopProcess(p)
    for (const t of tunnels) fs.rmSync(`/var/run/wireguard/${ifName(t.s)}.sock`, { force: true })
  }
  try {
    for (const t of tunnels) {
      const ns = l.name(t.ns)
      const dev = ifName(t.s)
      const p = nsSpawn(ns, t.cpus, path.join(ctx.dir, `hop-${tag}-${dev}.log`), 'wireguard-go', ['-f', dev], { GOMAXPROCS: '2' })
      procs.push({ t, p })
      const until = Date.now() + 10_000
      while (!tryRun('ip', ['netns', 'exec', ns, 'wg', 'show', dev])) {
        if (Date.now() > until || p.child.exitCode !== null) throw new Error(`wireguard-go ${dev} did not start: ${p.log()}`)
        await sleep(50)
      }
      const keyFile = path.join(ctx.dir, `${dev}-${tag}.key`)
      fs.writeFileSync(keyFile, keys[t.s].priv + '\n', { mode: 0o600 })
      nsRun(ns, 'wg', ['set', dev, 'private-key', keyFile, 'listen-port', String(t.port), 'peer', keys[t.peer].pub, 'endpoint', t.endpoint, 'allowed-ips', '0.0.0.0/0'])
      nsRun(ns, 'ip', ['addr', 'add', `${t.ip}/32`, 'dev', dev])
      nsRun(ns, 'ip', ['link', 'set', dev, 'up'])
    }
    // Only the routes toward the sink: the load is one-way. They go with the devices.
    nsRun(l.name('ing'), 'ip', ['route', 'add', `${sink}/32`, 'dev', ifName('a')])
    if (!direct) nsRun(l.name('tr'), 'ip', ['route', 'add', `${sink}/32`, 'dev', ifName('b2')])
  } catch (err) {
    await stop()
    throw err
  }
  return { dst: { host: sink, port: SINK_PORT }, records: '-', sinkHost: sink, srcHost: l.tunnelAddr(1), relayPids: procs.filter((x) => x.t.ns === 'tr').map((x) => x.p.pid), stop }
}

/**
 * nebula: a lighthouse in tr, ends in ing and ex. Relayed: tr is also the
 * relay (am_relay), the ends use_relays, and tr's forwarding is off so the
 * ends cannot reach each other directly. Direct: forwarding on, no relay.
 */
async function startNebula(ctx: HopContext, tag: string, direct: boolean): Promise<HopTarget> {
  const l = ctx.line
  const d = path.join(ctx.dir, `nebula-${tag}`)
  fs.mkdirSync(d)
  const subnet = l.base + 1 // 198.19.(base+1).0/24: clear of the wireguard tunnel addresses
  const ip = { tr: `198.19.${subnet}.1`, ing: `198.19.${subnet}.2`, ex: `198.19.${subnet}.3` }
  const trFromEnd = { ing: l.addr(1, 2), ex: l.addr(2, 1) }
  run('nebula-cert', ['ca', '-name', `opb-${l.tag}`, '-out-crt', path.join(d, 'ca.crt'), '-out-key', path.join(d, 'ca.key')])
  const procs: Started[] = []
  const stop = async (): Promise<void> => {
    for (const p of procs) await stopProcess(p)
    l.sysctl('tr', 'net.ipv4.ip_forward', '1')
  }
  try {
    if (!direct) l.sysctl('tr', 'net.ipv4.ip_forward', '0')
    // ex registers with the lighthouse before ing asks for it.
    for (const node of ['tr', 'ex', 'ing'] as const) {
      run('nebula-cert', ['sign', '-name', node, '-ip', `${ip[node]}/24`, '-ca-crt', path.join(d, 'ca.crt'), '-ca-key', path.join(d, 'ca.key'),
        '-out-crt', path.join(d, `${node}.crt`), '-out-key', path.join(d, `${node}.key`)])
      const isTr = node === 'tr'
      const cfg = [
        `pki: { ca: ${path.join(d, 'ca.crt')}, cert: ${path.join(d, `${node}.crt`)}, key: ${path.join(d, `${node}.key`)} }`,
        isTr ? 'static_host_map: {}' : `static_host_map: { "${ip.tr}": ["${trFromEnd[node]}:${NEBULA_PORT}"] }`,
        `lighthouse: { am_lighthouse: ${isTr}, interval: 60, hosts: [${isTr ? '' : `"${ip.tr}"`}] }`,
        // tr must listen on both of its links (the ends reach it on different addresses).
        `listen: { host: 0.0.0.0, port: ${NEBULA_PORT} }`,
        'punchy: { punch: false }',
        direct ? 'relay: { am_relay: false, use_relays: false }' : `relay: { am_relay: ${isTr}, use_relays: ${!isTr}, relays: [${isTr ? '' : `"${ip.tr}"`}] }`,
        `tun: { dev: opn${l.tag}${node.slice(0, 2)}, drop_local_broadcast: false, drop_multicast: false, mtu: 1300 }`,
        'logging: { level: info }',
        'firewall: { outbound: [{ port: any, proto: any, host: any }], inbound: [{ port: any, proto: any, host: any }] }',
      ].join('\n')
      const file = path.join(d, `${node}.yaml`)
      fs.writeFileSync(file, cfg + '\n', { mode: 0o600 })
      const p = nsSpawn(l.name(node), isTr ? ctx.relayCpus : ctx.loadCpus, path.join(ctx.dir, `hop-${tag}-${node}.log`), 'nebula', ['-config', file])
      procs.push(p)
      await waitFor(p, 'Nebula interface is active', `nebula ${node}`)
    }
  } catch (err) {
    await stop()
    throw err
  }
  const logTail = (): string => procs.map((p) => p.log().split('\n').slice(-4).join(' / ')).join(' || ')
  return { dst: { host: ip.ex, port: SINK_PORT }, records: '-', sinkHost: ip.ex, srcHost: ip.ing, relayPids: direct ? [] : [procs[0].pid], stop, logTail }
}

export function printHop(r: HopResult, log: (line: string) => void): void {
  log('\nadded one-way latency per relay traversal (vs kernel forwarding, same round; median over rounds), relay CPU per datagram')
  log(`${'system'.padEnd(22)}${'rate'.padStart(7)}${'p50 us'.padStart(9)}${'p99 us'.padStart(9)}${'p99.9 us'.padStart(10)}${'cpu us/pkt'.padStart(12)}`)
  for (const [name, rates] of Object.entries(r.hop)) {
    for (const [rate, f] of Object.entries(rates!)) {
      log(`${name.padEnd(22)}${rate.padStart(7)}${String(f.added_p50_us ?? '-').padStart(9)}${String(f.added_p99_us ?? '-').padStart(9)}${String(f.added_p999_us ?? '-').padStart(10)}${String(f.cpu_us_per_packet ?? '-').padStart(12)}`)
    }
  }
  for (const [name, rates] of Object.entries(r.hop_only)) {
    for (const [rate, f] of Object.entries(rates!)) log(`${(name + ' hop only').padEnd(22)}${rate.padStart(7)}${String(f.added_p50_us ?? '-').padStart(9)}${String(f.added_p99_us ?? '-').padStart(9)}${String(f.added_p999_us ?? '-').padStart(10)}   (relayed - direct)`)
  }
  log('relay CPU with no traffic, us per second: ' + Object.entries(r.idle_cpu_us_per_s).map(([n, v]) => `${n} ${v}`).join(', '))
  for (const [name, why] of Object.entries(r.skipped)) log(`${name}: skipped (${why})`)
}
