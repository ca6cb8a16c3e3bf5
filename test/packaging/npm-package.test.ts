/**
 * What `npm pack` puts in the package (package.json "files"): everything the
 * installed `overpass` command loads at run time, the native sources that
 * `node-gyp rebuild` compiles during the install, and the units and docs.
 * The install itself is slow and needs the registry, so .ci/package-check
 * runs it (npm pack, npm install -g into a temporary prefix, overpass up).
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { itIf, needsFile } from '../support/requirements.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const built = needsFile(path.join(ROOT, 'dist/src/cli/main.js'), 'the compiled CLI (npm run build)')
let files: string[] = []

beforeAll(() => {
  if (built !== undefined) return
  // --ignore-scripts: no `prepare` rebuild (npm test has just built dist/).
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })
  files = (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path)
}, 60_000)

describe('npm package contents', () => {
  itIf(built, 'has the command, the compiled code it imports and the status page', () => {
    for (const f of ['bin/overpass.js', 'dist/src/cli/main.js', 'dist/src/metrics/http-server.js', 'dist/lab/topo/up.js', 'src/metrics/status-page.html', 'package.json']) expect(files).toContain(f)
  })

  itIf(built, 'has binding.gyp and every native source it names, so the install builds the addons', () => {
    expect(files).toContain('binding.gyp')
    const gyp = JSON.parse(fs.readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8')) as { targets: { sources: string[] }[] }
    const sources = gyp.targets.flatMap((t) => t.sources)
    expect(sources.length).toBeGreaterThan(0)
    for (const src of sources) expect(files).toContain(src)
  })

  itIf(built, 'has the shipped lab scenarios, the systemd units and the docs', () => {
    for (const f of ['lab/scenarios/us-sites.yaml', 'packaging/systemd/overpass@.service', 'packaging/systemd/overpass-reflector.service', 'docs/operating.md']) expect(files).toContain(f)
  })

  itIf(built, 'leaves out tests, benches, sources maps and build output', () => {
    expect(files.filter((f) => /^(test|bench|dist\/bench|build|node_modules)\//.test(f) || f.endsWith('.map') || f.endsWith('.node'))).toEqual([])
  })
})
