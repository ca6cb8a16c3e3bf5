/**
 * dosgen.c (compiled at bench time) from TypeScript: the picky origin,
 * spoofed sends with reply capture, and capturing datagrams to replay.
 * Every run is bounded (count and seconds) and tracked by PID, so cleanup
 * can kill whatever is still running.
 */
import { execFile, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { run, type Started } from '../e2e/shell.js'
import type { Replies } from './figures.js'
import type { DosWorld } from './world.js'

export interface SendResult extends Replies {
  sent: number
  send_errors: number
  elapsed_s: number
  request_min_bytes: number
  request_max_bytes: number
  captured: boolean
}

const running = new Set<ChildProcess>()

/** SIGKILL every dosgen/loadgen run still going, by PID (cleanup on any exit path). */
export function killRuns(): void {
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
}

/** Runs a command, tracked; resolves with the last line of stdout. */
export function runTracked(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      running.delete(child)
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`))
      else resolve(stdout.trim().split('\n').pop() ?? '')
    })
    running.add(child)
  })
}

function sourcePath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const candidates = [path.join(here, 'dosgen.c'), path.resolve(here, '../../../bench/dos/dosgen.c')]
  const found = candidates.find((p) => fs.existsSync(p))
  if (found === undefined) throw new Error(`dosgen.c not found (looked in ${candidates.join(', ')})`)
  return found
}

export class Dosgen {
  readonly bin: string

  constructor(dir: string, private readonly world: DosWorld) {
    this.bin = path.join(dir, 'dosgen')
    run('gcc', ['-O2', '-Wall', '-o', this.bin, sourcePath()])
  }

  startOrigin(addr: string, port: number, seconds: number): Started {
    return this.world.spawn('origin', this.bin, ['origin', addr, String(port), String(seconds)])
  }

  /** `count` datagrams at `rate`/s from `src` (SPREAD 0: that address, replies captured; N: N addresses up from it). */
  async send(o: { dst: string; dstPort: number; rate: number; count: number; payloads: string; src: string; srcPort: number; spread: number }): Promise<SendResult> {
    const maxSeconds = o.count / o.rate + 5
    const line = await runTracked('ip', [
      'netns', 'exec', this.world.ns, this.bin, 'send', o.dst, String(o.dstPort), String(o.rate), String(o.count), String(maxSeconds),
      o.payloads, o.src, String(o.srcPort), String(o.spread),
    ], (maxSeconds + 10) * 1000)
    return JSON.parse(line) as SendResult
  }

  /** Records up to `count` datagrams from src to dst within `seconds`, into `out`. */
  async capture(src: string, srcPort: number, dst: string, dstPort: number, count: number, seconds: number, out: string): Promise<number> {
    const line = await runTracked('ip', ['netns', 'exec', this.world.ns, this.bin, 'capture', src, String(srcPort), dst, String(dstPort), String(count), String(seconds), out], (seconds + 10) * 1000)
    return (JSON.parse(line) as { captured: number }).captured
  }
}
