/**
 * The V8 flags a relay runs with. `--no-memory-reducer` acts only on node's
 * command line (the heap keeps the reducer it was created with), so it rides
 * on bin/overpass.js's shebang, which systemd, Docker and npx run directly:
 * the memory reducer's three mark-compacts ~8 s after start stopped a relay's
 * loop for 10-25 ms each (docs/performance.md, "The first seconds").
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect } from 'vitest'
import { RELAY_NODE_FLAGS } from '../../src/cli/relay-process.js'
import { itIf, needsFile } from '../support/requirements.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const BIN = path.join(ROOT, 'bin/overpass.js')
const built = needsFile(path.join(ROOT, 'dist/src/cli/main.js'), 'the compiled CLI (npm run build)')

describe('bin/overpass.js', () => {
  itIf(built, 'run directly (systemd, Docker, npx), it starts node without the memory reducer', () => {
    // A preload reports the flags node was started with; `--version` is the cheapest command.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overpass-flags-'))
    try {
      const preload = path.join(dir, 'report.cjs')
      fs.writeFileSync(preload, "process.stderr.write('execArgv=' + JSON.stringify(process.execArgv) + '\\n')\n")
      const r = spawnSync(BIN, ['--version'], { env: { ...process.env, NODE_OPTIONS: `--require ${preload}` }, encoding: 'utf8', timeout: 20_000 })
      expect(r.status, r.stderr).toBe(0)
      const argv = JSON.parse(/execArgv=(.*)/.exec(r.stderr)?.[1] ?? 'null') as string[] | null
      expect(argv).toContain('--no-memory-reducer')
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  itIf(built, 'names --no-memory-reducer in its shebang and the single reducer GC for `up`', () => {
    const text = fs.readFileSync(BIN, 'utf8')
    expect(text.split('\n')[0]).toBe('#!/usr/bin/env -S node --no-memory-reducer')
    // Whatever runs `node bin/overpass.js up` itself (demo, lab, benches) passes the same flags.
    expect(text.split('\n')[0]).toBe(`#!/usr/bin/env -S node ${RELAY_NODE_FLAGS.join(' ')}`)
    expect(text).toContain("v8.setFlagsFromString('--memory-reducer-single-gc')")
  })
})
