/**
 * Network versions on real daemons over loopback (in-process, real sockets
 * and sessions):
 * - spreading: a version pushed to one relay reaches the others, which
 *   apply it live (the default applier, no restart) and save it as their
 *   network file, which passes `overpass check`; a forged one is refused and never
 *   spreads; a new relay fetches the file from one member (bootstrap); an
 *   older file put back on disk is refused at start (anti-rollback);
 * - canary hold-back, with the canary's real sessions and map as its health;
 * - rollback: a relay that takes a version cutting it off goes back by itself.
 */
import dgram from 'node:dgram'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { kitFiles } from '../../src/cli/commands/init.js'
import { fetchNetwork, signNetworkFile } from '../../src/cli/commands/network.js'
import { loadConfig } from '../../src/config/index.js'
import { generatePrivateKey } from '../../src/config/index.js'
import { startDaemon, type RunningDaemon } from '../../src/daemon/index.js'
import { readRunningVersion } from '../../src/daemon/network-version.js'
import { silentLogger } from '../../src/io/log.js'
import type { VersionStatus } from '../../src/rollout/index.js'
import { freePorts, runCli, waitFor } from '../integration/harness.js'

const RELAYS = ['lax', 'sea', 'dal']
/** Listed in the network file from version 1, but started only later, from its local file alone. */
const NEW = 'nyc'
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'overpass-netver-'))
const daemons: RunningDaemon[] = []
afterAll(() => {
  for (const d of daemons) d.stop()
  fs.rmSync(root, { recursive: true, force: true })
})

/** The operator's folder (operator.key, network.yaml) and one folder per relay with its own copy of the signed file. */
function writeKit(ports: number[], sub = 'spread'): { operator: string; relayDir: (id: string) => string } {
  const base = path.join(root, sub)
  const operator = path.join(base, 'operator')
  fs.mkdirSync(operator, { recursive: true })
  const all = [...RELAYS, NEW]
  const files = kitFiles({ relays: all, loopback: true, basePort: 0 }, { relays: all.map(() => generatePrivateKey()), operatorSeed: new Uint8Array(32).fill(3) })
  for (const f of files) {
    // Loopback kit with base port 0: relay i's endpoint and listen address end in ":i", set to its free port here.
    const text = f.name.endsWith('.yaml') ? all.reduce((t, _id, i) => t.replace(`127.0.0.1:${i}\n`, `127.0.0.1:${ports[i]}\n`), f.text) : f.text
    fs.writeFileSync(path.join(operator, f.name), text, { mode: f.mode })
  }
  signNetworkFile(path.join(operator, 'network.yaml'), path.join(operator, 'operator.key'), 1)
  for (const id of RELAYS) {
    const dir = path.join(base, id)
    fs.mkdirSync(dir)
    for (const f of ['network.yaml', 'network.yaml.sig', `${id}.yaml`, `${id}.key`]) fs.copyFileSync(path.join(operator, f), path.join(dir, f))
  }
  // The new relay gets its key and a local file naming one member (sea, as listed in the network file), nothing else.
  const dir = path.join(base, NEW)
  fs.mkdirSync(dir)
  fs.copyFileSync(path.join(operator, `${NEW}.key`), path.join(dir, `${NEW}.key`))
  const sea = (parse(fs.readFileSync(path.join(operator, 'network.yaml'), 'utf8')) as { relays: { id: string }[] }).relays.find((r) => r.id === 'sea')
  const local = parse(fs.readFileSync(path.join(operator, `${NEW}.yaml`), 'utf8')) as { network: Record<string, unknown> }
  local.network.bootstrap = sea
  fs.writeFileSync(path.join(dir, `${NEW}.yaml`), stringify(local))
  return { operator, relayDir: (id) => path.join(base, id) }
}

/** True when a UDP port on 127.0.0.1 is bound by someone (a relay's service socket). */
function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4')
    s.once('error', () => resolve(true))
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(false)))
  })
}

