/**
 * `overpass_transit`: one Overpass transit relay loaded on its own, so its
 * capacity is measured, not the chain's. Both of its peers ("ing" and "ex")
 * live in the ing namespace:
 *
 *   ing: loadgen relay ──sealed──> tr: overpass (open, replay check,
 *        (records from              header checks, re-seal to ex)
 *        transit-driver)  <──re-sealed── to ing:EX_PORT, counted
 *
 * transit-driver.js makes the sessions and seals the datagrams in advance,
 * so the sender spends no CPU on crypto. The transit runs alone on CPU 1;
 * the sender and the sink share CPU 0. A rate passes with < 0.1% loss.
 * The transit runs twice: with the overlay socket the daemon picks by default
 * (the batched native socket when its addon loads) and with node:dgram
 * forced (OVERPASS_UDP=dgram), and on the native socket with the native
 * transit fast path off (OVERPASS_TRANSIT=off: the TypeScript transit, the
 * before of the fast path in the same run), each with fresh sessions and records. The
 * records then go through a bare Node forwarder in tr (no crypto, no
 * header), so the transit's CPU per datagram has a same-run baseline.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { renderPeerKeys, renderRelayYaml } from '../../src/config/render.js'
import { RELAY_NODE_FLAGS } from '../../src/cli/relay-process.js'
import { encodeKey, generateKeyPair } from '../../src/crypto/index.js'
import { MAX_LOSS, round } from './measure.js'
import type { NetnsLine } from './netns.js'
import { cpuUs } from './proc.js'
import { nsRun, nsSpawn, runAsync, sleep, stopProcess, type Started } from './shell.js'

export const RELAY_PORT = 7200
export const ING_PORT = 7200
export const EX_PORT = 7201
export const PAYLOAD_BYTES = 100
/** Rates tried in order (one-way datagrams/s through the transit), 1 s each; a failing rate is retried once. */
export const TRANSIT_RATES = [30_000, 50_000, 70_000, 100_000, 140_000]
const TRANSIT_TARGET_PPS = 50_000
/** Records sealed per ladder: every rate once, plus room for two retries at the largest. */
const TRANSIT_BUDGET = TRANSIT_RATES.reduce((a, b) => a + b, 0) + 2 * TRANSIT_RATES[TRANSIT_RATES.length - 1]

export interface TransitStep {
  rate: number
  sent: number
  received: number
  loss: number
  pass: boolean
  /** Share of one CPU the transit used while the load was being sent (10 ms resolution). */
  transit_cpu_share: number
  /** Transit CPU per datagram it forwarded, µs (10 ms tick resolution). */
  cpu_us_per_packet: number | null
  /** Datagrams the kernel dropped for a full receive buffer during the step: at the transit, and at the sink in ing. */
  rcvbuf_drops: { tr: number; ing: number }
}

export interface TransitResult {
  /** The overlay socket the transit used: 'native' (batched) or 'dgram'. */
  udp: string
  /** Highest rate with < 0.1% loss (one-way datagrams/s through the transit). */
  max_pps: number
  /** The transit's own drop counters and overlay socket counters after the ladder (`overpass status --json`). */
  relay_counters: Record<string, unknown>
  /** The same ladder with the overlay socket forced to node:dgram (OVERPASS_UDP=dgram), same run. */
  dgram: { udp: string; max_pps: number; at_target: TransitStep | null; steps: TransitStep[]; relay_counters: Record<string, unknown> }
  /** The same ladder on the native socket with the native transit fast path off (OVERPASS_TRANSIT=off), same run. */
  ts_transit: { udp: string; max_pps: number; at_target: TransitStep | null; steps: TransitStep[]; relay_counters: Record<string, unknown> }
  /** With --workers-curve: the native ladder again per worker count, on all CPUs (measureTransitWorkers). */
  workers_curve?: WorkersCurvePoint[]
  /** The same ladder through a bare Node forwarder in tr. */
  node_forwarder: { max_pps: number; at_target: TransitStep | null; steps: TransitStep[] }
  /** The step at 50k/s (the target), last attempt. */
  at_target: TransitStep | null
  record_bytes: number
  steps: TransitStep[]
}

