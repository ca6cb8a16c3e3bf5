/**
 * One relay per PoP: configs rendered with renderRelayYaml (fresh throwaway
 * keys), one `overpass up` per PoP namespace. Each origin becomes a service
 * (named after it) with an ingress at every PoP that has a client flowing to
 * it and the origin's exits; no static paths, so routes come from the map.
 * Runs with L3 sites also give every relay a TUN and the `mode: l3`
 * services of l3-config.ts, and route the sites' prefixes into the TUNs
 * once the relays are up.
 * With `relays.network: signed` the relays run from an operator-signed
 * network file and a local file each instead (network-kit.ts), and a PoP
 * that joins later is not started with the others.
 */
import type { ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { renderPeerKeys, renderRelayYaml, type RenderService } from '../../src/config/render.js'
import { RELAY_NODE_FLAGS } from '../../src/cli/relay-process.js'
import { encodeKey, generateKeyPair } from '../../src/crypto/index.js'
import { controlRequest } from '../../src/daemon/control-server.js'
import type { Scenario } from '../scenario/index.js'
import type { AddressPlan } from '../topo/addressing.js'
import { readLog, spawnInNs } from '../topo/procs.js'
import { ip, waitFor } from '../topo/sh.js'
import type { LabRun } from '../topo/up.js'
import { LAB_DIST } from '../topo/up.js'
import { hasL3, l3Section, l3Services } from './l3-config.js'
import { NetworkKit } from './network-kit.js'
import { RELAY_RT, withPriority } from './priority.js'

export const RELAY_PORT = 7000
export const SERVICE_BASE_PORT = 20000
export const BIN = path.resolve(LAB_DIST, '..', '..', 'bin', 'overpass.js')

export const servicePort = (s: Scenario, origin: string): number => SERVICE_BASE_PORT + s.origins.findIndex((o) => o.name === origin)
export const controlSocket = (lab: LabRun, pop: string): string => path.join(lab.state.dir, `${pop}.sock`)

export function services(s: Scenario, plan: AddressPlan): RenderService[] {
  // L3 data centres are `mode: l3` services (l3-config.ts), not ports.
  return s.origins.filter((o) => o.prefix === undefined).map((o) => {
    const flows = s.flows.filter((f) => f.origin === o.name)
    const ingressPops = [...new Set(flows.map((f) => s.clients.find((c) => c.name === f.client)!.pop))]
    return {
      name: o.name,
      ingress: ingressPops.map((p) => ({ relay: p, listen: `0.0.0.0:${servicePort(s, o.name)}` })),
      origin: `${plan.originServiceAddr.get(o.name)}:${o.port}`,
      exits: o.exits,
      profile: flows.some((f) => f.profile === 'voip') ? 'rtc' : 'gaming',
      ...(s.redundant ? { redundant: true } : {}),
      origin_probe: s.originProbe === 'twamp' ? { method: 'twamp', ...(s.originProbeIntervalMs !== undefined ? { interval: `${s.originProbeIntervalMs}ms` } : {}) } : { method: 'none', assumed_rtt: '0ms' },
    }
  }).filter((svc) => svc.ingress.length > 0)
}

export function writeRelayConfigs(lab: LabRun): Map<string, string> {
  const { scenario: s, plan } = lab
  const keys = new Map(s.pops.map((p) => [p, generateKeyPair()]))
  const svcs = services(s, plan)
  const l3 = hasL3(s)
  const files = new Map<string, string>()
  for (const p of s.pops) {
    const yaml = renderRelayYaml({
      id: p,
      privateKey: encodeKey(keys.get(p)!.privateKey),
      listen: `${plan.relayAddr.get(p)}:${RELAY_PORT}`,
      controlSocket: controlSocket(lab, p),
      peers: s.pops.filter((q) => q !== p).map((q) => ({ id: q, ...renderPeerKeys(keys.get(q)!.privateKey), endpoint: `${plan.relayAddr.get(q)}:${RELAY_PORT}` })),
      services: l3 ? [...svcs, ...l3Services(s)] : svcs,
      ...(l3 ? { l3: l3Section(p) } : {}),
      ...(Object.keys(s.routing).length > 0 ? { extra: { routing: s.routing } } : {}),
    }, `Overpass lab relay ${p} for run ${lab.state.run} (generated; throwaway keys)`)
    const file = path.join(lab.state.dir, `${p}.yaml`)
    fs.writeFileSync(file, yaml, { mode: 0o600 })
    files.set(p, file)
  }
  return files
}

/** The relay processes of a run: the live one per PoP (none while killed) and each PoP's config file. */
export interface RelayProcs {
  children: Map<string, ChildProcess | undefined>
  files: Map<string, string>
  /** relays.network: signed: the operator's kit (network-kit.ts); `files` are then the local files. */
  kit?: NetworkKit
}

/**
 * Starts every relay and resolves once each answers `status` on its control
 * socket. With a signed network, a PoP that joins later is not started.
 */
export async function startRelays(lab: LabRun): Promise<RelayProcs> {
  if (lab.scenario.network === 'signed') {
    const kit = new NetworkKit(lab)
    const procs: RelayProcs = { children: new Map(), files: new Map(lab.scenario.pops.map((p) => [p, kit.localFile(p)])), kit }
    await Promise.all([...kit.members].map((p) => startRelay(lab, procs, p)))
    return procs
  }
  const files = writeRelayConfigs(lab)
  const procs: RelayProcs = { children: new Map(), files }
  await Promise.all(lab.scenario.pops.map((p) => startRelay(lab, procs, p)))
  return procs
}

/**
 * Starts (or starts again) the relay of PoP `p` with its config file, so
 * with the same keys and the same state file; resolves with its `status`
 * once it answers on its control socket (a crashed relay's socket file is
 * removed by the daemon).
 */
export async function startRelay(lab: LabRun, procs: RelayProcs, p: string): Promise<Record<string, unknown>> {
  // OVERPASS_TEST_FAULTS: the lab may tell its relays to misbehave (scenario action drop-data, daemon/test-faults.ts).
  const argv = ['env', 'OVERPASS_TEST_FAULTS=1', process.execPath, ...RELAY_NODE_FLAGS, BIN, 'up', '-c', procs.files.get(p)!, '--log-format', 'json']
  const child = spawnInNs(lab.state, lab.ns(p), `relay-${p}`, withPriority(RELAY_RT, argv))
  procs.children.set(p, child)
  return waitFor(`relay ${p}`, async () => {
    if (child.exitCode !== null) throw new Error(`relay ${p} exited: ${readLog(lab.state, `relay-${p}`).slice(-2000)}`)
    return ((await controlRequest(controlSocket(lab, p), { cmd: 'status' })) as Record<string, unknown>) ?? undefined
  }, 20_000, 50)
}

/** Kills the relay of PoP `p` with SIGKILL (a crash: nothing is flushed or said goodbye) and waits until it is gone. */
export async function killRelay(procs: RelayProcs, p: string): Promise<void> {
  const child = procs.children.get(p)
  procs.children.set(p, undefined)
  const gone = (): boolean => child === undefined || child.exitCode !== null || child.signalCode !== null
  if (gone()) return
  child!.kill('SIGKILL')
  // Node reaps its children; until then kill(pid, 0) would still find the zombie.
  await waitFor(`relay ${p} to die`, () => (gone() ? true : undefined), 5000, 10)
}

/**
 * L3 runs: once every relay is up (so its TUN exists), routes the DC
 * prefixes into the branch PoPs' TUNs and the branch prefixes into the
 * exits' TUNs (topo/addressing.ts `tunRoutes`).
 */
export async function addTunRoutes(lab: LabRun): Promise<void> {
  for (const [pop, routes] of lab.plan.tunRoutes) {
    const ns = lab.ns(pop)
    const dev = routes[0][2]
    await waitFor(`TUN ${dev} in ${pop}`, () => (ip(ns, '-o', 'link', 'show', 'dev', dev).includes('UP') ? true : undefined), 10_000, 100)
    for (const r of routes) ip(ns, 'route', 'replace', ...r)
  }
}
