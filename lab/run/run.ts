/**
 * `overpass lab run SCENARIO`: up, origins and relays, wait for routes and
 * the warm-up, then every flow two ways at once (direct over the WAN, and
 * through the ingress relay's service port), events at their times, paths
 * recorded every 100 ms; then down (always, also on Ctrl-C) and reports.
 * With L3 sites, the DC capture and ping (l3-run.ts) come first, iperf3 last.
 */
import fs from 'node:fs'
import path from 'node:path'
import { controlRequest } from '../../src/daemon/control-server.js'
import { monoMs } from '../traffic/index.js'
import type { EdgeView } from '../../src/route/types.js'
import { labDown } from '../topo/down.js'
import { readLog, spawnInNs } from '../topo/procs.js'
import { waitFor } from '../topo/sh.js'
import { saveState } from '../topo/state.js'
import { LAB_DIST, labUp, type LabRun } from '../topo/up.js'
import type { WanChoice } from '../wan/backend.js'
import type { LinkEvent } from '../scenario/index.js'
import type { AgentFlow, AgentResult } from './agent-types.js'
import { expectedFor } from './expected.js'
import { PathRecorder } from './paths.js'
import { AGENT_RT, rtUsable, withPriority } from './priority.js'
import { addTunRoutes, BIN, controlSocket, servicePort, startRelays } from './relays.js'
import { RelayEvents, type RelayEventResult } from './relay-events.js'
import { OriginEvents, type OriginEventResult } from './origin-events.js'
import { overlayTraffic } from './overlay-traffic.js'
import { buildSeries, countPathChanges, directionLoss, type ClientRecord, type FlowSeries, type OriginRecord } from './series.js'
import { eventFigures, eventMoments } from './event-figures.js'
import { hasL3, isL3Flow } from './l3-config.js'
import { beginL3, endL3 } from './l3-run.js'
import { writeReports } from '../report/write.js'
import { trackElapsed, type Progress } from '../../src/cli/progress.js'
import { phaseProgress } from './progress.js'
import { formatSummary } from '../report/text.js'
import { keepLogs, pathChecks } from './path-checks.js'
import type { FlowResult, FlowSamples, L3Result, LabResult, SeriesByFlow } from './result.js'

export interface LabRunOptions {
  json: boolean
  outDir?: string
  log: (line: string) => void
  /** WAN backend; default OVERPASS_LAB_WAN, else auto (netem where the kernel has it). */
  wan?: WanChoice
  /** Progress of the warm-up and traffic phases on stderr (a bar on a terminal, plain lines otherwise); default off. */
  progress?: boolean
}

/** Time for the agents' node processes to start before t0. */
const AGENT_START_MS = 2000

