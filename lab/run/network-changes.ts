/**
 * The network changes of a `relays.network: signed` run, each made the way
 * docs/operating.md tells an operator to make it: edit the network file,
 * sign it, push it to one running member (network-kit.ts `publish`), and
 * let the version spread. No relay is restarted or reloaded by the lab,
 * except where the guide says so (the rotated relay's own key file).
 *
 * - join: the version adding the PoP goes out first (members must know its
 *   key); then, in its namespace, `overpass network fetch` from the one
 *   member its local file names, and `overpass up`.
 * - rotate-key: announce the next key pair, switch the relay's local file
 *   to it (`overpass reload`), and after a grace period retire the old pair.
 * - move-endpoint: the PoP gets a second address in its WAN /24; a version
 *   lists both (new first) and every peer sends to the new one; the relay
 *   sends from the new one (its default route's source), and a last
 *   version lists only the new one: from then on a datagram from the old
 *   address would be dropped (`unknown_source`), so a flow that keeps
 *   running through the relay shows the move took.
 * - remove: a version without the PoP; once every other relay runs it the
 *   PoP's relay is stopped (SIGTERM), as a decommissioned one would be.
 * - canary-cut: a version naming the PoP its only canary and giving every
 *   other relay an endpoint nobody listens on. The canary takes it, loses
 *   every peer, and must roll back by itself; the others must hold it.
 * - add-service: a version with a second service (`voice`) beside the one
 *   of the first flow entering at the PoP: same origin and exits, its own
 *   port at the PoP. The relays apply it live (node/live-apply.ts); then a
 *   client at the PoP sends a probe burst through the new port
 *   (service-probe.ts), and the PoP's boot id shows it did not restart.
 * - bad-canary: a version naming the PoP its only canary in which the
 *   PoP's own sign_key is wrong: invalid for the canary (it could not prove
 *   itself to its peers), which must hold it aside `invalid`, while every
 *   other relay holds it `waiting_canaries` and nobody applies it.
 *
 * Every step is stamped in ms since traffic t0 (`steps`).
 */
import fs from 'node:fs'
import path from 'node:path'
import { generatePrivateKey } from '../../src/config/index.js'
import { controlRequest } from '../../src/daemon/control-server.js'
import { monoMs } from '../traffic/index.js'
import { ip, waitFor } from '../topo/sh.js'
import { readLog, spawnInNs } from '../topo/procs.js'
import type { NetworkAction } from '../scenario/index.js'
import { LAB_DIST, type LabRun } from '../topo/up.js'
import { keyFields, type NetworkKit, type RelayEntry } from './network-kit.js'
import { BIN, controlSocket, RELAY_PORT, SERVICE_BASE_PORT, startRelay, type RelayProcs } from './relays.js'

/** A port no relay listens on: the endpoints of a cutting version. */
const DEAD_PORT = RELAY_PORT + 1
/** Between a rotated relay switching to its new key and the old one being retired. */
export const ROTATION_GRACE_MS = 4000
/** How long the canary's hold lasts: longer than the rollback takes, so no other relay follows. */
const CANARY_HOLD_S = 120
/** A rollback takes the 10 s loss confirmation after the peers went quiet (rollout/), plus margin on a loaded machine. */
const ROLLBACK_WAIT_MS = 40_000
/** add-service: the added service's name, and its port at the ingress (clear of the origins' ports, relays.ts servicePort). */
export const ADDED_SERVICE = 'voice'
export const ADDED_SERVICE_PORT = SERVICE_BASE_PORT + 100
/** add-service: the client's probe burst through it (1 s at 50 Hz), and its flow id (clear of the measured flows' small ids). */
const PROBE_COUNT = 50
const PROBE_INTERVAL_MS = 20
const PROBE_FLOW_ID = 4_000_000_000
/** bad-canary: how long the canary and the others get to hold the version after the push. */
const HOLD_WAIT_MS = 10_000

export interface NetworkStep {
  step: string
  at_ms: number
  /** The network version this step published (when it published one). */
  version?: number
}

