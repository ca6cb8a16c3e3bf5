/**
 * Plain tools across the overlay in L3 mode, from each branch host to its
 * data centre's host: `ping` (ICMP) and `iperf3` (TCP, a bounded byte
 * count). Every command has a count, a deadline of its own and a process
 * timeout; a tool that is missing is reported as skipped, not as a failure.
 */
import { execFile } from 'node:child_process'
import { missingToolsReason } from '../../src/io/system-tools.js'
import { alive, readLog, spawnInNs } from '../topo/procs.js'
import { waitFor } from '../topo/sh.js'
import type { LabRun } from '../topo/up.js'
import type { L3Pair, PingResult, TcpResult } from './result.js'

export const PING_COUNT = 10
export const PING_INTERVAL_S = 0.2
export const IPERF_PORT = 5201
/**
 * Seconds per TCP test. Time-bounded rather than byte-bounded (-n): with -n
 * the client finishes as soon as its socket buffer holds the last byte,
 * and the server stops counting at the test-end message, so at 50 ms RTT
 * it counted only a quarter of a 4 MiB transfer; over seconds the bytes
 * still in flight at the end are a small share.
 */
export const IPERF_SECONDS = 3
const IPERF_TIMEOUT_MS = 30_000


/** Runs a command in a namespace; resolves with its output even when it fails (the caller parses it). */
export function execInNs(ns: string, argv: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', ns, ...argv], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout: String(stdout), stderr: String(stderr) })
    })
  })
}

/** The branch → data-centre pairs of the scenario's L3 flows (one per pair and IP version). */
export function l3Pairs(lab: LabRun): L3Pair[] {
  const s = lab.scenario
  const seen = new Set<string>()
  const out: L3Pair[] = []
  for (const f of s.flows) {
    const c = s.clients.find((x) => x.name === f.client)!
    const o = s.origins.find((x) => x.name === f.origin)!
    if (!c.prefix || !o.prefix || seen.has(`${c.name}>${o.name}`)) continue
    seen.add(`${c.name}>${o.name}`)
    const base = { site: c.name, pop: c.pop, dc: o.name, return_exit: lab.plan.returnExit.get(o.name)!.get(c.name)! }
    out.push({ ...base, host: lab.plan.branchHostAddr.get(c.name)!, target: lab.plan.dcHostAddr.get(o.name)!, family: 4 })
    if (c.prefix6 && o.prefix6) out.push({ ...base, host: lab.plan.branchHostAddr6.get(c.name)!, target: lab.plan.dcHostAddr6.get(o.name)!, family: 6 })
  }
  return out
}


/** Pings every pair at once (ICMP is light; the pairs share no link). */
export async function pingPairs(lab: LabRun, pairs: L3Pair[]): Promise<PingResult[]> {
  const noPing = missingToolsReason(['ping'])
  if (noPing) return pairs.map((p) => ({ ...p, sent: 0, received: 0, skipped: noPing }))
  const deadlineS = Math.ceil(PING_COUNT * PING_INTERVAL_S) + 5
  return Promise.all(pairs.map(async (p) => {
    const r = await execInNs(lab.ns(p.site), ['ping', '-n', '-c', String(PING_COUNT), '-i', String(PING_INTERVAL_S), '-w', String(deadlineS), p.target], (deadlineS + 5) * 1000)
    return { ...p, ...parsePing(r.stdout) }
  }))
}

/** `ping` summary lines → counts and RTT statistics (iputils and busybox formats). */
export function parsePing(out: string): Omit<PingResult, keyof L3Pair> {
  const counts = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(out)
  const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(out)
  return {
    sent: counts ? Number(counts[1]) : 0,
    received: counts ? Number(counts[2]) : 0,
    ...(rtt ? { rtt_min_ms: Number(rtt[1]), rtt_avg_ms: Number(rtt[2]), rtt_max_ms: Number(rtt[3]) } : {}),
  }
}

/**
 * One time-bounded iperf3 transfer per IPv4 pair, one after another
 * (concurrent transfers would only share the 2 cores), each to its own
 * one-off server on the DC host address. IPv6 pairs are pinged only: a
 * second bulk transfer per branch would double the run's heaviest phase
 * for the same relay code path.
 */
export async function tcpPairs(lab: LabRun, pairs: L3Pair[]): Promise<TcpResult[]> {
  const noIperf = missingToolsReason(['iperf3'])
  if (noIperf) return pairs.map((p) => ({ ...p, bytes: 0, skipped: noIperf }))
  const out: TcpResult[] = []
  for (const [i, p] of pairs.entries()) {
    if (p.family === 6) {
      out.push({ ...p, bytes: 0, skipped: 'TCP is tested over IPv4 only' })
      continue
    }
    // A one-off server per test: a server that just ended a test can reset the next control connection.
    const what = `iperf3-${p.dc}-${i}`
    const server = spawnInNs(lab.state, lab.ns(p.dc), what, ['iperf3', '-s', '-1', '-B', p.target, '-p', String(IPERF_PORT + i), '--forceflush'])
    await waitFor(what, () => {
      if (server.exitCode !== null) throw new Error(`${what} exited: ${readLog(lab.state, what)}`)
      return readLog(lab.state, what).includes('Server listening') ? true : undefined
    }, 10_000)
    const r = await execInNs(lab.ns(p.site), ['iperf3', '-c', p.target, '-p', String(IPERF_PORT + i), '-t', String(IPERF_SECONDS), '-J', '--connect-timeout', '5000'], IPERF_TIMEOUT_MS)
    out.push({ ...p, ...parseIperf(r.stdout, r.code) })
    if (server.pid !== undefined && alive(server.pid)) process.kill(server.pid, 'SIGTERM')
  }
  return out
}

/**
 * iperf3 -J output → bytes, throughput and retransmits (or the error it
 * reported). The server stops counting when the test-end message arrives
 * on the control connection, which can overtake data still in flight at
 * tens of ms of RTT: `bytes` (received) may be below `bytes_sent`.
 */
export function parseIperf(json: string, code: number | null): Omit<TcpResult, keyof L3Pair> {
  let doc: { error?: string; end?: { sum_sent?: { bytes: number; retransmits?: number }; sum_received?: { bytes: number; seconds: number; bits_per_second: number } } }
  try {
    doc = JSON.parse(json)
  } catch {
    return { bytes: 0, error: code === null ? 'iperf3 timed out' : `iperf3 exited ${code} without JSON` }
  }
  const rx = doc.end?.sum_received
  if (doc.error || !rx) return { bytes: 0, error: doc.error ?? 'no summary in the iperf3 output' }
  return { bytes: rx.bytes, bytes_sent: doc.end?.sum_sent?.bytes ?? 0, seconds: +rx.seconds.toFixed(3), mbps: +(rx.bits_per_second / 1e6).toFixed(1), retransmits: doc.end?.sum_sent?.retransmits ?? 0 }
}
