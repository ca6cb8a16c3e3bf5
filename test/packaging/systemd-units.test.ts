/**
 * The shipped systemd units (packaging/systemd/) pass `systemd-analyze verify`
 * with no complaint, in a scratch root that has the installed layout
 * (/usr/local/bin/overpass, the units in /etc/systemd/system, systemd's own
 * units), and keep the properties docs/operating.md promises.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { itIf, needsFile, needsTools, firstGap } from '../support/requirements.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const UNITS = path.join(ROOT, 'packaging/systemd')
const SYSTEMD_UNITS = '/usr/lib/systemd/system'
const gap = firstGap(needsTools('systemd-analyze'), needsFile(SYSTEMD_UNITS, "systemd's unit directory"))

const unitText = (name: string) => fs.readFileSync(path.join(UNITS, name), 'utf8')

/** The unit's `Key=value` lines in [Service]. */
function serviceKeys(text: string): Map<string, string> {
  const section = text.split(/^\[Service\]$/m)[1].split(/^\[/m)[0]
  return new Map(section.split('\n').filter((l) => /^\w+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
}

/** Runs `systemd-analyze verify` on the given unit texts in a scratch root; its output (empty when clean) and status. */
function verify(units: Record<string, string>, instances: string[]): { status: number | null; output: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'overpass-units-'))
  try {
    for (const dir of ['usr/local/bin', 'etc/systemd/system', 'bin', 'usr/lib/systemd']) fs.mkdirSync(path.join(root, dir), { recursive: true })
    fs.cpSync(SYSTEMD_UNITS, path.join(root, 'usr/lib/systemd/system'), { recursive: true })
    fs.writeFileSync(path.join(root, 'usr/local/bin/overpass'), '#!/bin/sh\n', { mode: 0o755 })
    fs.writeFileSync(path.join(root, 'bin/kill'), '#!/bin/sh\n', { mode: 0o755 })
    for (const [name, text] of Object.entries(units)) fs.writeFileSync(path.join(root, 'etc/systemd/system', name), text)
    const r = spawnSync('systemd-analyze', ['verify', `--root=${root}`, ...instances.map((u) => `/etc/systemd/system/${u}`)], { encoding: 'utf8', timeout: 30_000 })
    return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() }
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
}

describe('systemd units', () => {
  itIf(gap, 'overpass@.service and overpass-reflector.service pass systemd-analyze verify without a warning', () => {
    const r = verify({ 'overpass@.service': unitText('overpass@.service'), 'overpass-reflector.service': unitText('overpass-reflector.service') }, ['overpass@lax.service', 'overpass-reflector.service'])
    expect(r.output).toBe('')
    expect(r.status).toBe(0)
  }, 60_000)

  itIf(gap, 'the check catches a misspelt hardening directive (which systemd would silently ignore)', () => {
    const broken = unitText('overpass-reflector.service').replace('ProtectHome=yes', 'ProtectHom=yes')
    expect(verify({ 'overpass-reflector.service': broken }, ['overpass-reflector.service']).output).toContain("Unknown key 'ProtectHom'")
  }, 60_000)

  it('runs the relay unprivileged with only the capabilities it needs, its socket in RuntimeDirectory, and SIGHUP on reload', () => {
    const k = serviceKeys(unitText('overpass@.service'))
    expect(k.get('User')).toBe('overpass')
    expect(k.get('ExecStart')).toBe('/usr/local/bin/overpass up -c /etc/overpass/%i.yaml --log-format json')
    expect(k.get('ExecReload')).toBe('/bin/kill -HUP $MAINPID')
    expect(k.get('RuntimeDirectory')).toBe('overpass')
    expect(k.get('AmbientCapabilities')!.split(' ').sort()).toEqual(['CAP_NET_ADMIN', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'])
    expect(k.get('CapabilityBoundingSet')).toBe(k.get('AmbientCapabilities'))
    expect(k.get('DeviceAllow')).toBe('/dev/net/tun rw')
    for (const [key, value] of [['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'], ['RestrictSUIDSGID', 'yes']]) expect(k.get(key)).toBe(value)
    // V8 needs writable+executable memory; PrivateDevices would hide /dev/net/tun.
    expect(k.has('MemoryDenyWriteExecute')).toBe(false)
    expect(k.has('PrivateDevices')).toBe(false)
  })

  it('runs the reflector with CAP_NET_BIND_SERVICE only', () => {
    const k = serviceKeys(unitText('overpass-reflector.service'))
    expect(k.get('User')).toBe('overpass')
    expect(k.get('AmbientCapabilities')).toBe('CAP_NET_BIND_SERVICE')
    expect(k.get('CapabilityBoundingSet')).toBe('CAP_NET_BIND_SERVICE')
    expect(k.get('ExecStart')).toMatch(/^\/usr\/local\/bin\/overpass reflector --listen \S+:862 \$REFLECTOR_ALLOW$/)
    expect(k.get('EnvironmentFile')).toBe('-/etc/overpass/reflector.env')
  })

  it('ships a sysusers.d entry for the overpass user', () => {
    expect(fs.readFileSync(path.join(UNITS, 'overpass.sysusers.conf'), 'utf8')).toMatch(/^u overpass - "[^"]+" \/nonexistent \/usr\/sbin\/nologin$/m)
  })
})
