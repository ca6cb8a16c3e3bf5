/**
 * One row per kind of config mistake: the mutation, the field path the issue
 * must name, and words its message must contain. Every issue also needs a fix.
 */
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import { nameId } from '../../src/wire/ids.js'
import { LAX_PUB, SEA_PUB, b64, issuesOf, toYaml, validRaw, type Raw } from './fixtures.js'

/** A known FNV-1a 32-bit collision (both valid ids); asserted so the test cannot pass vacuously. */
function collidingNames(): [string, string] {
  expect(nameId('costarring')).toBe(nameId('liquid'))
  return ['costarring', 'liquid']
}

type Case = [label: string, mutate: (r: Raw) => void, path: string, message: RegExp]

const cases: Case[] = [
  ['missing relay section', (r) => delete r.relay, 'relay', /required/],
  ['bad relay id', (r) => (r.relay.id = 'LAX!'), 'relay.id', /not a valid id/],
  ['listen without port', (r) => (r.relay.listen = '127.0.0.1'), 'relay.listen', /port/],
  ['listen with a host name', (r) => (r.relay.listen = 'example.com:7001'), 'relay.listen', /not an IPv4/],
  ['port out of range', (r) => (r.peers[0].endpoint = '127.0.0.1:70000'), 'peers[0].endpoint', /outside 1\.\.65535/],
  ['port zero', (r) => (r.services[0].origin = '127.0.0.1:0'), 'services[0].origin', /outside 1\.\.65535/],
  ['mtu too small', (r) => (r.relay.mtu = 576), 'relay.mtu', /at least 1280/],
  ['mtu too big', (r) => (r.relay.mtu = 9001), 'relay.mtu', /at most 9000/],
  ['no workers', (r) => (r.relay.workers = 0), 'relay.workers', /at least 1/],
  ['more workers than lanes', (r) => (r.relay.workers = 33), 'relay.workers', /at most 32/],
  ['both private_key and private_key_file', (r) => (r.relay.private_key_file = './lax.key'), 'relay.private_key', /both/],
  ['no private key', (r) => delete r.relay.private_key, 'relay.private_key', /no private key/],
  ['private key not base64', (r) => (r.relay.private_key = 'not*base64'), 'relay.private_key', /not valid base64/],
  ['private key wrong length', (r) => (r.relay.private_key = b64(new Uint8Array(16))), 'relay.private_key', /16 bytes/],
  ['unreadable key file', (r) => { delete r.relay.private_key; r.relay.private_key_file = 'missing.key' }, 'relay.private_key_file', /cannot read .*ENOENT/],
  ['peer key wrong length', (r) => (r.peers[1].public_key = b64(new Uint8Array(33))), 'peers[1].public_key', /33 bytes/],
  ['typo in a relay field', (r) => { r.relay.lisen = r.relay.listen; delete r.relay.listen }, 'relay.lisen', /unknown field "lisen"/],
  ['typo in a service field', (r) => (r.services[0].exit = ['dal']), 'services[0].exit', /unknown field/],
  ['typo at top level', (r) => (r.servics = []), 'servics', /unknown field/],
  ['duplicate peer id', (r) => (r.peers[1].id = 'sea'), 'peers[1].id', /duplicate peer id "sea"/],
  ['peer with the relay\'s own id', (r) => (r.peers[0].id = 'lax'), 'peers[0].id', /own id/],
  ['own public key as a peer', (r) => (r.peers[0].public_key = b64(LAX_PUB)), 'peers[0].public_key', /own public key/],
  ['two peers with one key', (r) => (r.peers[1].public_key = b64(SEA_PUB)), 'peers[1].public_key', /same public key as peers\[0\]/],
  ['two peers at one endpoint', (r) => (r.peers[1].endpoint = '127.0.0.1:7002'), 'peers[1].endpoint', /also peers\[0\]/],
  ['unknown ingress relay', (r) => (r.services[0].ingress[0].relay = 'nyc'), 'services[0].ingress[0].relay', /unknown relay "nyc"/],
  ['unknown exit', (r) => (r.services[0].exits = ['nyc']), 'services[0].exits[0]', /unknown relay "nyc"/],
  ['unknown relay in a path', (r) => (r.services[0].paths = [['lax', 'nyc', 'dal']]), 'services[0].paths[0][1]', /unknown relay "nyc"/],
  ['path not starting at an ingress', (r) => (r.services[0].paths = [['sea', 'dal']]), 'services[0].paths[0][0]', /not an ingress/],
  ['path not ending at an exit', (r) => (r.services[0].paths = [['lax', 'sea']]), 'services[0].paths[0][1]', /not an exit/],
  ['path repeating a relay', (r) => (r.services[0].paths = [['lax', 'sea', 'lax', 'dal']]), 'services[0].paths[0][2]', /appears twice/],
  ['path longer than 8 relays', (r) => {
    const ids = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7']
    ids.forEach((id, i) => r.peers.push({ id, public_key: b64(new Uint8Array(32).fill(10 + i)), endpoint: `127.0.0.1:${7100 + i}` }))
    r.services[0].paths = [['lax', ...ids, 'dal']]
  }, 'services[0].paths[0]', /9 relays, more than 8/],
  ['empty path', (r) => (r.services[0].paths = [[]]), 'services[0].paths[0]', /empty/],
  ['path longer than hop_limit', (r) => (r.tuning = { hop_limit: 1 }), 'services[0].paths[0]', /2 hops but tuning.hop_limit is 1/],
  ['reply path not starting at an exit', (r) => (r.services[0].reply_paths = [['lax', 'sea', 'dal']]), 'services[0].reply_paths[0][0]', /not an exit/],
  ['reply path not ending at an ingress', (r) => (r.services[0].reply_paths = [['dal', 'sea']]), 'services[0].reply_paths[0][1]', /not an ingress/],
  ['duplicate service name', (r) => r.services.push({ ...r.services[0], ingress: [{ relay: 'lax', listen: '0.0.0.0:27016' }] }), 'services[1].name', /duplicate service name/],
  ['same ingress listen twice on one relay', (r) => r.services[0].ingress.push({ relay: 'lax', listen: '0.0.0.0:27015' }), 'services[0].ingress[1].listen', /overlaps services\[0\]\.ingress\[0\]\.listen/],
  ['ingress overlapping a wildcard on another service', (r) => r.services.push({ ...r.services[0], name: 'voice', ingress: [{ relay: 'lax', listen: '127.0.0.1:27015' }] }), 'services[1].ingress[0].listen', /overlaps/],
  ['ingress on the overlay port', (r) => (r.services[0].ingress[0].listen = '127.0.0.1:7001'), 'services[0].ingress[0].listen', /overlaps relay\.listen/],
  ['no ingress', (r) => (r.services[0].ingress = []), 'services[0].ingress', /at least 1 entry/],
  ['no exits', (r) => delete r.services[0].exits, 'services[0].exits', /required/],
  ['bad delivery', (r) => (r.services[0].delivery = 'tunnel'), 'services[0].delivery', /one of "proxy", "proxy-protocol"/],
  ['bad mode', (r) => (r.services[0].mode = 'l7'), 'services[0].mode', /"l4"/],
  ['duration without unit', (r) => (r.services[0].flow_idle_timeout = 30), 'services[0].flow_idle_timeout', /no unit/],
  ['bad duration', (r) => (r.tuning = { rekey_after: 'soon' }), 'tuning.rekey_after', /not a duration/],
  ['max_flows not whole', (r) => (r.services[0].max_flows = 1.5), 'services[0].max_flows', /whole number/],
  ['hop_limit too large', (r) => (r.tuning = { hop_limit: 256 }), 'tuning.hop_limit', /at most 255/],
  ['peers not a list', (r) => (r.peers = { sea: 1 }), 'peers', /must be a list/],
  ['bad service name', (r) => (r.services[0].name = 'Game Server'), 'services[0].name', /not a valid id/],
]

