/**
 * The C load generator (loadgen.c, compiled at bench time) from TypeScript:
 * an echo origin, paced round-trip runs, and the many-flows run.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { nofileLimit, nsSpawn, run, runAsync, type Started } from './shell.js'

export interface LoadResult {
  rate: number
  sent: number
  received: number
  loss: number
  p50_us: number
  p90_us: number
  p99_us: number
  p999_us: number
  max_us: number
  elapsed_s: number
}

/** bench/e2e/loadgen.c: the source sits next to this file in the repo, not in dist/. */
function sourcePath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const candidates = [path.join(here, 'loadgen.c'), path.resolve(here, '../../../bench/e2e/loadgen.c')]
  const found = candidates.find((p) => fs.existsSync(p))
  if (found === undefined) throw new Error(`loadgen.c not found (looked in ${candidates.join(', ')})`)
  return found
}

export function compileLoadgen(dir: string): string {
  const bin = path.join(dir, 'loadgen')
  run('gcc', ['-O2', '-Wall', '-o', bin, sourcePath()])
  return bin
}

export class Loadgen {
  constructor(private readonly bin: string, private readonly cliNs: string) {}

  startEcho(orgNs: string, cpus: string, port: number, seconds: number, logFile: string): Started {
    return nsSpawn(orgNs, cpus, logFile, this.bin, ['echo', String(port), String(seconds)])
  }

  /** `count` datagrams of `size` bytes at `rate`/s; round trips measured at the client. */
  async load(cpus: string, host: string, port: number, rate: number, count: number, size = 100): Promise<LoadResult> {
    const maxSeconds = count / rate + 3
    const out = await runAsync(
      'ip',
      ['netns', 'exec', this.cliNs, 'taskset', '-c', cpus, this.bin, 'load', host, String(port), String(rate), String(count), String(size), String(maxSeconds)],
      (maxSeconds + 5) * 1000,
    )
    const r = JSON.parse(out.trim().split('\n').pop()!) as Omit<LoadResult, 'rate' | 'loss'>
    return { ...r, rate, loss: r.sent > 0 ? 1 - r.received / r.sent : 1 }
  }

  async flows(cpus: string, host: string, port: number, flows: number, rounds: number): Promise<{ flows: number; active: number; sent: number; received: number; excess: number }> {
    const out = await runAsync(
      'ip',
      ['netns', 'exec', this.cliNs, 'taskset', '-c', cpus, 'prlimit', `--nofile=${nofileLimit()}`, this.bin, 'flows', host, String(port), String(flows), String(rounds), '100'],
      120_000,
    )
    return JSON.parse(out.trim().split('\n').pop()!)
  }
}
