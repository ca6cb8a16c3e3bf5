/**
 * docs/operating.md, "Three PoPs on three cloud VMs, step by step", followed
 * on network namespaces standing in for the VMs (root only; `npm run
 * test:lab`). The guide's code blocks are read from the document and run as
 * they are, in order, with `sh` (an `overpass` on PATH runs this checkout's
 * CLI):
 *
 *   operator (host, a temp folder)        `inet` namespace: the Internet and
 *                                          the cloud's 1:1 NAT (nft), public
 *   lax  eth0 10.0.1.10  <-> 203.0.113.10  addresses 203.0.113.x mapped onto
 *   fra  eth0 10.0.2.10  <-> 203.0.113.20  the VMs' private ones; every VM
 *   sin  eth0 10.0.3.10  <-> 203.0.113.30  link has MTU 1460
 *   nyc  eth0 10.0.4.10  <-> 203.0.113.40  (added in step 7)
 *   client 198.51.100.2 (a game client on the Internet)
 *
 * What differs from real VMs, and only that: each VM's `/etc/overpass` is a
 * folder of its own (the path is rewritten in the commands), `scp` is a
 * file copy, and `overpass up` runs in the VM's namespace where the guide
 * says `systemctl enable --now` (the unit itself is tested by
 * .ci/systemd-check). The relays keep their default control sockets,
 * /run/overpass/<id>.sock, as under systemd. The addresses are used only
 * inside the namespaces this test creates.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { parse } from 'yaml'
import { controlRequest } from '../../src/daemon/control-server.js'
import { describeIf } from '../support/requirements.js'
import { LAB_SKIP_REASON } from './lab-helpers.js'

const ROOT = process.cwd()
const BIN = path.join(ROOT, 'bin', 'overpass.js')
const SECTION = '## Three PoPs on three cloud VMs, step by step'
const VMS = { lax: 1, fra: 2, sin: 3, nyc: 4 } as const
type Vm = keyof typeof VMS
const publicAddr = (vm: Vm): string => `203.0.113.${VMS[vm] * 10}`
const privateAddr = (vm: Vm): string => `10.0.${VMS[vm]}.10`

const tag = `ovg${process.pid.toString(36)}`
const ns = (n: string): string => `${tag}-${n}`
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'overpass-guide-'))
const etc = (vm: Vm): string => path.join(work, vm, 'etc-overpass')
const operatorDir = path.join(work, 'operator')
const mynet = path.join(operatorDir, 'mynet')
const made: string[] = []
const children: ChildProcess[] = []

/** The guide's fenced blocks, in order: the test runs them as they are. */
function guideBlocks(): { lang: string; text: string }[] {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'operating.md'), 'utf8')
  const start = doc.indexOf(SECTION)
  const section = doc.slice(start, doc.indexOf('\n## ', start + SECTION.length))
  return [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], text: m[2] }))
}

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' })