export interface NetworkChangeResult {
  steps: NetworkStep[]
  /** join and canary-cut: when the relay had a session with every running peer again. */
  sessions_ms?: number | null
  /** canary-cut: when the canary had rolled back, and what the others held meanwhile. */
  rolled_back?: { from: number; to: number }
  held_elsewhere?: Record<string, string>
  /** canary-cut and bad-canary: the version the canary ran before the push. */
  ran_before?: number
  /** bad-canary: what the canary ran and held once it refused the version. */
  canary_held?: string
  /** add-service: the client's probe burst through the new service. */
  probe?: ServiceProbe
  /** add-service: whether the ingress relay restarted meanwhile (its boot id changed). */
  restarted?: boolean
}

/** service-probe.ts's answer. */
export interface ServiceProbe {
  sent: number
  received: number
  first_reply_ms: number | null
}

export class NetworkChanges {
  constructor(private readonly lab: LabRun, private readonly procs: RelayProcs, private readonly kit: NetworkKit, private readonly t0Ms: number) {}

  async run(action: NetworkAction, pop: string): Promise<NetworkChangeResult> {
    const r: NetworkChangeResult = { steps: [] }
    const stamp = (step: string, version?: number): void => void r.steps.push({ step, at_ms: this.now(), ...(version !== undefined ? { version } : {}) })
    if (action === 'join') await this.join(pop, r, stamp)
    else if (action === 'rotate-key') await this.rotate(pop, stamp)
    else if (action === 'move-endpoint') await this.move(pop, stamp)
    else if (action === 'remove') await this.remove(pop, stamp)
    else if (action === 'add-service') await this.addService(pop, r, stamp)
    else if (action === 'bad-canary') await this.badCanary(pop, r, stamp)
    else await this.canaryCut(pop, r, stamp)
    return r
  }

  private now(): number {
    return +(monoMs() - this.t0Ms).toFixed(1)
  }

  private running(): string[] {
    return this.lab.scenario.pops.filter((p) => this.procs.children.get(p) !== undefined)
  }

  /** The member a version is pushed to: any running relay but the one changed. */
  private pushTarget(pop: string): string {
    return this.running().find((p) => p !== pop)!
  }

  /** Publishes the members' entries as the next version and waits until every running relay (but `except`) runs it. */
  private async rollOut(pop: string, stamp: (s: string, v?: number) => void, step: string, except?: string): Promise<number> {
    const v = await this.kit.publish(this.pushTarget(pop))
    stamp(`${step}: pushed`, v)
    const others = this.running().filter((p) => p !== except)
    await this.kit.waitRunning(others, v)
    stamp(`${step}: running everywhere`, v)
    await this.kit.waitHandedOver(others)
    stamp(`${step}: new routers took over everywhere`, v)
    return v
  }

  private async join(pop: string, r: NetworkChangeResult, stamp: (s: string, v?: number) => void): Promise<void> {
    this.kit.members.add(pop)
    await this.rollOut(pop, stamp, 'version adding it')
    const fetch = spawnInNs(this.lab.state, this.lab.ns(pop), `fetch-${pop}`, [process.execPath, BIN, 'network', 'fetch', '-c', this.kit.localFile(pop), '--timeout', '20'])
    const code = await new Promise<number | null>((done) => fetch.once('exit', (c) => done(c)))
    if (code !== 0) throw new Error(`overpass network fetch in ${pop} exited ${code}: ${readLog(this.lab.state, `fetch-${pop}`).slice(-1000)}`)
    stamp('fetched the network file from its bootstrap member')
    await startRelay(this.lab, this.procs, pop)
    stamp('relay up')
    r.sessions_ms = await this.sessionsWithAll(pop, 15_000)
  }

  private async rotate(pop: string, stamp: (s: string, v?: number) => void): Promise<void> {
    const entry = this.kit.entries.get(pop)!
    const next = this.kit.writeKey(pop, `${pop}-next.key`)
    const nextFields = keyFields(next)
    Object.assign(entry, { next_public_key: nextFields.public_key, next_sign_key: nextFields.sign_key })
    await this.rollOut(pop, stamp, 'next key announced')
    const local = this.kit.localFile(pop)
    fs.writeFileSync(local, fs.readFileSync(local, 'utf8').replace(`private_key_file: ${pop}.key`, `private_key_file: ${pop}-next.key`))
    await this.kit.reload(pop)
    stamp('relay switched to the next key (overpass reload)')
    await sleep(ROTATION_GRACE_MS)
    delete entry.next_public_key
    delete entry.next_sign_key
    Object.assign(entry, nextFields)
    await this.rollOut(pop, stamp, 'old key retired')
  }

