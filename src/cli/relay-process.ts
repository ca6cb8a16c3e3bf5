/**
 * Runs `overpass up -c FILE` as a child process and waits until it logs
 * "relay up": the demo and the loopback integration tests start their
 * relays this way, so they exercise the real CLI and daemon.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = path.dirname(fileURLToPath(import.meta.url))
/** bin/overpass.js, from src/cli (vitest, tsx) or from dist/src/cli (compiled). */
export const OVERPASS_BIN = path.resolve(HERE, HERE.split(path.sep).includes('dist') ? '../../../bin/overpass.js' : '../../bin/overpass.js')

/**
 * The node flags bin/overpass.js's shebang starts a relay with (V8's memory
 * reducer off: its mark-compacts ~8 s after start stopped the loop for
 * 10-25 ms; docs/performance.md). Whatever runs `node bin/overpass.js up`
 * itself (the demo, the loopback tests, the lab, the benches) passes the
 * same, so its relays run as systemd's do.
 */
export const RELAY_NODE_FLAGS: readonly string[] = ['--no-memory-reducer']

export interface RelayProcess {
  id: string
  child: ChildProcess
  /** The relay's log lines (JSON) so far. */
  stderr: string[]
  exited: Promise<number | null>
}

export class RelayStartError extends Error {
  override readonly name = 'RelayStartError'
  constructor(readonly relay: string, readonly reason: string, readonly log: string) {
    super(`relay ${relay} ${reason}:\n${log}`)
  }
}

/** Resolves once the relay logs "relay up"; rejects if it exits first or takes longer than `timeoutMs`. */
export function startRelayProcess(id: string, configFile: string, timeoutMs = 15_000): Promise<RelayProcess> {
  const child = spawn(process.execPath, [...RELAY_NODE_FLAGS, OVERPASS_BIN, 'up', '-c', configFile, '--log-format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] })
  const stderr: string[] = []
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    let partial = ''
    const timer = setTimeout(() => reject(new RelayStartError(id, `did not log "relay up" within ${timeoutMs} ms`, stderr.join('\n'))), timeoutMs)
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (chunk: string) => {
      partial += chunk
      const lines = partial.split('\n')
      partial = lines.pop()!
      for (const l of lines) {
        stderr.push(l)
        if (l.includes('"relay up"')) {
          clearTimeout(timer)
          resolve({ id, child, stderr, exited })
        }
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new RelayStartError(id, `exited with code ${code}`, stderr.join('\n') + partial))
    })
  })
}
