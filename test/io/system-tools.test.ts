import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DEBIAN_PACKAGE_OF, missingToolsReason, toolAvailable } from '../../src/io/system-tools.js'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overpass-tools-'))
fs.writeFileSync(path.join(dir, 'ping'), '#!/bin/sh\n', { mode: 0o755 })
fs.writeFileSync(path.join(dir, 'iperf3'), 'not executable\n', { mode: 0o644 })
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe('system tools', () => {
  it('finds an executable on the given PATH and ignores a file that is not executable', () => {
    expect(toolAvailable('ping', dir)).toBe(true)
    expect(toolAvailable('iperf3', dir)).toBe(false)
    expect(toolAvailable('tshark', dir)).toBe(false)
  })

  it('ignores empty PATH entries instead of searching the working directory', () => {
    const cwd = process.cwd()
    process.chdir(dir)
    try {
      expect(toolAvailable('ping', ':')).toBe(false)
    } finally {
      process.chdir(cwd)
    }
  })

  it('says nothing when every tool is present', () => {
    expect(missingToolsReason(['ping'], dir)).toBeUndefined()
  })

  it('names each missing program and the Debian packages that bring them, once each', () => {
    expect(missingToolsReason(['ping', 'tshark'], dir)).toBe('tshark is not installed (apt-get install tshark)')
    expect(missingToolsReason(['wg', 'wireguard-go', 'ip', 'tc'], dir)).toBe(
      'wg, wireguard-go, ip, tc are not installed (apt-get install wireguard-tools wireguard-go iproute2)',
    )
  })

  it('maps every tool to a package name apt-get accepts', () => {
    for (const pkg of Object.values(DEBIAN_PACKAGE_OF)) expect(pkg).toMatch(/^[a-z0-9][a-z0-9+.-]+$/)
  })
})