  private async move(pop: string, stamp: (s: string, v?: number) => void): Promise<void> {
    const ns = this.lab.ns(pop)
    const gateway = this.lab.plan.relayAddr.get(pop)!.replace(/\.2$/, '.1')
    const old = this.kit.entries.get(pop)!.endpoint as string
    // The PoP's new address: the same WAN /24 (the same place on the emulated WAN), host .3.
    const addr = this.lab.plan.relayAddr.get(pop)!.replace(/\.2$/, '.3')
    ip(ns, 'addr', 'add', `${addr}/24`, 'dev', 'wan0')
    stamp(`new address ${addr}`)
    const entry = this.kit.entries.get(pop)!
    delete entry.endpoint
    entry.endpoints = [`${addr}:${RELAY_PORT}`, old]
    await this.rollOut(pop, stamp, 'both endpoints listed, new first')
    await this.peersSendTo(pop, `${addr}:${RELAY_PORT}`)
    stamp('every peer sends to the new address')
    // The relay listens on 0.0.0.0: from now on its datagrams leave from the new address.
    ip(ns, 'route', 'replace', 'default', 'via', gateway, 'dev', 'wan0', 'src', addr)
    stamp('relay sends from the new address')
    delete entry.endpoints
    entry.endpoint = `${addr}:${RELAY_PORT}`
    await this.rollOut(pop, stamp, 'old endpoint dropped')
  }

  private async remove(pop: string, stamp: (s: string, v?: number) => void): Promise<void> {
    this.kit.members.delete(pop)
    await this.rollOut(pop, stamp, 'version without it', pop)
    const child = this.procs.children.get(pop)
    this.procs.children.set(pop, undefined)
    child?.kill('SIGTERM')
    await waitFor(`relay ${pop} to stop`, () => (child === undefined || child.exitCode !== null || child.signalCode !== null ? true : undefined), 10_000, 25)
    stamp('relay stopped')
  }

  private async addService(pop: string, r: NetworkChangeResult, stamp: (s: string, v?: number) => void): Promise<void> {
    const s = this.lab.scenario
    const l4 = new Set(s.origins.filter((o) => o.prefix === undefined).map((o) => o.name))
    const flow = s.flows.find((f) => l4.has(f.origin) && s.clients.some((c) => c.name === f.client && c.pop === pop && c.prefix === undefined))!
    const bootBefore = await this.bootId(pop)
    this.kit.addService(ADDED_SERVICE, flow.origin, pop, ADDED_SERVICE_PORT)
    await this.rollOut(pop, stamp, `service ${ADDED_SERVICE} added`)
    const what = `probe-${flow.client}-${ADDED_SERVICE}`
    const probe = spawnInNs(this.lab.state, this.lab.ns(flow.client), what, [process.execPath, path.join(LAB_DIST, 'run', 'service-probe.js'), '--target', `${this.lab.plan.clientGateway.get(flow.client)}:${ADDED_SERVICE_PORT}`, '--flow', String(PROBE_FLOW_ID), '--count', String(PROBE_COUNT), '--interval-ms', String(PROBE_INTERVAL_MS)])
    const code = await new Promise<number | null>((done) => probe.once('exit', (c) => done(c)))
    const out = readLog(this.lab.state, what).trim().split('\n').at(-1) ?? ''
    if (code !== 0) throw new Error(`service probe in ${flow.client} exited ${code}: ${out}`)
    r.probe = JSON.parse(out) as ServiceProbe
    stamp(`client ${flow.client} probed it: ${r.probe.received} of ${r.probe.sent} echoed`)
    r.restarted = (await this.bootId(pop)) !== bootBefore
  }

