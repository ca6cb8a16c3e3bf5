/**
 * `npm run docs:screenshot`: regenerates docs/status-page.png, the status
 * page of the demo's ingress relay (lax) in Debian's headless chromium while
 * the demo's game flow runs: five real relays on loopback behind the
 * user-space link emulator's one-way delays (main.ts), so the heat map and
 * the route's gain over direct are the demo's real figures. No root needed.
 *
 *   npm run docs:screenshot [-- --out FILE]
 */
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { screenshot } from '../tools/chromium.js'
import { runDemo } from './main.js'

/** CSS pixels: wide enough for the five-relay matrix beside nothing else; tall enough for every section. */
const WIDTH = 1000
const HEIGHT = 940
/** Page time before the capture: the page fetches /status.json at once and every 2 s after. */
const PAGE_TIME_MS = 3000
export const DEFAULT_OUT = 'docs/status-page.png'

async function freeTcpPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export async function statusPageScreenshot(out: string, log: (line: string) => void): Promise<void> {
  const port = await freeTcpPort()
  await runDemo({
    seconds: 6,
    warmupSeconds: 8,
    json: false,
    log,
    statusPage: {
      port,
      duringTraffic: async (url) => {
        // Let the flow run a moment first, so the page shows traffic and flows.
        await new Promise((r) => setTimeout(r, 2000))
        await screenshot(url, out, WIDTH, HEIGHT, PAGE_TIME_MS)
        log(`wrote ${out} (${Math.round(fs.statSync(out).size / 1024)} KB) from ${url}`)
      },
    },
  })
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])
if (isMain) {
  const args = process.argv.slice(2)
  const out = args.includes('--out') ? args[args.indexOf('--out') + 1] : DEFAULT_OUT
  statusPageScreenshot(out, (l) => process.stderr.write(`${l}\n`)).catch((err) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  })
}
