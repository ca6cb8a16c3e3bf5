/**
 * Programs outside Node that parts of Overpass run (the lab, L3 tests, the
 * benches), each with the Debian package that provides it. This table is the
 * one place that knows the mapping: tests skip with a message naming the
 * package, the lab reports what it could not run, and README's "System
 * packages" list and .ci/run install from the same names.
 */
import fs from 'node:fs'
import path from 'node:path'

export const DEBIAN_PACKAGE_OF = {
  ip: 'iproute2',
  tc: 'iproute2',
  sysctl: 'procps',
  chrt: 'util-linux',
  taskset: 'util-linux',
  prlimit: 'util-linux',
  ping: 'iputils-ping',
  iperf3: 'iperf3',
  tshark: 'tshark',
  gcc: 'gcc',
  'wireguard-go': 'wireguard-go',
  wg: 'wireguard-tools',
  nebula: 'nebula',
  sockperf: 'sockperf',
  promtool: 'prometheus',
  chromium: 'chromium',
  'systemd-analyze': 'systemd',
} as const

export type SystemTool = keyof typeof DEBIAN_PACKAGE_OF

const FALLBACK_PATH = '/usr/sbin:/usr/bin:/sbin:/bin'

/** Whether `tool` is an executable on PATH (not every tool has a --version that exits 0). */
export function toolAvailable(tool: string, searchPath = process.env.PATH ?? FALLBACK_PATH): boolean {
  return searchPath.split(':').some((dir) => {
    if (dir === '') return false
    try {
      fs.accessSync(path.join(dir, tool), fs.constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

/**
 * Undefined when every tool is on PATH; otherwise one sentence naming the
 * missing programs and the `apt-get install` that brings them, e.g.
 * "ping is not installed (apt-get install iputils-ping)".
 */
export function missingToolsReason(tools: readonly SystemTool[], searchPath?: string): string | undefined {
  const missing = tools.filter((t) => !toolAvailable(t, searchPath))
  if (missing.length === 0) return undefined
  const packages = [...new Set(missing.map((t) => DEBIAN_PACKAGE_OF[t]))]
  const verb = missing.length === 1 ? 'is' : 'are'
  return `${missing.join(', ')} ${verb} not installed (apt-get install ${packages.join(' ')})`
}