export async function labRun(file: string, opts: LabRunOptions): Promise<{ result: LabResult; samples: FlowSamples; series: SeriesByFlow }> {
  // The handler goes in before anything is built: a signal while the
  // namespaces come up must tear down what exists so far too.
  let run: string | undefined
  const onSignal = (): void => {
    opts.log(`interrupted: tearing down ${run ?? 'the lab'}`)
    void (run ? labDown(run) : Promise.resolve()).finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  let lab: Awaited<ReturnType<typeof labUp>>
  try {
    lab = await labUp(file, (id) => (run = id), { wan: opts.wan })
  } catch (err) {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    throw err
  }
  let progress: Progress | undefined
  let stopProgress = (): void => {}
  const log = (line: string): void => (progress ? progress.log(line, opts.log) : opts.log(line))
  try {
    opts.log(`${run}: ${lab.state.namespaces.length} namespaces up, WAN ${lab.wan === 'netem' ? 'tc netem' : `emulator running${rtUsable() ? ' (SCHED_RR)' : ''}`}`)
    const started = monoMs()
    const endMs = Math.max(...lab.scenario.flows.map((f) => f.startMs + f.durationMs))
    if (opts.progress) {
      progress = phaseProgress(lab.scenario.warmupMs, AGENT_START_MS + endMs)
      stopProgress = trackElapsed(progress, started, monoMs)
    }
    const origins = await startOrigins(lab)
    const relays = await startRelays(lab)
    const l3 = hasL3(lab.scenario)
    if (l3) await addTunRoutes(lab)
    log(`${run}: ${lab.scenario.pops.length} relays up; waiting for routes and the ${lab.scenario.warmupMs / 1000} s warm-up`)
    // An L3 flow's replies are an L3 ingress at the exit, for the branch's own service.
    const recorderFlows = lab.scenario.flows.map((f) => ({ key: f.name, service: f.origin, ingress: popOf(lab, f.client), ...(isL3Flow(lab.scenario, f.client, f.origin) ? { replyService: f.client, replyFrom: lab.plan.returnExit.get(f.origin)!.get(f.client)! } : {}) }))
    const probe = new PathRecorder(recorderFlows, (p) => controlSocket(lab, p), 0)
    await waitFor('routes for every flow', async () => {
      const cur = await probe.current()
      return [...cur.values()].every((p) => p.forward.length > 0 && p.reply.length > 0) ? true : undefined
    }, 30_000, 200)
    await sleep(Math.max(0, started + lab.scenario.warmupMs - monoMs()))
    const l3Phase = l3 ? await beginL3(lab, AGENT_START_MS + endMs + 20_000, log) : undefined

    const t0Ms = monoMs() + AGENT_START_MS
    lab.state.t0Ms = t0Ms
    saveState(lab.state)
    await controlRequest(lab.emulatorSocket, { cmd: 'reset' })
    await controlRequest(lab.emulatorSocket, { cmd: 'start', t0Ms })
    const agents = startClients(lab, t0Ms)
    const recorder = new PathRecorder(recorderFlows, (p) => controlSocket(lab, p), t0Ms)
    recorder.start()
    const relayEvents = new RelayEvents(lab, relays, t0Ms)
    relayEvents.start(lab.scenario.relayEvents)
    const originEvents = new OriginEvents(lab, t0Ms)
    originEvents.start(lab.scenario.originEvents)
    log(`${run}: traffic for ${(endMs / 1000).toFixed(1)} s (${lab.scenario.flows.length} flows, each direct and through Overpass)`)
    await waitFor('the flow agents', () => (agents.every((a) => a.child.exitCode !== null) ? true : undefined), AGENT_START_MS + endMs + 15_000, 100)
    stopProgress()
    progress?.finish()
    progress = undefined
    recorder.stop()
    relayEvents.stop()
    const relayResults = await relayEvents.done()
    const originResults = originEvents.stop()
    const originRecords = await stopOrigins(origins)
    const l3Result = l3Phase ? await endL3(lab, l3Phase) : undefined
    const emu = (await controlRequest(lab.emulatorSocket, { cmd: 'stats' })) as EmulatorStats
    const firstIngress = popOf(lab, lab.scenario.flows[0].client)
    const map = ((await controlRequest(controlSocket(lab, firstIngress), { cmd: 'map' })) as { edges: EdgeView[] }).edges
    const { result, samples, series } = collect(lab, agents, recorder, emu, map, t0Ms, originRecords, relayResults, originResults, l3Result)
    result.overlay_traffic = await overlayTraffic(lab)
    result.path_checks = await pathChecks(lab, t0Ms)
    if (opts.outDir) writeReports(opts.outDir, result, samples, series)
    if (opts.json) process.stdout.write(JSON.stringify(jsonView(result), null, 2) + '\n')
    else opts.log(formatSummary(result))
    return { result, samples, series }
  } finally {
    stopProgress()
    progress?.finish(false)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    if (opts.outDir) keepLogs(lab, opts.outDir)
    await labDown(lab.state.run)
  }
}

interface EmulatorStats {
  delay_error: { samples: number; p50_ms: number; p99_ms: number; max_ms: number; over_ms: Record<string, number> }
  host_steal_ms: number
  window_ms: number
  waker?: string
  applied: (LinkEvent & { appliedAtMs: number })[]
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const popOf = (lab: LabRun, client: string): string => lab.scenario.clients.find((c) => c.name === client)!.pop

interface OriginProc {
  what: string
  child: ReturnType<typeof spawnInNs>
  /** Where the echo writes what it received when stopped. */
  out: string
}

async function startOrigins(lab: LabRun): Promise<OriginProc[]> {
  const procs = lab.scenario.origins.map((o) => {
    // An L3 data centre answers overlay flows on its host address, not a service address.
    const overlayAddr = lab.plan.dcHostAddr.get(o.name) ?? lab.plan.originServiceAddr.get(o.name)
    const binds = [`${lab.plan.originWanAddr.get(o.name)}:${o.port}`, `${overlayAddr}:${o.port}`]
    const what = `echo-${o.name}`
    const out = path.join(lab.state.dir, `echo-${o.name}.json`)
    const child = spawnInNs(lab.state, lab.ns(o.name), what, withPriority(AGENT_RT, [process.execPath, path.join(LAB_DIST, 'run', 'echo-agent.js'), '--run-dir', lab.state.dir, '--out', out, ...binds.flatMap((b) => ['--bind', b])]))
    // The reflector stands for the origin host, like the echo agent: same priority, so the
    // loaded lab host does not starve it into missed probes a real origin would answer.
    if (lab.scenario.originProbe === 'twamp') spawnInNs(lab.state, lab.ns(o.name), `reflector-${o.name}`, withPriority(AGENT_RT, [process.execPath, BIN, 'reflector', '--listen', `${lab.plan.originServiceAddr.get(o.name)}:862`]))
    return { what, child, out }
  })
  await Promise.all(procs.map(({ what, child }) => waitFor(what, () => {
    if (child.exitCode !== null) throw new Error(`${what} exited: ${readLog(lab.state, what)}`)
    return readLog(lab.state, what).includes('echo ready') ? true : undefined
  }, 15_000)))
  return procs
}

/** Stops the origins' echoes (SIGTERM: each writes what it received) and reads their records by flow id. */
async function stopOrigins(origins: OriginProc[]): Promise<Map<number, OriginRecord[]>> {
  const byFlow = new Map<number, OriginRecord[]>()
  for (const o of origins) {
    const gone = (): boolean => o.child.exitCode !== null || o.child.signalCode !== null
    if (!gone()) o.child.kill('SIGTERM')
    await waitFor(`${o.what} to write its records`, () => (gone() ? true : undefined), 10_000, 25).catch(() => undefined)
    if (!fs.existsSync(o.out)) continue
    const flows = (JSON.parse(fs.readFileSync(o.out, 'utf8')) as { flows: Record<string, OriginRecord[]> }).flows
    for (const [id, list] of Object.entries(flows)) byFlow.set(Number(id), [...(byFlow.get(Number(id)) ?? []), ...list])
  }
  return byFlow
}

function startClients(lab: LabRun, t0Ms: number): { client: string; out: string; child: ReturnType<typeof spawnInNs> }[] {
  const s = lab.scenario
  let flowId = 1
  return s.clients.filter((c) => s.flows.some((f) => f.client === c.name)).map((c) => {
    const flows: AgentFlow[] = s.flows.filter((f) => f.client === c.name).flatMap((f) => {
      const base = { name: f.name, profile: f.profile, startMs: f.startMs, durationMs: f.durationMs }
      const origin = s.origins.find((o) => o.name === f.origin)!
      return [
        { ...base, via: 'direct' as const, flowId: flowId++, target: { host: lab.plan.originWanAddr.get(origin.name)!, port: origin.port } },
        // L3: straight to the DC host; the PoP routes it into its relay's TUN.
        { ...base, via: 'overpass' as const, flowId: flowId++, target: isL3Flow(s, c.name, origin.name) ? { host: lab.plan.dcHostAddr.get(origin.name)!, port: origin.port } : { host: lab.plan.clientGateway.get(c.name)!, port: servicePort(s, origin.name) } },
      ]
    })
    const spec = path.join(lab.state.dir, `flows-${c.name}.json`)
    const out = path.join(lab.state.dir, `result-${c.name}.json`)
    fs.writeFileSync(spec, JSON.stringify({ t0Ms, flows }))
    const child = spawnInNs(lab.state, lab.ns(c.name), `client-${c.name}`, withPriority(AGENT_RT, [process.execPath, path.join(LAB_DIST, 'run', 'flow-agent.js'), '--spec', spec, '--out', out]))
    return { client: c.name, out, child }
  })
}

function collect(lab: LabRun, agents: { client: string; out: string }[], recorder: PathRecorder, emu: EmulatorStats, map: EdgeView[], t0Ms: number, origins: Map<number, OriginRecord[]>, relayEvents: RelayEventResult[], originEvents: OriginEventResult[], l3?: L3Result): { result: LabResult; samples: FlowSamples; series: SeriesByFlow } {
  const s = lab.scenario
  const flows: FlowResult[] = []
  const samples: FlowSamples = new Map()
  const series: SeriesByFlow = new Map()
  const moments = eventMoments(s)
  for (const a of agents) {
    if (!fs.existsSync(a.out)) throw new Error(`client ${a.client} wrote no result: ${readLog(lab.state, `client-${a.client}`)}`)
    const r = JSON.parse(fs.readFileSync(a.out, 'utf8')) as AgentResult
    for (const { flow, report, samples: sm } of r.flows) {
      const spec = s.flows.find((f) => f.name === flow.name)!
      const expected = expectedFor(s, spec.client, spec.origin)
      const origin = s.origins.find((o) => o.name === spec.origin)!
      const pop = popOf(lab, spec.client)
      const paths = flow.via === 'direct' ? [{ t_ms: 0, forward: [pop, origin.wanPop], reply: [origin.wanPop, pop] }] : recorder.series.get(flow.name) ?? []
      const flowSeries: FlowSeries = buildSeries(report.sent, origins.get(flow.flowId) ?? [], sm as ClientRecord[], t0Ms)
      flows.push({
        name: flow.name, via: flow.via, client: spec.client, origin: spec.origin,
        sent: report.sent, received: report.received, loss_pct: report.loss_pct,
        ...directionLoss(flowSeries),
        p50_ms: report.forward.p50_ms, p99_ms: report.forward.p99_ms, jitter_ms: report.forward.jitter_ms,
        max_gap_ms: report.max_gap_ms, reordered: report.reordered,
        forward: report.forward, reverse: report.reverse, rtt: report.rtt, paths,
        path_changes: countPathChanges(paths),
        around_events: eventFigures(flowSeries, moments, spec.startMs + spec.durationMs),
        expected,
      })
      samples.set(`${flow.name}/${flow.via}`, sm)
      series.set(`${flow.name}/${flow.via}`, flowSeries)
    }
  }
  const n = s.pops.length
  const delayMs = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => s.links.find((l) => l.from === s.pops[i] && l.to === s.pops[j])?.delayMs ?? 0))
  const result: LabResult = {
    scenario: s.name,
    run: lab.state.run,
    flows,
    emulator: { backend: lab.wan, delay_error_p50_ms: emu.delay_error.p50_ms, delay_error_p99_ms: emu.delay_error.p99_ms, delay_error_max_ms: emu.delay_error.max_ms, delay_error_over_ms: emu.delay_error.over_ms, samples: emu.delay_error.samples, realtime: rtUsable(), ...(emu.waker ? { waker: emu.waker } : {}), host_steal_ms: emu.host_steal_ms, window_ms: +emu.window_ms.toFixed(0) },
    events: emu.applied.map(({ appliedAtMs, ...e }) => ({ ...e, applied_ms: +(appliedAtMs - t0Ms).toFixed(2) })),
    relay_events: relayEvents,
    origin_events: originEvents,
    map,
    wan: { pops: s.pops, delayMs },
    ...(l3 ? { l3 } : {}),
  }
  return { result, samples, series }
}

/** --json: the result without the bulky latency map. */
function jsonView(r: LabResult): unknown {
  return { scenario: r.scenario, run: r.run, flows: r.flows, emulator: r.emulator, events: r.events, relay_events: r.relay_events, origin_events: r.origin_events, ...(r.overlay_traffic ? { overlay_traffic: r.overlay_traffic } : {}), ...(r.path_checks ? { path_checks: r.path_checks } : {}), ...(r.l3 ? { l3: r.l3 } : {}) }
}
