import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError, InsecureFileModeError, loadConfig, parseConfig } from '../../src/config/index.js'
import { DAL_PUB, DAL_SIGN, LAX_PRIV, LAX_PUB, b64, loopbackExamplesIn, toYaml, validRaw } from './fixtures.js'

const dirs: string[] = []
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'overpass-config-'))
  dirs.push(dir)
  return dir
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('a valid config', () => {
  it('normalises addresses, keys and defaults', () => {
    const cfg = parseConfig(toYaml(validRaw()), { sourcePath: 'lax.yaml' })
    expect(cfg.sourcePath).toBe('lax.yaml')
    expect(cfg.relay).toMatchObject({
      id: 'lax',
      listen: { host: '127.0.0.1', port: 7001 },
      controlSocket: '/run/overpass/lax.sock',
      mtu: 1500,
    })
    expect(Buffer.from(cfg.relay.privateKey).equals(Buffer.from(LAX_PRIV))).toBe(true)
    expect(Buffer.from(cfg.relay.publicKey).equals(Buffer.from(LAX_PUB))).toBe(true)
    expect(cfg.peers[1]).toEqual({ id: 'dal', publicKey: new Uint8Array(DAL_PUB), signKey: new Uint8Array(Buffer.from(DAL_SIGN, 'base64')), endpoint: { host: '127.0.0.1', port: 7003 } })
    expect(cfg.services[0]).toEqual({
      name: 'game',
      mode: 'l4',
      ingress: [{ relay: 'lax', listen: { host: '0.0.0.0', port: 27015 } }],
      origin: { host: '127.0.0.1', port: 9000 },
      exits: ['dal'],
      prefixes: [],
      delivery: 'proxy',
      paths: [['lax', 'sea', 'dal']],
      replyPaths: [['dal', 'sea', 'lax']],
      flowIdleTimeoutMs: 30_000,
      maxFlows: 65_536,
      profile: 'latency',
      redundant: false,
      originProbe: { method: 'none', port: 862, intervalMs: 250, assumedRttMs: 1 },
    })
    expect(cfg.tuning).toEqual({ rekeyAfterMs: 120_000, rekeyAfterPackets: 2 ** 40, hopLimit: 8 })
    expect(cfg.routing).toEqual({ probeIntervalMs: 100, lossDownAfter: 3, hopCostMs: 0, maxLossPct: 5, floodIntervalMs: 1000 })
  })

  it('converts durations and keeps explicit values', () => {
    const raw = validRaw()
    Object.assign(raw.services[0], { flow_idle_timeout: '1.5m', max_flows: 10, delivery: 'proxy-protocol' })
    raw.services[0].reply_paths = [['dal', 'lax']]
    raw.relay.mtu = 9000
    raw.relay.listen = '[::1]:7001'
    raw.tuning = { rekey_after: '250ms', rekey_after_packets: 1000, hop_limit: 4 }
    const cfg = parseConfig(toYaml(raw))
    expect(cfg.services[0]).toMatchObject({ flowIdleTimeoutMs: 90_000, maxFlows: 10, delivery: 'proxy-protocol', replyPaths: [['dal', 'lax']] })
    expect(cfg.relay).toMatchObject({ mtu: 9000, listen: { host: '::1', port: 7001 } })
    expect(cfg.tuning).toEqual({ rekeyAfterMs: 250, rekeyAfterPackets: 1000, hopLimit: 4 })
  })

  it('accepts empty peers, services and tuning sections', () => {
    const cfg = parseConfig('relay:\n  id: solo\n  private_key: ' + b64(LAX_PRIV) + '\n  listen: 127.0.0.1:7001\npeers:\nservices:\ntuning:\n')
    expect(cfg.peers).toEqual([])
    expect(cfg.services).toEqual([])
    expect(cfg.tuning.hopLimit).toBe(8)
  })

  it('reads private_key_file relative to the config file', () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'lax.key'), b64(LAX_PRIV) + '\n', { mode: 0o600 })
    const raw = validRaw()
    delete raw.relay.private_key
    raw.relay.private_key_file = './lax.key'
    raw.relay.control_socket = 'run/lax.sock'
    writeFileSync(join(dir, 'lax.yaml'), toYaml(raw))
    const cfg = loadConfig(join(dir, 'lax.yaml'))
    expect(Buffer.from(cfg.relay.publicKey).equals(Buffer.from(LAX_PUB))).toBe(true)
    expect(cfg.relay.controlSocket).toBe(join(dir, 'run/lax.sock'))
  })

  it('keeps the state file next to the config file unless state_file names one', () => {
    const dir = tempDir()
    const raw = validRaw()
    writeFileSync(join(dir, 'lax.yaml'), toYaml(raw), { mode: 0o600 })
    expect(loadConfig(join(dir, 'lax.yaml')).relay.stateFile).toBe(join(dir, 'lax.state.json'))
    raw.relay.state_file = 'state/lax.json'
    writeFileSync(join(dir, 'lax.yaml'), toYaml(raw), { mode: 0o600 })
    expect(loadConfig(join(dir, 'lax.yaml')).relay.stateFile).toBe(join(dir, 'state/lax.json'))
    // Text that came from no file keeps no state unless it names a file.
    expect(parseConfig(toYaml(validRaw())).relay.stateFile).toBeUndefined()
  })

  it('accepts keygen output in a key file', () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'lax.key'), `private_key: ${b64(LAX_PRIV)}\npublic_key: ${b64(LAX_PUB)}\n`, { mode: 0o600 })
    const raw = validRaw()
    delete raw.relay.private_key
    raw.relay.private_key_file = 'lax.key'
    const cfg = parseConfig(toYaml(raw), { baseDir: dir })
    expect(Buffer.from(cfg.relay.privateKey).equals(Buffer.from(LAX_PRIV))).toBe(true)
  })
})