describe('config errors name their field', () => {
  it.each(cases)('%s', (_label, mutate, path, message) => {
    const raw = validRaw()
    mutate(raw)
    const issues = issuesOf(raw)
    const hit = issues.find((i) => i.path === path)
    expect(hit, `issues: ${JSON.stringify(issues, null, 1)}`).toBeDefined()
    expect(hit!.message).toMatch(message)
    for (const i of issues) expect(i.fix.length).toBeGreaterThan(5)
  })

  it('flags relay ids whose wire ids collide', () => {
    const [a, b] = collidingNames()
    const raw = validRaw()
    raw.peers.push({ id: a, public_key: b64(new Uint8Array(32).fill(20)), endpoint: '127.0.0.1:7010' })
    raw.peers.push({ id: b, public_key: b64(new Uint8Array(32).fill(21)), endpoint: '127.0.0.1:7011' })
    const hit = issuesOf(raw).find((i) => i.path === 'peers[3].id')
    expect(hit?.message).toMatch(/same wire id/)
  })

  it('flags service names whose wire ids collide', () => {
    const [a, b] = collidingNames()
    const raw = validRaw()
    raw.services[0].name = a
    raw.services.push({ ...raw.services[0], name: b, ingress: [{ relay: 'lax', listen: '0.0.0.0:27016' }] })
    expect(issuesOf(raw).find((i) => i.path === 'services[1].name')?.message).toMatch(/same wire id/)
  })
})

