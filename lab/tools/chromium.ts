/**
 * Debian's headless chromium, for the status page: `dumpDom` returns the DOM
 * after the page's scripts ran (tests), `screenshot` writes a PNG of it
 * (`npm run docs:screenshot`). Each call uses a fresh profile directory,
 * removed afterwards, and loads only the URL given (callers pass loopback
 * URLs). `--virtual-time-budget` lets that many ms of page time pass;
 * fetches pause virtual time until they complete.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
]

function runChromium(args: string[], timeoutMs: number): Promise<string> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'overpass-chromium-'))
  return new Promise<string>((resolve, reject) => {
    execFile('chromium', [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      fs.rmSync(profile, { recursive: true, force: true })
      if (err) reject(new Error(`chromium failed: ${err.message}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

export function dumpDom(url: string, virtualTimeMs = 5000, timeoutMs = 60_000): Promise<string> {
  return runChromium([`--virtual-time-budget=${virtualTimeMs}`, '--dump-dom', url], timeoutMs)
}

/** Writes a PNG of the page at `url`, `width` x `height` CSS pixels, to `file`. */
export async function screenshot(url: string, file: string, width: number, height: number, virtualTimeMs = 5000, timeoutMs = 60_000): Promise<void> {
  await runChromium([`--virtual-time-budget=${virtualTimeMs}`, `--window-size=${width},${height}`, '--hide-scrollbars', `--screenshot=${path.resolve(file)}`, url], timeoutMs)
  if (!fs.existsSync(file)) throw new Error(`chromium wrote no screenshot to ${file}`)
}