describe('private key file modes', () => {
  const keyFileConfig = (dir: string, keyMode: number): string => {
    writeFileSync(join(dir, 'lax.key'), b64(LAX_PRIV) + '\n')
    chmodSync(join(dir, 'lax.key'), keyMode)
    const raw = validRaw()
    delete raw.relay.private_key
    raw.relay.private_key_file = './lax.key'
    writeFileSync(join(dir, 'lax.yaml'), toYaml(raw))
    return join(dir, 'lax.yaml')
  }

  it.each([0o644, 0o640, 0o604, 0o660, 0o602].map((m) => [m.toString(8), m]))('refuses a key file at mode 0%s, naming the file, the mode and the chmod', (_, mode) => {
    const dir = tempDir()
    const err = catchError(() => loadConfig(keyFileConfig(dir, mode)))
    expect(err).toBeInstanceOf(InsecureFileModeError)
    expect(err).toBeInstanceOf(ConfigError)
    expect(err).toMatchObject({ name: 'InsecureFileModeError', file: join(dir, 'lax.key'), mode, field: 'relay.private_key_file', fix: `chmod 600 ${join(dir, 'lax.key')}` })
    expect(err.message).toContain(`mode 0${mode.toString(8)}`)
  })

  it('accepts a key file at 0600 or 0400 in a config file anyone can read', () => {
    for (const mode of [0o600, 0o400]) {
      const dir = tempDir()
      const file = keyFileConfig(dir, mode)
      chmodSync(file, 0o644)
      expect(loadConfig(file).relay.id).toBe('lax')
    }
  })

  it('refuses a config file with private_key inline that group or others can read', () => {
    const dir = tempDir()
    const file = join(dir, 'lax.yaml')
    writeFileSync(file, toYaml(validRaw()))
    chmodSync(file, 0o644)
    const err = catchError(() => loadConfig(file))
    expect(err).toMatchObject({ name: 'InsecureFileModeError', file, mode: 0o644, field: 'relay.private_key', fix: `chmod 600 ${file}` })
    chmodSync(file, 0o600)
    expect(loadConfig(file).relay.id).toBe('lax')
  })

  it('quotes a path with spaces in the fix so it can be pasted', () => {
    const dir = join(tempDir(), 'my relays')
    mkdirSync(dir)
    const err = catchError(() => loadConfig(keyFileConfig(dir, 0o644)))
    expect(err).toMatchObject({ fix: `chmod 600 '${join(dir, 'lax.key')}'` })
  })
})

function catchError(f: () => unknown): InsecureFileModeError {
  try {
    f()
  } catch (err) {
    return err as InsecureFileModeError
  }
  throw new Error('expected an error')
}

describe('loadConfig', () => {
  it('throws a ConfigError for a missing file', () => {
    expect(() => loadConfig('/nonexistent/overpass.yaml')).toThrow(ConfigError)
  })

  it('loads the three loopback examples once their key files are chmod 600', () => {
    const examples = loopbackExamplesIn(tempDir())
    for (const id of ['lax', 'sea', 'dal']) {
      const cfg = loadConfig(join(examples, `${id}.yaml`))
      expect(cfg.relay.id).toBe(id)
      expect(cfg.peers).toHaveLength(2)
      expect(cfg.relay.controlSocket.startsWith('/tmp/')).toBe(true)
    }
  })
})
