/**
 * A kit from `overpass init --loopback` runs as it is: check passes, and its
 * three relays, started from their local files, establish sessions with each
 * other (status over each relay's control socket).
 */
import dgram from 'node:dgram'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { cleanUp, runCli, startRelay, tempDir, waitFor, type RelayProcess } from './harness.js'

const RELAYS = ['lax', 'sea', 'dal'] as const
const dir = tempDir('overpass-init-it-')
const kit = path.join(dir, 'kit')
const relays: RelayProcess[] = []

afterAll(() => cleanUp(relays, [], dir))

/** A base port whose next n-1 ports are free too (init numbers relays consecutively); bounded tries. */
async function consecutiveFreePorts(n: number, tries = 20): Promise<number> {
  for (let t = 0; t < tries; t++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000)
    const sockets: dgram.Socket[] = []
    const ok = await Promise.all(
      Array.from({ length: n }, (_, i) => new Promise<boolean>((resolve) => {
        const s = dgram.createSocket('udp4')
        sockets.push(s)
        s.once('error', () => resolve(false))
        s.bind(base + i, '127.0.0.1', () => resolve(true))
      })),
    )
    for (const s of sockets) s.close()
    if (ok.every(Boolean)) return base
  }
  throw new Error(`no ${n} consecutive free UDP ports found in ${tries} tries`)
}

async function sessionsUp(id: string): Promise<string[]> {
  const res = await runCli(['status', '--json', '-c', path.join(kit, `${id}.yaml`)])
  if (res.code !== 0) return []
  const peers = (JSON.parse(res.stdout) as { peers: Record<string, { session?: boolean }> }).peers
  return Object.entries(peers).filter(([, p]) => p.session === true).map(([peer]) => peer).sort()
}

describe('a loopback kit from overpass init', () => {
  it('passes check and its relays establish sessions with each other', async () => {
    const base = await consecutiveFreePorts(RELAYS.length)
    const init = await runCli(['init', '--relays', RELAYS.join(','), '--out', kit, '--loopback', '--base-port', String(base)])
    expect(init.stderr).toBe('')
    expect(init.code).toBe(0)
    const check = await runCli(['check', ...RELAYS.flatMap((r) => ['-c', path.join(kit, `${r}.yaml`)])])
    expect(check.stderr).toBe('')
    expect(check.code).toBe(0)
    for (const r of RELAYS) relays.push(await startRelay(r, path.join(kit, `${r}.yaml`)))
    const expected = Object.fromEntries(RELAYS.map((r) => [r, RELAYS.filter((x) => x !== r).sort()]))
    const seen: Record<string, string[]> = {}
    let polling = false
    const up = await waitFor(() => {
      if (!polling) {
        polling = true
        void Promise.all(RELAYS.map(async (r) => (seen[r] = await sessionsUp(r)))).finally(() => (polling = false))
      }
      return RELAYS.every((r) => JSON.stringify(seen[r]) === JSON.stringify(expected[r]))
    }, 15_000, 100)
    expect(seen).toEqual(expected)
    expect(up).toBe(true)
  }, 60_000)

  it('refuses to start a relay whose network file was altered after signing, naming the signature', async () => {
    const tampered = path.join(dir, 'tampered')
    // The running relays' control sockets stay behind: they cannot be copied.
    fs.cpSync(kit, tampered, { recursive: true, filter: (src) => !src.endsWith('.sock') })
    const network = path.join(tampered, 'network.yaml')
    // The attack: point dal's endpoint elsewhere without the operator key.
    fs.writeFileSync(network, fs.readFileSync(network, 'utf8').replace(/endpoint: 127\.0\.0\.1:(\d+)\n(?![\s\S]*endpoint)/, 'endpoint: 127.0.0.1:9\n'))
    expect(fs.readFileSync(network, 'utf8')).toContain('127.0.0.1:9\n')
    const res = await runCli(['up', '-c', path.join(tampered, 'lax.yaml')])
    expect(res.code).toBe(2)
    expect(res.stderr).toMatch(/network\.yaml\.sig: signature: the signature does not match version 1/)
  }, 30_000)
})
