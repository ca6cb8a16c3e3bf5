/**
 * The relays of a `relays.network: signed` run, configured the way an
 * operator of many PoPs does it (docs/operating.md): one network file signed
 * with an operator key, and per relay only a local file and its key.
 *
 * - `operator/`: operator.key and the master network.yaml (+ .sig);
 * - `relay-<pop>/`: the relay's local file, key, and its own copy of the
 *   signed file (the relay rewrites it as it adopts versions). A PoP that
 *   joins later gets only its local file, naming one member to bootstrap
 *   from (`network.bootstrap`), and its key.
 *
 * After the first version every change goes out as the operator makes it:
 * sign the master file, hand it to one running member, never to each relay
 * (run/network-changes.ts).
 */
import fs from 'node:fs'
import path from 'node:path'
import { stringify } from 'yaml'
import { operatorKeyText, signNetworkFile } from '../../src/cli/commands/network.js'
import { encodeKey, generatePrivateKey, publicKeyOf, signPublicKeyOf } from '../../src/config/index.js'
import { generateOperatorSeed, operatorKeyPairOf } from '../../src/crypto/operator-signing.js'
import { controlRequest } from '../../src/daemon/control-server.js'
import type { Scenario } from '../scenario/index.js'
import { waitFor } from '../topo/sh.js'
import type { LabRun } from '../topo/up.js'
import { controlSocket, RELAY_PORT, services } from './relays.js'

/** One relay's entry in the network file (as written: snake_case keys). */
export type RelayEntry = Record<string, unknown> & { id: string }

/** The `network_version` block of `overpass status --json` (rollout/ VersionStatus). */
export interface VersionStatusView {
  running: number
  newest?: number
  held?: { version: number; reason: string }
  last_rollback?: { from: number; to: number }
}

/** PoPs outside the network at the start: those whose first relay event is a join. */
export function joiningPops(s: Scenario): Set<string> {
  const first = new Map<string, string>()
  for (const e of s.relayEvents) if (!first.has(e.pop)) first.set(e.pop, e.action)
  return new Set([...first].filter(([, a]) => a === 'join').map(([p]) => p))
}

export class NetworkKit {
  readonly operatorDir: string
  /** The master network file the operator edits and signs. */
  readonly master: string
  readonly operatorKeyFile: string
  /** The relays' entries by PoP, in scenario order; those listed in the file are `members`. */
  readonly entries = new Map<string, RelayEntry>()
  readonly members = new Set<string>()
  version = 0
  private readonly rest: Record<string, unknown>

  constructor(private readonly lab: LabRun) {
    const s = lab.scenario
    this.operatorDir = path.join(lab.state.dir, 'operator')
    this.master = path.join(this.operatorDir, 'network.yaml')
    this.operatorKeyFile = path.join(this.operatorDir, 'operator.key')
    fs.mkdirSync(this.operatorDir, { recursive: true, mode: 0o700 })
    const seed = generateOperatorSeed()
    fs.writeFileSync(this.operatorKeyFile, operatorKeyText(seed), { mode: 0o600 })
    const operatorKey = encodeKey(operatorKeyPairOf(seed).publicKey)
    this.rest = {
      services: services(s, lab.plan).map((svc) => ({ mode: 'l4', delivery: 'proxy', ...svc })),
      ...(Object.keys(s.tuning).length > 0 ? { tuning: s.tuning } : {}),
      ...(Object.keys(s.routing).length > 0 ? { routing: s.routing } : {}),
    }
    const joining = joiningPops(s)
    for (const p of s.pops) {
      const key = generatePrivateKey()
      fs.mkdirSync(this.relayDir(p), { recursive: true, mode: 0o700 })
      this.writeKey(p, `${p}.key`, key)
      this.entries.set(p, { id: p, ...keyFields(key), endpoint: `${lab.plan.relayAddr.get(p)}:${RELAY_PORT}` })
      if (!joining.has(p)) this.members.add(p)
    }
    const bootstrapFrom = s.pops.find((p) => !joining.has(p))!
    for (const p of s.pops) {
      const relay = { id: p, private_key_file: `${p}.key`, listen: `0.0.0.0:${RELAY_PORT}`, control_socket: controlSocket(lab, p) }
      const network = { file: 'network.yaml', operator_key: operatorKey, ...(joining.has(p) ? { bootstrap: this.entries.get(bootstrapFrom) } : {}) }
      fs.writeFileSync(this.localFile(p), `# ${p}'s local file (lab run ${lab.state.run})\n` + stringify({ relay, network }), { mode: 0o600 })
    }
    this.writeMaster()
    signNetworkFile(this.master, this.operatorKeyFile, ++this.version)
    for (const p of this.members) for (const f of ['network.yaml', 'network.yaml.sig']) fs.copyFileSync(path.join(this.operatorDir, f), path.join(this.relayDir(p), f))
  }