const here = path.dirname(fileURLToPath(import.meta.url))
export const DRIVER = path.join(here, 'transit-driver.js')
export const FORWARDER = path.join(here, 'node-forwarder.js')

export interface TransitContext {
  line: NetnsLine
  dir: string
  bin: string
  loadgen: string
  nodeFlags: string[]
  transitCpus: string
  loadCpus: string
  log: (line: string) => void
  /**
   * Run the load generator and sink SCHED_FIFO (chrt -f 10): when the relay
   * shares their CPU (the workers curve), the load still gets the CPU it
   * needs, so a lost datagram is the relay's, not a starved sink's. The
   * loadgen sleeps in ppoll between batches, so it cannot hog the CPU.
   */
  loadRealtime?: boolean
}

export async function measureTransit(ctx: TransitContext): Promise<TransitResult> {
  const l = ctx.line
  const peerHost = l.addr(1, 1)
  // The overlay socket the daemon picks by default (native when the addon loads), then node:dgram forced.
  const overpass = await measureOverpass(ctx, 'auto')
  const dgramRun = await measureOverpass(ctx, 'dgram')
  const tsRun = await measureOverpass(ctx, 'ts')
  const fwd = nsSpawn(l.name('tr'), ctx.transitCpus, path.join(ctx.dir, 'fwd-transit-alone.log'), process.execPath, [
    ...ctx.nodeFlags, FORWARDER, '0.0.0.0', String(RELAY_PORT), peerHost, String(EX_PORT),
  ])
  try {
    await waitFor(fwd, 'forwarder up', 'node forwarder (transit alone)')
    const base = await search(ctx, fwd.pid, overpass.records, 'node_forwarder')
    const { records: _r, ...rest } = overpass
    return {
      ...rest,
      dgram: { udp: dgramRun.udp, max_pps: dgramRun.max_pps, at_target: dgramRun.at_target, steps: dgramRun.steps, relay_counters: dgramRun.relay_counters },
      ts_transit: { udp: tsRun.udp, max_pps: tsRun.max_pps, at_target: tsRun.at_target, steps: tsRun.steps, relay_counters: tsRun.relay_counters },
      node_forwarder: { max_pps: base.max_pps, at_target: base.at_target, steps: base.steps },
    }
  } finally {
    await stopProcess(fwd)
  }
}

export interface WorkersCurvePoint {
  workers: number
  /** CPUs the transit may run on (the load generator and sink share CPU 0 with it). */
  transit_cpus: string
  max_pps: number
  at_target: TransitStep | null
  steps: TransitStep[]
}

/**
 * The transit alone with 1, then 2, ... workers (relay.workers), each on the
 * same CPUs (`cpus`, all of them) so the only difference is the worker
 * count. The records alternate lanes, so each worker gets its share. The
 * load generator and sink run SCHED_FIFO on CPU 0 (loadRealtime): the relay
 * gets what they leave of CPU 0 and all of CPU 1.
 */
export async function measureTransitWorkers(ctx: TransitContext, counts: number[], cpus: string): Promise<WorkersCurvePoint[]> {
  const out: WorkersCurvePoint[] = []
  for (const workers of counts) {
    const r = await measureOverpass({ ...ctx, transitCpus: cpus, loadRealtime: true }, 'auto', workers)
    out.push({ workers, transit_cpus: cpus, max_pps: r.max_pps, at_target: r.at_target, steps: r.steps })
    ctx.log(`  transit with ${workers} worker(s) on CPUs ${cpus}: max ${r.max_pps} pps with < 0.1% loss`)
  }
  return out
}

/**
 * One Overpass transit with OVERPASS_UDP=`mode` ('ts': the default socket
 * with OVERPASS_TRANSIT=off): fresh keys and sessions, records sealed for them, the rate ladder.
 */
