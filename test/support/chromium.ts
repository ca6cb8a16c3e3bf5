/**
 * Loads a page in Debian's headless chromium and returns the DOM after its
 * scripts ran (`--dump-dom` once `--virtual-time-budget` ms of page time have
 * passed; fetches pause virtual time until they complete). A fresh profile
 * directory per call, removed afterwards; no network beyond the URL given
 * (tests pass loopback URLs only).
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
]

export function dumpDom(url: string, virtualTimeMs = 5000, timeoutMs = 60_000): Promise<string> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'overpass-chromium-'))
  const args = [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, `--virtual-time-budget=${virtualTimeMs}`, '--dump-dom', url]
  return new Promise<string>((resolve, reject) => {
    execFile('chromium', args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      fs.rmSync(profile, { recursive: true, force: true })
      if (err) reject(new Error(`chromium failed: ${err.message}\n${stderr}`))
      else resolve(stdout)
    })
  })
}
