/**
 * Runs real relay processes (`node bin/overpass.js up`) on loopback for
 * integration tests. Each process is tracked by PID and stopped in `cleanUp`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import dgram from 'node:dgram'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const BIN = path.join(ROOT, 'bin/overpass.js')

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

export { freeUdpPorts as freePorts } from '../../src/io/udp.js'

import type { RelayProcess } from '../../src/cli/relay-process.js'
export { startRelayProcess as startRelay, type RelayProcess } from '../../src/cli/relay-process.js'

/** Runs the CLI to completion and returns its output. */
export function runCli(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(input ?? '')
  })
}

/** `overpass status --json` of the relay with this config file, parsed. */
export async function statusJson<T>(config: string): Promise<T> {
  return JSON.parse((await runCli(['status', '--json', '-c', config])).stdout) as T
}

export async function stopRelay(r: RelayProcess, timeoutMs = 5000): Promise<number | null> {
  if (r.child.exitCode !== null) return r.child.exitCode
  r.child.kill('SIGTERM')
  const timer = setTimeout(() => r.child.kill('SIGKILL'), timeoutMs)
  const code = await r.exited
  clearTimeout(timer)
  return code
}

/** What a test's afterAll undoes: stops its relays (by PID), closes its origins and emulators, removes its directory. */
export async function cleanUp(relays: Iterable<RelayProcess>, closables: Iterable<{ close(): void } | undefined>, dir: string | undefined): Promise<void> {
  for (const r of relays) await stopRelay(r)
  for (const c of closables) c?.close()
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
}

/** A UDP echo origin; `transform` builds the reply. */
export async function echoServer(port: number, transform: (d: Buffer) => Buffer = (d) => d): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4')
  s.on('message', (msg, rinfo) => {
    const reply = transform(msg)
    s.send(reply, rinfo.port, rinfo.address)
  })
  await new Promise<void>((resolve) => s.bind(port, '127.0.0.1', () => resolve()))
  // 120 flows answer in one burst; the default ~208 KB receive buffer (kernel
  // truesize ~2 KB per datagram) overflows when this process is descheduled.
  s.setRecvBufferSize(4 << 20)
  return s
}

export async function waitFor(cond: () => boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (cond()) return true
    await new Promise((r) => setTimeout(r, stepMs))
  }
  return cond()
}

/** A loopback UDP client of a relayed service that keeps what it sent and every datagram it got back. */
export interface UdpClient {
  socket: dgram.Socket
  received: Buffer[]
  sent: Buffer[]
}

/** `n` clients bound to ephemeral loopback ports. */
export function udpClients(n: number): Promise<UdpClient[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const socket = dgram.createSocket('udp4')
      const received: Buffer[] = []
      socket.on('message', (m) => received.push(m))
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()))
      return { socket, received, sent: [] }
    }),
  )
}

/**
 * Says hello to the service on `port` until it answers (the router needs a
 * few probe rounds before the ingress has a path), then forgets the answers.
 */
export async function untilServed(c: UdpClient, port: number): Promise<boolean> {
  let up = false
  for (let i = 0; i < 100 && !up; i++) {
    c.socket.send(Buffer.from('hello'), port, '127.0.0.1')
    up = await waitFor(() => c.received.length > 0, 200)
  }
  c.received.length = 0
  return up
}

/**
 * Sends `rounds` rounds of one datagram per client (`payload(flow, round)`)
 * to the service on `port`, each round once every client has the previous
 * round's reply (or after `roundMs`), then waits up to `lastMs` for the rest.
 * True when every client got one reply per datagram it sent.
 */
export async function exchangeRounds(clients: UdpClient[], port: number, rounds: number, payload: (flow: number, round: number) => Buffer, roundMs = 5000, lastMs = 10_000): Promise<boolean> {
  for (let round = 0; round < rounds; round++) {
    for (const [i, c] of clients.entries()) {
      const datagram = payload(i, round)
      c.sent.push(datagram)
      c.socket.send(datagram, port, '127.0.0.1')
    }
    await waitFor(() => clients.every((c) => c.received.length > round), roundMs)
  }
  return waitFor(() => clients.every((c) => c.received.length === c.sent.length), lastMs)
}