async function measureOverpass(ctx: TransitContext, mode: 'auto' | 'dgram' | 'ts', workers = 1): Promise<Omit<TransitResult, 'node_forwarder' | 'dgram' | 'ts_transit'> & { records: string }> {
  const l = ctx.line
  const keys = { ing: generateKeyPair(), tr: generateKeyPair(), ex: generateKeyPair() }
  const peerHost = l.addr(1, 1)
  const tag = workers === 1 ? mode : `${mode}-w${workers}`
  const file = path.join(ctx.dir, `transit-${tag}.yaml`)
  writeTransitConfig(file, l, path.join(ctx.dir, `transit-${tag}.sock`), keys, `${peerHost}:${ING_PORT}`, `${peerHost}:${EX_PORT}`, workers)
  const logFile = path.join(ctx.dir, `overpass-transit-alone-${tag}.log`)
  const relay = nsSpawn(l.name('tr'), ctx.transitCpus, logFile, process.execPath, [
    ...RELAY_NODE_FLAGS, ...ctx.nodeFlags, ctx.bin, 'up', '-c', file, '--log-format', 'json',
  ], mode === 'ts' ? { OVERPASS_UDP: 'auto', OVERPASS_TRANSIT: 'off' } : { OVERPASS_UDP: mode })
  let driver: Started | undefined
  try {
    await waitFor(relay, '"relay up"', 'transit relay')
    const udp = /"overlay socket"[^\n]*"kind":"(\w+)"/.exec(relay.log())?.[1] ?? 'unknown'
    ctx.log(`  overpass transit (OVERPASS_UDP=${mode}): overlay socket ${udp}`)
    const records = path.join(ctx.dir, `transit-records-${tag}.bin`)
    const specFile = path.join(ctx.dir, `transit-driver-${tag}.json`)
    fs.writeFileSync(specFile, JSON.stringify({
      bindHost: peerHost, ingPort: ING_PORT, exPort: EX_PORT,
      ingPrivateKey: encodeKey(keys.ing.privateKey), exPrivateKey: encodeKey(keys.ex.privateKey), trPublicKey: encodeKey(keys.tr.publicKey),
      trHost: l.addr(1, 2), trPort: RELAY_PORT, service: 'game', count: TRANSIT_BUDGET, payloadBytes: PAYLOAD_BYTES, file: records, lanes: workers,
    }))
    driver = nsSpawn(l.name('ing'), ctx.loadCpus, path.join(ctx.dir, `transit-driver-${tag}.log`), process.execPath, [DRIVER, specFile])
    await waitFor(driver, 'sealed ', 'transit driver', 60_000)
    await new Promise<void>((resolve) => (driver!.child.exitCode !== null ? resolve() : driver!.child.once('exit', () => resolve())))
    const name = (mode === 'ts' ? 'overpass_ts_transit' : udp === 'native' ? 'overpass' : 'overpass_dgram') + (workers > 1 ? `_${workers}_workers` : '')
    const result = await search(ctx, relay.pid, records, name)
    const counters = await relayCounters(ctx.bin, file)
    ctx.log(`    ${name} relay counters: ${JSON.stringify(counters)}`)
    return { udp, records, relay_counters: counters, ...result }
  } finally {
    if (driver) await stopProcess(driver)
    await stopProcess(relay)
  }
}

export type TransitKeys = Record<'ing' | 'tr' | 'ex', ReturnType<typeof generateKeyPair>>

/** The transit relay's config: peers "ing" and "ex" at the given endpoints, one service pinned to ing > tr > ex. */
export function writeTransitConfig(file: string, l: NetnsLine, controlSocket: string, keys: TransitKeys, ingEndpoint: string, exEndpoint: string, workers = 1): void {
  fs.writeFileSync(file, renderRelayYaml({
    id: 'tr',
    privateKey: encodeKey(keys.tr.privateKey),
    listen: `0.0.0.0:${RELAY_PORT}`,
    controlSocket,
    workers,
    peers: [
      { id: 'ing', ...renderPeerKeys(keys.ing.privateKey), endpoint: ingEndpoint },
      { id: 'ex', ...renderPeerKeys(keys.ex.privateKey), endpoint: exEndpoint },
    ],
    services: [{
      name: 'game',
      ingress: [{ relay: 'ing', listen: `${l.addr(0, 2)}:27015` }],
      origin: `${l.addr(3, 2)}:9000`,
      exits: ['ex'],
      paths: [['ing', 'tr', 'ex']],
    }],
  }, 'overpass bench:e2e transit relay (generated; throwaway keys)'), { mode: 0o600 })
}