describe('network versions between running daemons', () => {
  it('spreads a signed version: every relay applies it live, without a restart, and saves it for the next start', async () => {
    const ports = await freePorts(6)
    const kit = writeKit(ports)
    const appliedOnDal: number[] = []
    for (const id of RELAYS) {
      const config = loadConfig(path.join(kit.relayDir(id), `${id}.yaml`))
      const networkApplier = id === 'dal' ? { apply: (f: { version: number }) => (appliedOnDal.push(f.version), { outcome: 'applied' as const }) } : undefined
      daemons.push(await startDaemon(config, { log: silentLogger, noControlSocket: id !== 'lax', networkApplier }))
    }
    const [lax, sea, dal] = daemons
    const netStatus = (d: RunningDaemon): VersionStatus => d.versions!.status()

    // The operator moves nyc (not running yet) to another port, signs version 2, and hands it to lax.
    const master = path.join(kit.operator, 'network.yaml')
    const v1 = { yaml: fs.readFileSync(master), sig: fs.readFileSync(master + '.sig') }
    const moved = v1.yaml.toString('utf8').replace(`127.0.0.1:${ports[3]}\n`, `127.0.0.1:${ports[4]}\n`)
    expect(moved).not.toBe(v1.yaml.toString('utf8'))
    fs.writeFileSync(master, moved)
    signNetworkFile(master, path.join(kit.operator, 'operator.key'))
    const push = await runCli(['network', 'push', '-c', path.join(kit.relayDir('lax'), 'lax.yaml'), master])
    expect(push.stderr).toBe('')
    expect(push.stdout).toBe('version 2 accepted; the relay applies it (see overpass status) and passes it on\n')

    const spread = await waitFor(() => netStatus(sea).running === 2 && netStatus(dal).running === 2 && netStatus(lax).running === 2, 20_000, 50)
    expect({ lax: netStatus(lax), sea: netStatus(sea), dal: netStatus(dal) }).toMatchObject({
      lax: { running: 2, on_disk: 2, newest: 2 },
      sea: { running: 2, on_disk: 2, newest: 2 },
      dal: { running: 2, on_disk: 2, newest: 2 },
    })
    expect(spread).toBe(true)
    expect(netStatus(sea).held).toBeUndefined()
    expect(appliedOnDal).toEqual([2])
    // sea took it live: the same process now sends to nyc's new endpoint, and status names the change.
    expect(sea.node.live.config.network?.version).toBe(2)
    expect(sea.node.live.config.peers.find((p) => p.id === NEW)?.endpoint.port).toBe(ports[4])
    expect(sea.status()).toMatchObject({ config: { network_version: 2, last_change: { trigger: 'network version 2 (adopt)', result: { status: 'applied', version: 2 } } } })
    // sea rewrote its network file and signature too: a restart loads version 2, and check agrees.
    expect(fs.readFileSync(path.join(kit.relayDir('sea'), 'network.yaml'), 'utf8')).toBe(fs.readFileSync(master, 'utf8'))
    const check = await runCli(['check', '-c', path.join(kit.relayDir('sea'), 'sea.yaml')])
    expect(check.stderr).toBe('')
    expect(check.stdout).toContain('network version 2; ok')

    // A version altered after signing is refused at lax (exit 2, naming the signature) and never spreads.
    const forgedFile = path.join(kit.operator, 'forged.yaml')
    fs.writeFileSync(forgedFile, fs.readFileSync(master, 'utf8') + '# added after signing\n')
    fs.copyFileSync(master + '.sig', forgedFile + '.sig')
    const forged = await runCli(['network', 'push', '-c', path.join(kit.relayDir('lax'), 'lax.yaml'), forgedFile])
    expect(forged.code).toBe(2)
    expect(forged.stderr).toContain('error: refused (bad_signature): the signature does not match version 2')
    expect(lax.versions!.offer({ ...readRunningVersion(master), version: 3 })).toMatchObject({ accepted: false, reason: 'bad_signature' })
    const status = await runCli(['status', '-c', path.join(kit.relayDir('lax'), 'lax.yaml')])
    expect(status.stdout).toContain('network version 2\n')
    expect(status.stdout).not.toContain('held aside')
    await new Promise((r) => setTimeout(r, 500))
    expect(netStatus(sea).newest).toBe(2)
    expect(netStatus(lax).counters.version_rejected_bad_signature).toBe(2)

    // A new relay with only its local file fetches the network file from the member it names (listening where version 2 says).
    const newLocal = path.join(kit.relayDir(NEW), `${NEW}.yaml`)
    const newText = fs.readFileSync(newLocal, 'utf8')
    expect(newText).toContain(`127.0.0.1:${ports[3]}`)
    fs.writeFileSync(newLocal, newText.replace(`127.0.0.1:${ports[3]}`, `127.0.0.1:${ports[4]}`))
    const fetched = await fetchNetwork(path.join(kit.relayDir(NEW), `${NEW}.yaml`), { timeoutMs: 20_000, log: silentLogger })
    expect(fetched).toEqual({ version: 2, file: path.join(kit.relayDir(NEW), 'network.yaml') })
    const newCheck = await runCli(['check', '-c', path.join(kit.relayDir(NEW), `${NEW}.yaml`)])
    expect(newCheck.stderr).toBe('')
    expect(newCheck.stdout).toContain('network version 2; ok')
    // ... and starts from what fetch left (docs/operating.md, "Adding a relay", step 4): the record
    // the fetch wrote must not name the bootstrap's version-0 stand-in as a version to go back to.
    const started = await startDaemon(loadConfig(newLocal), { log: silentLogger, noControlSocket: true })
    daemons.push(started)
    expect(started.versions!.status()).toMatchObject({ running: 2, on_disk: 2 })

    // Version 3 adds a service: applied live, its port opens at lax (its ingress), no restart.
    const withService = fs.readFileSync(master, 'utf8').replace('services: []\n', `services:\n  - name: game\n    mode: l4\n    ingress:\n      - relay: lax\n        listen: 127.0.0.1:${ports[5]}\n    origin: 127.0.0.1:9\n    exits: [dal]\n`)
    expect(withService).toContain('name: game')
    fs.writeFileSync(master, withService)
    signNetworkFile(master, path.join(kit.operator, 'operator.key'))
    expect(lax.versions!.offer(readRunningVersion(master))).toEqual({ accepted: true, version: 3 })
    expect(await waitFor(() => netStatus(sea).running === 3 && netStatus(lax).running === 3, 20_000, 50)).toBe(true)
    expect(netStatus(sea).held).toBeUndefined()
    expect(sea.node.live.config.services.map((s) => s.name)).toEqual(['game'])
    expect(lax.status()).toMatchObject({ config: { network_version: 3, last_change: { result: { status: 'applied', changes: ['services added: game'] } } } })
    expect(lax.relay.stats().services.game.roles).toEqual(['ingress'])
    expect(await portTaken(ports[5])).toBe(true)

    // Version 4 moves the service's exit in place, which needs a restart: saved for the next start and held aside, never half-applied.
    const moved4 = withService.replace('exits: [dal]\n', 'exits: [sea]\n')
    fs.writeFileSync(master, moved4)
    signNetworkFile(master, path.join(kit.operator, 'operator.key'))
    expect(lax.versions!.offer(readRunningVersion(master))).toEqual({ accepted: true, version: 4 })
    expect(await waitFor(() => netStatus(sea).held?.version === 4, 20_000, 50)).toBe(true)
    expect(netStatus(sea)).toMatchObject({ running: 3, on_disk: 4, held: { version: 4, reason: 'needs_restart' } })
    expect(netStatus(sea).held?.detail).toContain('service game: exits changed in place')
    expect(sea.node.live.config.network?.version).toBe(3)
    expect(sea.node.live.config.services[0].exits).toEqual(['dal'])
    expect(fs.readFileSync(path.join(kit.relayDir('sea'), 'network.yaml'), 'utf8')).toBe(moved4)
    const held = await runCli(['status', '-c', path.join(kit.relayDir('lax'), 'lax.yaml')])
    expect(held.stdout).toContain('network version 3 (version 4 on disk, runs after a restart)')
    expect(held.stdout).toContain('held aside: version 4, needs restart: service game: exits changed in place')

    // The relay's own listen address (its local file) stays restart-only: `overpass reload` names the field.
    const laxFile = path.join(kit.relayDir('lax'), 'lax.yaml')
    const laxText = fs.readFileSync(laxFile, 'utf8')
    fs.writeFileSync(laxFile, laxText.replace(`127.0.0.1:${ports[0]}\n`, `127.0.0.1:${ports[5] + 1}\n`))
    const listen = await runCli(['reload', '-c', laxFile])
    expect(listen.code).toBe(1)
    expect(listen.stdout).toContain('relay.listen cannot change while the relay runs')
    fs.writeFileSync(laxFile, laxText)

    // Anti-rollback across a restart: with the validly signed version 1 put back on disk, sea refuses to start.
    sea.stop()
    const seaFile = path.join(kit.relayDir('sea'), 'network.yaml')
    fs.writeFileSync(seaFile, v1.yaml)
    fs.writeFileSync(seaFile + '.sig', v1.sig)
    const seaConfig = loadConfig(path.join(kit.relayDir('sea'), 'sea.yaml'))
    expect(seaConfig.network?.version).toBe(1)
    const refused = await startDaemon(seaConfig, { log: silentLogger, noControlSocket: true }).then(
      (d) => (daemons.push(d), undefined),
      (err: Error) => err,
    )
    expect(refused?.name).toBe('VersionRecordError')
    expect(refused?.message).toContain('is version 1, older than version 4 this relay adopted')
  }, 60_000)

  it('canary: the others follow once the canary has run the version with sessions up and a fresh map for hold_s; a version the canary refuses holds them back', async () => {
    const ports = await freePorts(4)
    const kit = writeKit(ports, 'canary')
    const running: RunningDaemon[] = []
    const applied: Record<string, number[]> = { lax: [], sea: [], dal: [] }
    for (const id of RELAYS) {
      const config = loadConfig(path.join(kit.relayDir(id), `${id}.yaml`))
      // A stand-in for live apply: it records the version and reports it applied.
      const networkApplier = { apply: (f: { version: number }) => (applied[id].push(f.version), { outcome: 'applied' as const }) }
      const d = await startDaemon(config, { log: silentLogger, noControlSocket: true, networkApplier })
      running.push(d)
      daemons.push(d)
    }
    const [lax, sea, dal] = running
    const master = path.join(kit.operator, 'network.yaml')
    const v1 = fs.readFileSync(master, 'utf8')
    const sign = (text: string): ReturnType<typeof readRunningVersion> => {
      fs.writeFileSync(master, text)
      signNetworkFile(master, path.join(kit.operator, 'operator.key'))
      return readRunningVersion(master)
    }
    // Sessions and map first: a canary's health is sessions up and a fresh map.
    expect(await waitFor(() => (sea.status() as { peers: Record<string, { session?: boolean }> }).peers.lax?.session === true, 10_000, 50)).toBe(true)

    // hold_s 4: long enough that dal has fetched the version (maybe after the canary applied it, on a loaded machine) before it may follow.
    expect(lax.versions!.offer(sign(v1 + 'rollout: { canaries: [sea], hold_s: 4 }\n'))).toEqual({ accepted: true, version: 2 })
    expect(await waitFor(() => applied.sea.includes(2), 10_000, 20)).toBe(true)
    // Once dal has the version, it waits for the canary instead of applying it.
    expect(await waitFor(() => dal.versions!.status().held?.version === 2 || applied.dal.includes(2), 10_000, 20)).toBe(true)
    expect(applied.dal).not.toContain(2)
    expect(dal.versions!.status()).toMatchObject({ running: 1, held: { version: 2, reason: 'waiting_canaries' }, waiting_for: ['sea'] })
    expect(await waitFor(() => applied.lax.includes(2) && applied.dal.includes(2), 20_000, 50)).toBe(true)

    // Version 3 is invalid for the canary (its own sign_key is wrong there): it refuses it, so nobody applies it.
    const seaEntry = /(- id: sea\n(?:.*\n)*?\s+sign_key: )(\S+)/
    const bad = v1.replace(seaEntry, (_m, head: string) => head + Buffer.alloc(32, 5).toString('base64'))
    expect(bad).not.toBe(v1)
    expect(lax.versions!.offer(sign(bad + 'rollout: { canaries: [sea], hold_s: 1 }\n'))).toEqual({ accepted: true, version: 3 })
    expect(await waitFor(() => sea.versions!.status().held?.reason === 'invalid', 10_000, 20)).toBe(true)
    await new Promise((r) => setTimeout(r, 2500))
    expect(applied).toEqual({ lax: [2], sea: [2], dal: [2] })
    expect(dal.versions!.status()).toMatchObject({ running: 2, newest: 3, held: { version: 3, reason: 'waiting_canaries' }, waiting_for: ['sea'] })
  }, 60_000)

  it('rollback: a version that cuts a relay off (its peers\' endpoints wrong) is rolled back by that relay on its own after it takes it', async () => {
    const ports = await freePorts(6)
    const kit = writeKit(ports, 'rollback')
    const start = async (id: string): Promise<RunningDaemon> => {
      const d = await startDaemon(loadConfig(path.join(kit.relayDir(id), `${id}.yaml`)), { log: silentLogger, noControlSocket: true })
      daemons.push(d)
      return d
    }
    const sessionUp = (d: RunningDaemon, peer: string): boolean => (d.status() as { peers: Record<string, { session?: boolean }> }).peers[peer]?.session === true
    const [lax] = [await start('lax'), await start('sea')]
    const dal = await start('dal')
    expect(await waitFor(() => sessionUp(dal, 'lax'), 10_000, 50)).toBe(true)
    // The rollback watch counts peers from the map (edges from dal up), which lags the sessions on a busy machine.
    expect(await waitFor(() => dal.versions!.status().peers_up > 0, 20_000, 50)).toBe(true)

    // Version 2 gives lax and sea endpoints nobody listens on: a relay running it reaches no one.
    // dal is its canary, so it takes it first (live) while lax and sea wait for it.
    const master = path.join(kit.operator, 'network.yaml')
    const v1 = fs.readFileSync(master, 'utf8')
    const cutting = v1.replace(`127.0.0.1:${ports[0]}\n`, `127.0.0.1:${ports[4]}\n`).replace(`127.0.0.1:${ports[1]}\n`, `127.0.0.1:${ports[5]}\n`)
    fs.writeFileSync(master, cutting + 'rollout: { canaries: [dal], hold_s: 60 }\n')
    signNetworkFile(master, path.join(kit.operator, 'operator.key'))
    expect(lax.versions!.offer(readRunningVersion(master))).toEqual({ accepted: true, version: 2 })

    // dal applies it live (no restart), loses every peer, and goes back by itself, live again.
    expect(await waitFor(() => dal.versions!.status().running === 2, 10_000, 20)).toBe(true)
    // At least the 10 s loss confirmation after the take-over and the stale map; a loaded CI machine needs the margin.
    expect(await waitFor(() => dal.versions!.status().last_rollback !== undefined, 50_000, 100)).toBe(true)
    expect(dal.versions!.status()).toMatchObject({ running: 1, on_disk: 1, floor: 2, held: { version: 2, reason: 'rolled_back' }, last_rollback: { from: 2, to: 1 }, counters: { version_rollbacks: 1 } })
    expect(dal.node.live.config.network?.version).toBe(1)
    expect(dal.status()).toMatchObject({ config: { network_version: 1, last_change: { trigger: 'network version 1 (rollback)', result: { version: 1 } } } })
    expect(fs.readFileSync(path.join(kit.relayDir('dal'), 'network.yaml'), 'utf8')).toBe(v1)

    // The same process runs version 1 with its peers again, and does not take version 2 back although they announce it.
    expect(await waitFor(() => sessionUp(dal, 'lax'), 25_000, 50)).toBe(true)
    await new Promise((r) => setTimeout(r, 1000))
    expect(dal.versions!.status()).toMatchObject({ running: 1, on_disk: 1, floor: 2 })
    expect(lax.versions!.status()).toMatchObject({ running: 1, held: { version: 2, reason: 'waiting_canaries' } })
  }, 120_000)
})