describe('ConfigError reporting', () => {
  it('lists every problem, not just the first', () => {
    const raw = validRaw()
    raw.relay.listen = 'nope'
    raw.peers[0].id = 'lax'
    raw.services[0].exits = ['nyc']
    raw.tuning = { hop_limt: 8 }
    const paths = issuesOf(raw).map((i) => i.path)
    expect(paths).toEqual(expect.arrayContaining(['relay.listen', 'peers[0].id', 'services[0].exits[0]', 'tuning.hop_limt']))
  })

  it('suggests the intended field for a typo and does not also call it missing', () => {
    const raw = validRaw()
    raw.relay.privte_key = raw.relay.private_key
    delete raw.relay.private_key
    const issues = issuesOf(raw)
    expect(issues.find((i) => i.path === 'relay.privte_key')?.fix).toBe('did you mean "private_key"?')
  })

  it('lists the allowed fields when nothing is close', () => {
    const raw = validRaw()
    raw.relay.colour = 'blue'
    expect(issuesOf(raw).find((i) => i.path === 'relay.colour')?.fix).toMatch(/fields allowed here: id, private_key/)
  })

  it('still checks peer ids when another field of that peer is broken', () => {
    const raw = validRaw()
    raw.peers[1] = { id: 'sea', public_key: 'junk', endpoint: '127.0.0.1:7003' }
    const paths = issuesOf(raw).map((i) => i.path)
    expect(paths).toEqual(expect.arrayContaining(['peers[1].public_key', 'peers[1].id']))
  })

  it('gives the line of the offending field', () => {
    const raw = validRaw()
    raw.services[0].origin = 'nowhere'
    const text = toYaml(raw)
    const line = text.split('\n').findIndex((l) => l.includes('origin: nowhere')) + 1
    expect(issuesOf(text).find((i) => i.path === 'services[0].origin')?.line).toBe(line)
  })

  it('names line and column of a YAML syntax error', () => {
    const issues = issuesOf('relay:\n  id: lax\n  listen: [::1]:7001\n')
    expect(issues).toHaveLength(1)
    expect(issues[0].message).toMatch(/YAML syntax error at line 3, column \d+/)
    expect(issues[0].line).toBe(3)
    expect(issues[0].fix).toMatch(/quote/)
  })

  it('reports duplicate YAML keys as syntax errors', () => {
    expect(issuesOf('relay:\n  id: lax\n  id: sea\n')[0].message).toMatch(/line 3/)
  })

  it('rejects an empty file with the missing relay section', () => {
    expect(issuesOf('').map((i) => i.path)).toContain('relay')
  })

  it('puts every issue in the error message', () => {
    const raw = validRaw()
    raw.relay.mtu = 1
    raw.services[0].delivery = 'x'
    try {
      parseConfig(toYaml(raw), { sourcePath: 'lax.yaml' })
    } catch (err) {
      expect((err as Error).message).toMatch(/^lax.yaml: 2 problems\n {2}relay\.mtu: .*\(fix: .*\)/)
      expect((err as Error).message).toMatch(/services\[0\]\.delivery/)
      return
    }
    throw new Error('expected a ConfigError')
  })
})
