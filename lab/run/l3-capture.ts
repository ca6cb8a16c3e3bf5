/**
 * The source-address check of L3 mode: what the data centre really
 * receives. tshark captures, in the DC namespace, every IPv4 and IPv6
 * packet that arrives on its CNI links for its prefixes (headers only, to
 * a file in the run directory, bounded in time); afterwards the file is
 * read back as `ip.src ip.proto ipv6.src ipv6.nxt` per packet and counted
 * by source. Overlay traffic must
 * arrive with the branch hosts' own addresses: a relay, CNI or NAT address
 * among the sources means the exit rewrote the packet.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { alive, readLog, spawnInNs } from '../topo/procs.js'
import { waitFor } from '../topo/sh.js'
import type { LabRun } from '../topo/up.js'
import { toolAvailable } from '../../src/io/system-tools.js'
import type { CaptureResult } from './result.js'

/** Upper bound on a capture, whatever happens to the run. */
export const MAX_CAPTURE_S = 240
const SNAPLEN = 96
const PROTO_NAMES: Record<string, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6' }

export interface RunningCapture {
  dc: string
  file: string
  pid?: number
  interfaces: string[]
  filter: string
}

/** Starts one capture per L3 data centre; resolves once tshark is capturing. Undefined when tshark is missing. */
export async function startCaptures(lab: LabRun, dcs: string[], seconds: number): Promise<RunningCapture[] | undefined> {
  if (!toolAvailable('tshark')) return undefined
  return Promise.all(dcs.map(async (dc) => {
    const o = lab.scenario.origins.find((x) => x.name === dc)!
    const interfaces = o.exits.map((_, j) => `x${j}`)
    const filter = o.prefix6 ? `(ip and dst net ${o.prefix}) or (ip6 and dst net ${o.prefix6})` : `ip and dst net ${o.prefix}`
    const file = path.join(lab.state.dir, `capture-${dc}.pcapng`)
    const what = `tshark-${dc}`
    const duration = Math.min(MAX_CAPTURE_S, Math.ceil(seconds))
    // -f and -s before the first -i are the defaults for every interface (after one, they apply to that one only).
    const child = spawnInNs(lab.state, lab.ns(dc), what, ['tshark', '-n', '-q', '-f', filter, '-s', String(SNAPLEN), ...interfaces.flatMap((i) => ['-i', i]), '-a', `duration:${duration}`, '-w', file])
    await waitFor(what, () => {
      if (child.exitCode !== null) throw new Error(`${what} exited: ${readLog(lab.state, what)}`)
      return readLog(lab.state, what).includes('Capturing on') ? true : undefined
    }, 15_000, 100)
    return { dc, file, pid: child.pid, interfaces, filter }
  }))
}

/** Stops the captures (SIGINT: tshark closes the file cleanly) and counts each one's packets by source. */
export async function finishCaptures(lab: LabRun, caps: RunningCapture[], branchHosts: string[]): Promise<CaptureResult[]> {
  for (const c of caps) if (c.pid !== undefined && alive(c.pid)) process.kill(c.pid, 'SIGINT')
  await waitFor('tshark to finish', () => (caps.every((c) => c.pid === undefined || !alive(c.pid)) ? true : undefined), 15_000, 100)
  return caps.map((c) => readCapture(c, branchHosts))
}

function readCapture(c: RunningCapture, branchHosts: string[]): CaptureResult {
  const base = { dc: c.dc, interfaces: c.interfaces, filter: c.filter }
  if (!fs.existsSync(c.file)) return { ...base, packets: 0, sources: [], foreign: [], error: 'tshark wrote no capture file' }
  let text: string
  try {
    // One short line per packet: a 3 s iperf3 per branch alone is ~60k packets, past execFileSync's 1 MB default.
    text = execFileSync('tshark', ['-n', '-r', c.file, '-T', 'fields', '-e', 'ip.src', '-e', 'ip.proto', '-e', 'ipv6.src', '-e', 'ipv6.nxt'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000, encoding: 'utf8', maxBuffer: 256 << 20 })
  } catch (err) {
    return { ...base, packets: 0, sources: [], foreign: [], error: `reading the capture failed: ${(err as Error).message.split('\n')[0]}` }
  }
  return { ...base, ...countSources(text, new Set(branchHosts)) }
}

/**
 * `ip.src<TAB>ip.proto<TAB>ipv6.src<TAB>ipv6.nxt` lines (the IPv4 or the
 * IPv6 pair is empty) → packets per source and protocol, split into branch
 * hosts and anything else.
 */
export function countSources(text: string, hosts: Set<string>): Pick<CaptureResult, 'packets' | 'sources' | 'foreign'> {
  const bySrc = new Map<string, Record<string, number>>()
  let packets = 0
  for (const line of text.split('\n')) {
    const [src4, proto4, src6, proto6] = line.split('\t').map((f) => f.trim())
    const src = src4 || src6
    const proto = src4 ? proto4 : proto6
    if (!src) continue
    packets++
    const protos = bySrc.get(src) ?? {}
    const p = PROTO_NAMES[proto] ?? `proto-${proto}`
    protos[p] = (protos[p] ?? 0) + 1
    bySrc.set(src, protos)
  }
  const rows = [...bySrc].map(([addr, protos]) => ({ addr, packets: Object.values(protos).reduce((a, b) => a + b, 0), protos }))
  return { packets, sources: rows.filter((r) => hosts.has(r.addr)), foreign: rows.filter((r) => !hosts.has(r.addr)) }
}