  relayDir(p: string): string {
    return path.join(this.lab.state.dir, `relay-${p}`)
  }

  localFile(p: string): string {
    return path.join(this.relayDir(p), `${p}.yaml`)
  }

  /** Writes a private key file (mode 0600) into the relay's folder; returns the key. */
  writeKey(p: string, name: string, key = generatePrivateKey()): Uint8Array {
    fs.writeFileSync(path.join(this.relayDir(p), name), `private_key: ${encodeKey(key)}\n${Object.entries(keyFields(key)).map(([k, v]) => `${k}: ${v}`).join('\n')}\n`, { mode: 0o600 })
    return key
  }

  /**
   * The operator's step: writes the master file (the members' entries, or
   * `override` for a one-off version such as a cutting canary), signs the
   * next version and hands it to `to`. The same calls as `overpass network
   * sign` and `overpass network push` (signNetworkFile, and the control
   * request `network-offer`), made in-process: two CLI starts per version
   * cost seconds on a loaded machine, and the guide test
   * (test/lab/three-vm-guide.test.ts) runs the commands themselves.
   */
  async publish(to: string, override?: { relays: RelayEntry[]; extra?: Record<string, unknown> }): Promise<number> {
    this.writeMaster(override)
    const version = ++this.version
    signNetworkFile(this.master, this.operatorKeyFile, version)
    const v = (await controlRequest(controlSocket(this.lab, to), { cmd: 'network-offer', file: this.master }, 5000)) as { accepted: boolean; reason?: string; detail?: string }
    if (!v.accepted) throw new Error(`push of version ${version} to ${to} refused (${v.reason}): ${v.detail}`)
    return version
  }

  /**
   * Adds a service to the versions published from now on: a copy of the
   * service of `origin` (same origin, exits and profile) named `name`, with
   * one ingress, at `pop` on `port`.
   */
  addService(name: string, origin: string, pop: string, port: number): void {
    const list = this.rest.services as Record<string, unknown>[]
    const base = list.find((svc) => svc.name === origin)
    if (base === undefined) throw new Error(`no service for origin ${origin}`)
    list.push({ ...base, name, ingress: [{ relay: pop, listen: `0.0.0.0:${port}` }] })
  }

  /** `overpass reload` of a relay (the control request): throws unless it applied the change. */
  async reload(p: string): Promise<string[]> {
    const r = (await controlRequest(controlSocket(this.lab, p), { cmd: 'reload' }, 15_000)) as { status: string; changes?: string[] }
    if (r.status !== 'applied') throw new Error(`reload of ${p}: ${JSON.stringify(r)}`)
    return r.changes ?? []
  }

  async versionStatus(p: string): Promise<VersionStatusView | undefined> {
    const s = (await controlRequest(controlSocket(this.lab, p), { cmd: 'status' }, 1000).catch(() => undefined)) as { network_version?: VersionStatusView } | undefined
    return s?.network_version
  }

  /** Waits until every relay in `pops` runs `version` (or newer). */
  async waitRunning(pops: Iterable<string>, version: number, timeoutMs = 20_000): Promise<void> {
    const list = [...pops]
    await waitFor(`version ${version} running on ${list.join(', ')}`, async () => {
      for (const p of list) if (((await this.versionStatus(p))?.running ?? 0) < version) return undefined
      return true
    }, timeoutMs, 100)
  }

  /**
   * Waits until no relay in `pops` is handing over to a new router
   * (`status` config.handing_over): until then the old router still routes,
   * e.g. through a relay the version removed.
   */
  async waitHandedOver(pops: Iterable<string>, timeoutMs = 15_000): Promise<void> {
    const list = [...pops]
    await waitFor(`the hand-over to new routers on ${list.join(', ')}`, async () => {
      for (const p of list) {
        const s = (await controlRequest(controlSocket(this.lab, p), { cmd: 'status' }, 1000).catch(() => undefined)) as { config?: { handing_over?: boolean } } | undefined
        if (s?.config?.handing_over !== false) return undefined
      }
      return true
    }, timeoutMs, 100)
  }

  private writeMaster(override?: { relays: RelayEntry[]; extra?: Record<string, unknown> }): void {
    const relays = override?.relays ?? [...this.entries.values()].filter((e) => this.members.has(e.id))
    const doc = { relays, ...this.rest, ...override?.extra }
    fs.writeFileSync(this.master, `# lab run ${this.lab.state.run}: the network file, signed with operator.key\n` + stringify(doc))
  }
}

/** The public half of a relay's entry for this private key. */
export function keyFields(key: Uint8Array): { public_key: string; sign_key: string } {
  return { public_key: encodeKey(publicKeyOf(key)), sign_key: encodeKey(signPublicKeyOf(key)) }
}
