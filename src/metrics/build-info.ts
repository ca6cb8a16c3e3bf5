/**
 * The version `overpass_build_info` reports: package.json's, found by walking
 * up from this module (src/metrics in tests, dist/src/metrics when compiled,
 * either inside a global install's node_modules/overpass).
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const PACKAGE_NAME = 'overpass'

export function packageVersion(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json')
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string }
      if (pkg.name === PACKAGE_NAME && pkg.version) return pkg.version
    }
    if (path.dirname(dir) === dir) return 'unknown'
  }
}