async function search(ctx: TransitContext, pid: number, records: string, what: string): Promise<Omit<TransitResult, 'node_forwarder' | 'dgram' | 'ts_transit' | 'udp' | 'relay_counters'>> {
  const steps: TransitStep[] = []
  let next = 0
  let recordBytes = 0
  const trial = async (rate: number): Promise<TransitStep | null> => {
    if (next + rate > TRANSIT_BUDGET) return null
    const dropsBefore = { tr: rcvbufErrors(ctx.line.name('tr')), ing: rcvbufErrors(ctx.line.name('ing')) }
    const before = cpuUs(pid)
    const out = await runAsync('ip', [
      'netns', 'exec', ctx.line.name('ing'), ...(ctx.loadRealtime ? ['chrt', '-f', '10'] : []), 'taskset', '-c', ctx.loadCpus, ctx.loadgen, 'relay', records, String(next), String(rate),
      ctx.line.addr(1, 1), String(ING_PORT), ctx.line.addr(1, 2), String(RELAY_PORT), String(EX_PORT), String(rate),
    ], 20_000)
    next += rate
    const r = JSON.parse(out.trim().split('\n').pop()!) as { sent: number; received: number; record_bytes: number; send_s: number; elapsed_s: number }
    recordBytes = r.record_bytes
    const used = cpuUs(pid) - before
    const rcvbufDrops = { tr: rcvbufErrors(ctx.line.name('tr')) - dropsBefore.tr, ing: rcvbufErrors(ctx.line.name('ing')) - dropsBefore.ing }
    const loss = r.sent > 0 ? 1 - r.received / r.sent : 1
    const step: TransitStep = {
      rate, sent: r.sent, received: r.received, loss: round(loss, 5), pass: loss < MAX_LOSS,
      // Over the sending phase: after it the transit only empties its queue (and a lossy step adds a 1 s drain).
      transit_cpu_share: round(used / (Math.max(r.send_s, 0.5) * 1e6)),
      cpu_us_per_packet: r.received > 0 ? round(used / r.received) : null,
      rcvbuf_drops: rcvbufDrops,
    }
    steps.push(step)
    ctx.log(`    ${what} transit alone ${rate} pps: ${r.received}/${r.sent}, loss ${(loss * 100).toFixed(3)}%, transit cpu ${step.transit_cpu_share}, ${step.cpu_us_per_packet ?? '-'} us/pkt, rcvbuf drops tr ${rcvbufDrops.tr} ing ${rcvbufDrops.ing} ${step.pass ? 'ok' : 'FAIL'}`)
    return step
  }
  let best = 0
  for (const rate of TRANSIT_RATES) {
    await sleep(300)
    let s = await trial(rate)
    if (s && !s.pass) s = await trial(rate)
    if (!s || !s.pass) break
    best = rate
  }
  const atTarget = steps.filter((s) => s.rate === TRANSIT_TARGET_PPS).pop() ?? null
  return { max_pps: best, at_target: atTarget, record_bytes: recordBytes, steps }
}

/** The relay's drop counters and overlay socket counters, through its control socket. */
async function relayCounters(bin: string, configFile: string): Promise<Record<string, unknown>> {
  try {
    const st = JSON.parse(await runAsync(process.execPath, [bin, 'status', '-c', configFile, '--json'], 10_000)) as Record<string, unknown>
    return { drops: st.drops, overlay_socket: st.overlay_socket ?? null }
  } catch (err) {
    return { error: (err as Error).message.split('\n')[0] }
  }
}

/** UDP RcvbufErrors of network namespace `ns` (/proc/net/snmp is per namespace). */
function rcvbufErrors(ns: string): number {
  const lines = nsRun(ns, 'cat', ['/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Udp: '))
  const names = lines[0]?.split(' ') ?? []
  const values = lines[1]?.split(' ') ?? []
  return Number(values[names.indexOf('RcvbufErrors')] ?? 0)
}

export async function waitFor(p: Started, text: string, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (p.log().includes(text)) return
    if (p.child.exitCode !== null && !p.log().includes(text)) break
    await sleep(50)
  }
  throw new Error(`${what} did not start:\n${p.log().slice(-2000)}`)
}