  private async badCanary(pop: string, r: NetworkChangeResult, stamp: (s: string, v?: number) => void): Promise<void> {
    r.ran_before = (await this.kit.versionStatus(pop))?.running
    // Another key's sign_key: the canary's own entry no longer matches its key, so the version is invalid there only.
    const wrong = keyFields(generatePrivateKey()).sign_key
    const relays = [...this.kit.entries.values()].filter((e) => this.kit.members.has(e.id)).map((e) => (e.id === pop ? { ...e, sign_key: wrong } : e))
    const v = await this.kit.publish(this.pushTarget(pop), { relays, extra: { rollout: { canaries: [pop], hold_s: CANARY_HOLD_S } } })
    stamp('bad version pushed', v)
    const held = async (p: string, reason: string): Promise<string> => waitFor(`${p} to hold version ${v} (${reason})`, async () => {
      const st = await this.kit.versionStatus(p)
      return st?.held?.version === v && st.held.reason === reason ? `running ${st.running}, held ${v} (${reason})` : undefined
    }, HOLD_WAIT_MS, 100)
    r.canary_held = await held(pop, 'invalid')
    stamp('canary refused it (invalid)')
    r.held_elsewhere = {}
    for (const p of this.running().filter((q) => q !== pop)) r.held_elsewhere[p] = await held(p, 'waiting_canaries')
    stamp('every other relay holds it (waiting_canaries)')
  }

  private async bootId(pop: string): Promise<number | undefined> {
    const s = (await controlRequest(controlSocket(this.lab, pop), { cmd: 'status' }, 1000).catch(() => undefined)) as { boot_id?: number } | undefined
    return s?.boot_id
  }

  private async canaryCut(pop: string, r: NetworkChangeResult, stamp: (s: string, v?: number) => void): Promise<void> {
    r.ran_before = (await this.kit.versionStatus(pop))?.running
    const relays: RelayEntry[] = [...this.kit.entries.values()].filter((e) => this.kit.members.has(e.id)).map((e) => {
      if (e.id === pop) return e
      const { endpoint, endpoints, ...rest } = e as RelayEntry & { endpoint?: string; endpoints?: string[] }
      const first = endpoint ?? endpoints![0]
      return { ...rest, endpoint: first.replace(/:\d+$/, `:${DEAD_PORT}`) }
    })
    const v = await this.kit.publish(this.pushTarget(pop), { relays, extra: { rollout: { canaries: [pop], hold_s: CANARY_HOLD_S } } })
    stamp('cutting version pushed', v)
    await this.kit.waitRunning([pop], v)
    stamp('canary runs it')
    const back = await waitFor(`${pop} to roll back version ${v}`, async () => {
      const s = await this.kit.versionStatus(pop)
      return s?.last_rollback?.from === v && s.running < v ? s.last_rollback : undefined
    }, ROLLBACK_WAIT_MS, 100)
    stamp('canary rolled back by itself')
    r.rolled_back = back
    r.sessions_ms = await this.sessionsWithAll(pop, 20_000)
    r.held_elsewhere = {}
    for (const p of this.running().filter((q) => q !== pop)) {
      const s = await this.kit.versionStatus(p)
      r.held_elsewhere[p] = `running ${s?.running}, held ${s?.held ? `${s.held.version} (${s.held.reason})` : 'nothing'}`
    }
  }

  /** Waits until every other running relay's `status` shows `endpoint` as the one it sends to for `pop`. */
  private async peersSendTo(pop: string, endpoint: string): Promise<void> {
    for (const p of this.running().filter((q) => q !== pop)) {
      await waitFor(`${p} to send to ${pop} at ${endpoint}`, async () => {
        const s = (await controlRequest(controlSocket(this.lab, p), { cmd: 'status' }, 1000).catch(() => undefined)) as { peers?: Record<string, { endpoint?: string }> } | undefined
        return s?.peers?.[pop]?.endpoint === endpoint ? true : undefined
      }, 10_000, 100)
    }
  }

  /** When `pop` has a session with every other running relay (null: not within `timeoutMs`). */
  private async sessionsWithAll(pop: string, timeoutMs: number): Promise<number | null> {
    const peers = this.running().filter((p) => p !== pop)
    return waitFor(`${pop} sessions`, async () => {
      const s = (await controlRequest(controlSocket(this.lab, pop), { cmd: 'status' }, 1000).catch(() => undefined)) as { peers?: Record<string, { session?: boolean }> } | undefined
      return s?.peers && peers.every((p) => s.peers![p]?.session === true) ? this.now() : undefined
    }, timeoutMs, 100).catch(() => null)
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
