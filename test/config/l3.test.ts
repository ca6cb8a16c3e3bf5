/** The `l3:` section and `mode: l3` services: the contract's YAML loads; each mistake names its field and a fix. */
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import { renderRelayYaml } from '../../src/config/render.js'
import { formatPrefix } from '../../src/l3/prefix.js'
import { issuesOf, laxRender, toYaml, validRaw, type Raw } from './fixtures.js'

/** lax with the contract's l3 section and services (lax exits site-lax). */
function l3Raw(): Raw {
  const raw = validRaw()
  raw.l3 = { tun: 'op3lax', mtu: 'auto', oversize_without_df: 'fragment', address: '10.255.0.1/32' }
  raw.services.push(
    { name: 'dc', mode: 'l3', prefixes: ['10.200.0.0/24', 'fd00:200::/64'], exits: ['dal', 'sea'], profile: 'gaming' },
    { name: 'site-lax', mode: 'l3', prefixes: ['10.101.0.0/24'], exits: ['lax'] },
  )
  return raw
}

describe('L3 config', () => {
  it('loads the contract example', () => {
    const cfg = parseConfig(toYaml(l3Raw()))
    expect(cfg.l3).toMatchObject({ tun: 'op3lax', mtu: 1388, maxMtu: 1388, oversizeWithoutDf: 'fragment' })
    expect(cfg.l3?.addresses.map((a) => a.text)).toEqual(['10.255.0.1/32'])
    const dc = cfg.services.find((s) => s.name === 'dc')!
    expect(dc).toMatchObject({ mode: 'l3', exits: ['dal', 'sea'], profile: 'gaming', ingress: [], paths: [] })
    expect(dc.prefixes.map(formatPrefix)).toEqual(['10.200.0.0/24', 'fd00:200::/64'])
    expect(cfg.services[0]).toMatchObject({ mode: 'l4', prefixes: [] })
  })

  it('derives a smaller MTU for an IPv6 underlay and keeps a configured one', () => {
    const raw = l3Raw()
    raw.relay.listen = '[::1]:7001'
    expect(parseConfig(toYaml(raw)).l3?.mtu).toBe(1368)
    raw.l3.mtu = 1300
    expect(parseConfig(toYaml(raw)).l3).toMatchObject({ mtu: 1300, maxMtu: 1368 })
  })

  it('loads l3 services in a relay without l3 that exits none of them (a pure transit)', () => {
    const raw = l3Raw()
    delete raw.l3
    raw.services = raw.services.filter((s: Raw) => s.name !== 'site-lax')
    expect(parseConfig(toYaml(raw)).l3).toBeUndefined()
  })

  type Case = [label: string, mutate: (r: Raw) => void, path: string, message: RegExp, fix: RegExp]
  const cases: Case[] = [
    ['host bits set', (r) => (r.services[1].prefixes[0] = '10.200.0.1/24'), 'services[1].prefixes[0]', /bits after the first 24/, /use 10\.200\.0\.0\/24/],
    ['prefix without length', (r) => (r.services[1].prefixes[0] = '10.200.0.0'), 'services[1].prefixes[0]', /no \/length/, /10\.200\.0\.0\/32/],
    ['bad prefix address', (r) => (r.services[1].prefixes[0] = '10.200.0/24'), 'services[1].prefixes[0]', /not an IPv4 or IPv6/, /dotted quad/],
    ['no prefixes', (r) => delete r.services[1].prefixes, 'services[1].prefixes', /required/, /destination prefixes/],
    ['empty prefixes', (r) => (r.services[1].prefixes = []), 'services[1].prefixes', /at least 1/, /destination prefixes/],
    ['prefix in two services', (r) => (r.services[2].prefixes = ['10.200.0.0/24']), 'services[2].prefixes[0]', /also listed at services\[1\]\.prefixes\[0\]/, /remove the duplicate/],
    ['l4 field on an l3 service', (r) => (r.services[1].origin = '127.0.0.1:9000'), 'services[1].origin', /unknown field/, /./],
    ['mtu above the derived maximum', (r) => (r.l3.mtu = 1400), 'l3.mtu', /above the derived maximum 1388/, /auto \(= 1388\)/],
    ['mtu below the IPv6 minimum', (r) => (r.l3.mtu = 1200), 'l3.mtu', /below 1280/, /1280 to 1388/],
    ['mtu not a number', (r) => (r.l3.mtu = 'big'), 'l3.mtu', /neither auto/, /auto/],
    ['underlay too small for IPv6', (r) => (r.relay.mtu = 1280), 'relay.mtu', /below the required 1280/, /raise the underlay MTU to at least 1392/],
    ['bad tun name', (r) => (r.l3.tun = 'a-name-that-is-too-long'), 'l3.tun', /not a valid interface name/, /op3lax/],
    ['bad oversize choice', (r) => (r.l3.oversize_without_df = 'ignore'), 'l3.oversize_without_df', /./, /fragment or drop/],
    ['address without length', (r) => (r.l3.address = '10.255.0.1'), 'l3.address', /no \/length/, /10\.255\.0\.1\/32/],
    ['two IPv4 addresses', (r) => (r.l3.address = ['10.255.0.1/32', '10.255.0.2/32']), 'l3.address[1]', /second IPv4/, /one IPv4 and one IPv6/],
    ['exit of an l3 service without l3', (r) => delete r.l3, 'services[2].exits[0]', /exit of l3 service "site-lax" but its file has no l3: section/, /add an l3: section/],
    ['several workers with an l3 section', (r) => (r.relay.workers = 2), 'relay.workers', /2 workers with an l3: section/, /L3 relays: 1/],
  ]
  it.each(cases)('%s', (_label, mutate, path, message, fix) => {
    const raw = l3Raw()
    mutate(raw)
    const issues = issuesOf(raw)
    const hit = issues.find((i) => i.path === path)
    expect(hit, JSON.stringify(issues)).toBeDefined()
    expect(hit!.message).toMatch(message)
    expect(hit!.fix).toMatch(fix)
  })

  it('renders l3 sections and services the loader accepts', () => {
    const text = renderRelayYaml(laxRender({
      services: [
        { name: 'dc', mode: 'l3', prefixes: ['10.200.0.0/24', 'fd00:200::/64'], exits: ['dal'], profile: 'gaming' },
        { name: 'site-lax', mode: 'l3', prefixes: ['10.101.0.0/24'], exits: ['lax'] },
        { name: 'game', ingress: [{ relay: 'lax', listen: '127.0.0.1:27015' }], origin: '127.0.0.1:9000', exits: ['dal'] },
      ],
      l3: { tun: 'op3lax', mtu: 'auto', oversize_without_df: 'drop', address: '10.255.0.1/32' },
    }))
    const cfg = parseConfig(text)
    expect(cfg.l3).toMatchObject({ tun: 'op3lax', oversizeWithoutDf: 'drop' })
    expect(cfg.services.map((s) => s.mode)).toEqual(['l3', 'l3', 'l4'])
  })
})