/** Runs a guide block with sh: in a VM's namespace (its /etc/overpass rewritten) or on the operator's machine. */
function sh(script: string, where: { vm?: Vm; cwd: string }): string {
  const text = where.vm ? script.replaceAll('/etc/overpass', etc(where.vm)) : script
  const argv = ['sh', '-ec', text]
  const env = { ...process.env, PATH: `${path.join(work, 'bin')}:${process.env.PATH}` }
  try {
    return where.vm ? execFileSync('ip', ['netns', 'exec', ns(where.vm), ...argv], { cwd: where.cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) : execFileSync(argv[0], argv.slice(1), { cwd: where.cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string }
    throw new Error(`guide block failed (${where.vm ?? 'operator'}):\n${text}\n${e.stdout ?? ''}${e.stderr ?? e.message}`)
  }
}

/** The cloud: one namespace per VM behind `inet`, which maps each public address onto the VM's private one (1:1 NAT). */
function buildClouds(vms: Vm[]): void {
  ip('netns', 'add', ns('inet'))
  made.push(ns('inet'))
  ip('-n', ns('inet'), 'link', 'set', 'lo', 'up')
  execFileSync('ip', ['netns', 'exec', ns('inet'), 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
  const nft = (...args: string[]): string => execFileSync('ip', ['netns', 'exec', ns('inet'), 'nft', ...args], { encoding: 'utf8' })
  nft('add', 'table', 'ip', 'cloud')
  nft('add chain ip cloud pre { type nat hook prerouting priority -100; }')
  nft('add chain ip cloud post { type nat hook postrouting priority 100; }')
  for (const vm of vms) addVm(vm, nft)
  // A client on the Internet, 198.51.100.2.
  ip('netns', 'add', ns('client'))
  made.push(ns('client'))
  ip('-n', ns('client'), 'link', 'set', 'lo', 'up')
  ip('link', 'add', `${tag}c`, 'netns', ns('inet'), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns('client'))
  ip('-n', ns('inet'), 'addr', 'add', '198.51.100.1/24', 'dev', `${tag}c`)
  ip('-n', ns('client'), 'addr', 'add', '198.51.100.2/24', 'dev', 'eth0')
  ip('-n', ns('inet'), 'link', 'set', `${tag}c`, 'up')
  ip('-n', ns('client'), 'link', 'set', 'eth0', 'up')
  ip('-n', ns('client'), 'route', 'add', 'default', 'via', '198.51.100.1')
}

function addVm(vm: Vm, nft: (...args: string[]) => string): void {
  const n = VMS[vm]
  ip('netns', 'add', ns(vm))
  made.push(ns(vm))
  ip('-n', ns(vm), 'link', 'set', 'lo', 'up')
  ip('link', 'add', `${tag}v${n}`, 'netns', ns('inet'), 'mtu', '1460', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns(vm), 'mtu', '1460')
  ip('-n', ns('inet'), 'addr', 'add', `10.0.${n}.1/24`, 'dev', `${tag}v${n}`)
  ip('-n', ns(vm), 'addr', 'add', `${privateAddr(vm)}/24`, 'dev', 'eth0')
  ip('-n', ns('inet'), 'link', 'set', `${tag}v${n}`, 'up')
  ip('-n', ns(vm), 'link', 'set', 'eth0', 'up')
  ip('-n', ns(vm), 'route', 'add', 'default', 'via', `10.0.${n}.1`)
  nft('add', 'rule', 'ip', 'cloud', 'pre', 'ip', 'daddr', publicAddr(vm), 'dnat', 'to', privateAddr(vm))
  nft('add', 'rule', 'ip', 'cloud', 'post', 'ip', 'saddr', privateAddr(vm), 'snat', 'to', publicAddr(vm))
  fs.mkdirSync(etc(vm), { recursive: true })
}

/** `systemctl enable --now overpass@<vm>`: here `overpass up` in the VM's namespace. */
function startRelay(vm: Vm): ChildProcess {
  const log = fs.openSync(path.join(work, `${vm}.log`), 'a')
  const child = spawn('ip', ['netns', 'exec', ns(vm), process.execPath, BIN, 'up', '-c', path.join(etc(vm), `${vm}.yaml`)], { stdio: ['ignore', log, log] })
  fs.closeSync(log)
  children.push(child)
  return child
}

/** A node one-liner in a namespace (an echo server, a client). */
function nodeIn(n: string, code: string): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', n, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  return child
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v !== undefined) return v
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** What `overpass status --json` shows, asked on the relay's default control socket (polling with the CLI would start node each time). */
async function statusJson(vm: Vm): Promise<{ peers: Record<string, { session?: boolean }>; network_version?: { running: number } } | undefined> {
  return (await controlRequest(`/run/overpass/${vm}.sock`, { cmd: 'status' }, 1000).catch(() => undefined)) as never
}

/** The client: datagrams of these sizes to lax's public service address; resolves with the sizes echoed back. */
async function roundTrips(sizes: number[]): Promise<number[]> {
  const code = `const s=require('dgram').createSocket('udp4');const got=[];s.on('message',m=>got.push(m.length));s.bind(()=>{for(const n of ${JSON.stringify(sizes)})s.send(Buffer.alloc(n,1),4000,'${publicAddr('lax')}');setTimeout(()=>{console.log(JSON.stringify(got));s.close()},3000)})`
  const child = nodeIn(ns('client'), code)
  let out = ''
  let err = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  await new Promise((r) => child.once('exit', r))
  if (out === '') throw new Error(`the client printed nothing: ${err}`)
  return JSON.parse(out) as number[]
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM')
  await new Promise((r) => setTimeout(r, 1000))
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  for (const n of made) {
    try {
      ip('netns', 'del', n)
    } catch {
      // Already gone.
    }
  }
  fs.rmSync(work, { recursive: true, force: true })
})

describeIf(LAB_SKIP_REASON, 'the three-VM guide of docs/operating.md, on namespaces', () => {
  it('three PoPs behind 1:1 NAT with a firewall and 1460-byte links carry the game service; a fourth PoP joins by bootstrap', async () => {
    for (const id of Object.keys(VMS)) expect(fs.existsSync(`/run/overpass/${id}.sock`), `/run/overpass/${id}.sock belongs to a relay running on this machine`).toBe(false)
    const blocks = guideBlocks()
    expect(blocks.map((b) => b.lang)).toEqual(['sh', 'yaml', 'sh', 'sh', 'sh', 'sh', 'yaml', 'sh', 'sh', 'sh', 'yaml', 'sh'])
    const [init, services, localFiles, firewall, check, keygen, nycEntry, signPush, letNycIn, nycLocal, bootstrap, fetchStart] = blocks
    fs.mkdirSync(path.join(work, 'bin'))
    fs.writeFileSync(path.join(work, 'bin', 'overpass'), `#!/bin/sh\nexec ${process.execPath} ${BIN} "$@"\n`, { mode: 0o755 })
    fs.mkdirSync(operatorDir)
    buildClouds(['lax', 'fra', 'sin'])

    // 1. Keys and the network file; the service replaces `services: []`.
    sh(init.text, { cwd: operatorDir })
    const net = path.join(mynet, 'network.yaml')
    expect(fs.readFileSync(net, 'utf8')).toContain('endpoint: 203.0.113.30:7001')
    fs.writeFileSync(net, fs.readFileSync(net, 'utf8').replace('services: []\n', services.text))
    // 2. Private listen addresses and the MTU; sign; check (warnings about NAT only).
    const checked = sh(localFiles.text, { cwd: mynet })
    expect(checked).toMatch(/ok/)
    expect(checked).not.toMatch(/^error/m)
    // 3. Copy each VM's files.
    for (const vm of ['lax', 'fra', 'sin'] as const) for (const f of ['network.yaml', 'network.yaml.sig', `${vm}.yaml`, `${vm}.key`]) fs.copyFileSync(path.join(mynet, f), path.join(etc(vm), f))
    // 4. The firewall, lax's as shown, the others with their own peers.
    const peersOf = (vm: Vm, all: Vm[]): string => `'{ ${all.filter((p) => p !== vm).map(publicAddr).join(', ')} }'`
    const shown = `'{ ${publicAddr('fra')}, ${publicAddr('sin')} }'`
    expect(firewall.text).toContain(shown)
    for (const vm of ['lax', 'fra', 'sin'] as const) sh(firewall.text.replace(shown, peersOf(vm, ['lax', 'fra', 'sin'])), { vm, cwd: etc(vm) })
    // 5. Run: the game server on sin, then the relays.
    nodeIn(ns('sin'), `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send(m,r.port,r.address));s.bind(9000,'127.0.0.1')`)
    for (const vm of ['lax', 'fra', 'sin'] as const) startRelay(vm)
    await waitFor('lax sessions with fra and sin', async () => ((await statusJson('lax'))?.peers.sin?.session && (await statusJson('lax'))?.peers.fra?.session ? true : undefined), 20_000)

    // 6. Check with status, map and routes, and a client through the service: the largest datagram the MTU allows, and one byte more.
    await waitFor('a route for game', async () => {
      const routes = (await controlRequest('/run/overpass/lax.sock', { cmd: 'routes' }, 1000).catch(() => undefined)) as { forward?: { service: string; path: string[] }[] } | undefined
      return routes?.forward?.some((c) => c.service === 'game' && c.path.at(-1) === 'sin') ? true : undefined
    }, 20_000)
    const checkOut = sh(check.text, { vm: 'lax', cwd: etc('lax') })
    expect(checkOut).toContain('network version 2')
    expect(checkOut).toMatch(/game[^\n]*sin/)
    const echoed = await roundTrips([100, 1348, 1349])
    if (echoed.length !== 2) for (const vm of ['lax', 'sin'] as const) process.stderr.write(`${vm}: ${sh(`overpass status -c /etc/overpass/${vm}.yaml --json`, { vm, cwd: etc(vm) })}\n${fs.readFileSync(path.join(work, `${vm}.log`), 'utf8').slice(-3000)}\n`)
    expect(echoed).toEqual([100, 1348])

    // 7. nyc: key on the VM, entry into network.yaml, sign and push to lax, firewalls, local file with bootstrap, fetch, start.
    buildNyc()
    sh(keygen.text, { vm: 'nyc', cwd: etc('nyc') })
    const nycKey = parse(fs.readFileSync(path.join(etc('nyc'), 'nyc.key'), 'utf8')) as { public_key: string; sign_key: string }
    const entry = nycEntry.text.replace('<public_key from nyc.key>', nycKey.public_key).replace('<sign_key from nyc.key>', nycKey.sign_key)
    fs.writeFileSync(net, fs.readFileSync(net, 'utf8').replace('services:\n', `${entry}services:\n`))
    const pushed = sh(signPush.text.replaceAll('/etc/overpass', etc('lax')), { cwd: mynet })
    expect(pushed).toContain('version 3 accepted')
    for (const vm of ['lax', 'fra', 'sin'] as const) sh(letNycIn.text, { vm, cwd: etc(vm) })
    sh(nycLocal.text, { cwd: mynet })
    const lax = (parse(fs.readFileSync(net, 'utf8')) as { relays: { id: string; public_key: string; sign_key: string }[] }).relays.find((r) => r.id === 'lax')!
    fs.appendFileSync(path.join(mynet, 'nyc.yaml'), bootstrap.text.replace("<lax's public_key>", lax.public_key).replace("<lax's sign_key>", lax.sign_key))
    fs.copyFileSync(path.join(mynet, 'nyc.yaml'), path.join(etc('nyc'), 'nyc.yaml'))
    sh(firewall.text.replace(shown, peersOf('nyc', ['lax', 'fra', 'sin', 'nyc'])), { vm: 'nyc', cwd: etc('nyc') })
    const [fetchLine, startLine] = fetchStart.text.trim().split('\n')
    expect(startLine).toBe('systemctl enable --now overpass@nyc')
    expect(sh(fetchLine, { vm: 'nyc', cwd: etc('nyc') })).toBe(`fetched version 3 of the network file into ${etc('nyc')}/network.yaml; start the relay now\n`)
    startRelay('nyc')
    await waitFor('nyc in the network', async () => {
      const s = await statusJson('lax')
      return s?.peers.nyc?.session && s.network_version?.running === 3 && (await statusJson('fra'))?.peers.nyc?.session && (await statusJson('sin'))?.peers.nyc?.session ? true : undefined
    }, 30_000)
    expect(sh('overpass status -c /etc/overpass/lax.yaml', { vm: 'lax', cwd: etc('lax') })).toContain('network version 3')
    expect(await roundTrips([100])).toEqual([100])
  })
})

function buildNyc(): void {
  const nft = (...args: string[]): string => execFileSync('ip', ['netns', 'exec', ns('inet'), 'nft', ...args], { encoding: 'utf8' })
  addVm('nyc', nft)
}
