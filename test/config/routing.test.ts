/**
 * The latency-routing fields: the top-level `routing:` section and the
 * per-service profile, redundant and origin_probe. Defaults, normalisation to
 * ms/percent numbers, bounds, and the cross-field rules, each naming its path.
 */
import { describe, expect, it } from 'vitest'
import { parseConfig, type RelayConfig } from '../../src/config/index.js'
import { MAX_PROBE_INTERVAL_MS as CONFIG_MAX_PROBE_MS } from '../../src/config/schema.js'
import { MAX_PROBE_INTERVAL_MS as PROBER_MAX_PROBE_MS } from '../../src/probe/prober.js'
import { PROFILE_NAMES } from '../../src/route/profiles.js'
import { issuesOf, toYaml, validRaw, type Raw } from './fixtures.js'

function load(raw: Raw): RelayConfig {
  return parseConfig(toYaml(raw), { baseDir: '/nonexistent' })
}

/** validRaw() with its service routed (no pinned paths). */
function routedRaw(): Raw {
  const raw = validRaw()
  delete raw.services[0].paths
  return raw
}

describe('routing section', () => {
  it('defaults every field when the section is absent or empty', () => {
    const defaults = { probeIntervalMs: 100, lossDownAfter: 3, hopCostMs: 0, maxLossPct: 5, floodIntervalMs: 1000 }
    expect(load(validRaw()).routing).toEqual(defaults)
    expect(parseConfig(toYaml(validRaw()) + 'routing:\n').routing).toEqual(defaults)
  })

  it('converts durations to ms and percentages to numbers', () => {
    const raw = validRaw()
    raw.routing = { probe_interval: '250ms', loss_down_after: 20, hop_cost: '2ms', max_loss: '2.5%', flood_interval: '1m' }
    expect(load(raw).routing).toEqual({ probeIntervalMs: 250, lossDownAfter: 20, hopCostMs: 2, maxLossPct: 2.5, floodIntervalMs: 60_000 })
  })

  it('accepts max_loss as a bare number and the inclusive bounds', () => {
    const raw = validRaw()
    raw.routing = { probe_interval: '10ms', loss_down_after: 1, hop_cost: '1s', max_loss: 0, flood_interval: '100ms' }
    expect(load(raw).routing).toEqual({ probeIntervalMs: 10, lossDownAfter: 1, hopCostMs: 1000, maxLossPct: 0, floodIntervalMs: 100 })
    raw.routing = { max_loss: 100, flood_interval: '60s' }
    expect(load(raw).routing).toMatchObject({ maxLossPct: 100, floodIntervalMs: 60_000 })
  })

  it('caps probe_interval at the prober limit', () => {
    expect(CONFIG_MAX_PROBE_MS).toBe(PROBER_MAX_PROBE_MS)
    expect(CONFIG_MAX_PROBE_MS).toBeLessThanOrEqual(250)
  })

  type Case = [label: string, routing: Raw, path: string, message: RegExp]
  const cases: Case[] = [
    ['probe_interval above 250ms', { probe_interval: '251ms' }, 'routing.probe_interval', /from 10ms to 250ms/],
    ['probe_interval of one second', { probe_interval: '1s' }, 'routing.probe_interval', /from 10ms to 250ms/],
    ['probe_interval below 10ms', { probe_interval: '9ms' }, 'routing.probe_interval', /from 10ms to 250ms/],
    ['probe_interval without unit', { probe_interval: 100 }, 'routing.probe_interval', /no unit/],
    ['loss_down_after zero', { loss_down_after: 0 }, 'routing.loss_down_after', /at least 1/],
    ['loss_down_after above 20', { loss_down_after: 21 }, 'routing.loss_down_after', /at most 20/],
    ['loss_down_after fractional', { loss_down_after: 2.5 }, 'routing.loss_down_after', /whole number/],
    ['hop_cost above 1s', { hop_cost: '1001ms' }, 'routing.hop_cost', /from 0ms to 1s/],
    ['hop_cost not a duration', { hop_cost: 'cheap' }, 'routing.hop_cost', /not a duration/],
    ['max_loss above 100', { max_loss: 101 }, 'routing.max_loss', /outside 0\.\.100/],
    ['max_loss above 100%', { max_loss: '150%' }, 'routing.max_loss', /outside 0\.\.100/],
    ['max_loss negative', { max_loss: -1 }, 'routing.max_loss', /outside 0\.\.100/],
    ['max_loss as a fraction string', { max_loss: '0.05' }, 'routing.max_loss', /not a percentage/],
    ['max_loss as a boolean', { max_loss: true }, 'routing.max_loss', /percentage/],
    ['flood_interval below 100ms', { flood_interval: '50ms' }, 'routing.flood_interval', /from 100ms to 60s/],
    ['flood_interval above 60s', { flood_interval: '2m' }, 'routing.flood_interval', /from 100ms to 60s/],
    ['unknown field', { probe_intervall: '100ms' }, 'routing.probe_intervall', /unknown field/],
  ]
  it.each(cases)('rejects %s with its path', (_label, routing, path, message) => {
    const raw = validRaw()
    raw.routing = routing
    const issues = issuesOf(raw)
    const hit = issues.find((i) => i.path === path)
    expect(hit, JSON.stringify(issues)).toBeDefined()
    expect(hit!.message).toMatch(message)
    expect(hit!.fix).not.toBe('see docs/configuration.md')
  })

  it('suggests the intended routing field for a typo', () => {
    const raw = validRaw()
    raw.routing = { flood_intreval: '1s' }
    expect(issuesOf(raw).find((i) => i.path === 'routing.flood_intreval')?.fix).toBe('did you mean "flood_interval"?')
  })

  it('rejects a routing section that is not a mapping', () => {
    const raw = validRaw()
    raw.routing = ['fast']
    expect(issuesOf(raw).map((i) => i.path)).toContain('routing')
  })
})

describe('service profile, redundant and origin_probe', () => {
  it('keeps explicit values and fills origin_probe defaults per method', () => {
    const raw = routedRaw()
    Object.assign(raw.services[0], { profile: 'gaming', redundant: true, origin_probe: { method: 'twamp' } })
    expect(load(raw).services[0]).toMatchObject({
      paths: [],
      profile: 'gaming',
      redundant: true,
      originProbe: { method: 'twamp', port: 862, intervalMs: 250, assumedRttMs: 1 },
    })
    raw.services[0].origin_probe = { method: 'twamp', port: 5000, interval: '10ms' }
    expect(load(raw).services[0].originProbe).toEqual({ method: 'twamp', port: 5000, intervalMs: 10, assumedRttMs: 1 })
    raw.services[0].origin_probe = { method: 'none', assumed_rtt: '0ms' }
    expect(load(raw).services[0].originProbe).toMatchObject({ method: 'none', assumedRttMs: 0 })
    raw.services[0].origin_probe = { method: 'icmp', interval: '10s' }
    expect(load(raw).services[0].originProbe).toMatchObject({ method: 'icmp', intervalMs: 10_000 })
  })

  it('offers the same profiles as the router', () => {
    for (const profile of PROFILE_NAMES) {
      const raw = routedRaw()
      raw.services[0].profile = profile
      expect(load(raw).services[0].profile).toBe(profile)
    }
  })

  type Case = [label: string, mutate: (s: Raw) => void, path: string, message: RegExp, fix?: RegExp]
  const cases: Case[] = [
    ['unknown profile', (s) => (s.profile = 'fast'), 'services[0].profile', /one of "latency", "gaming", "rtc"/],
    ['redundant not a boolean', (s) => (s.redundant = 'yes'), 'services[0].redundant', /true or false/],
    ['redundant with pinned paths', (s) => { s.redundant = true; s.paths = [['lax', 'sea', 'dal']] }, 'services[0].redundant', /pinned paths/,
      /remove paths to let Overpass choose, or set redundant: false/],
    ['reply_paths without paths', (s) => (s.reply_paths = [['dal', 'sea', 'lax']]), 'services[0].reply_paths', /ignored/, /add paths|remove reply_paths/],
    ['origin_probe without method', (s) => (s.origin_probe = { interval: '1s' }), 'services[0].origin_probe.method', /required: one of "twamp", "icmp", "none"/],
    ['unknown probe method', (s) => (s.origin_probe = { method: 'ping' }), 'services[0].origin_probe.method', /one of "twamp", "icmp", "none"/],
    ['probe port out of range', (s) => (s.origin_probe = { method: 'twamp', port: 70000 }), 'services[0].origin_probe.port', /at most 65535/],
    ['probe interval below 10ms', (s) => (s.origin_probe = { method: 'twamp', interval: '5ms' }), 'services[0].origin_probe.interval', /from 10ms to 10s/],
    ['probe interval above 10s', (s) => (s.origin_probe = { method: 'icmp', interval: '11s' }), 'services[0].origin_probe.interval', /from 10ms to 10s/],
    ['assumed_rtt without unit', (s) => (s.origin_probe = { method: 'none', assumed_rtt: 1 }), 'services[0].origin_probe.assumed_rtt', /no unit/],
    ['port with icmp', (s) => (s.origin_probe = { method: 'icmp', port: 862 }), 'services[0].origin_probe.port', /only used by method twamp, not icmp/, /method: twamp/],
    ['port with none', (s) => (s.origin_probe = { method: 'none', port: 862 }), 'services[0].origin_probe.port', /only used by method twamp, not none/],
    ['assumed_rtt with twamp', (s) => (s.origin_probe = { method: 'twamp', assumed_rtt: '1ms' }), 'services[0].origin_probe.assumed_rtt', /only used by method none/, /method: none/],
    ['assumed_rtt with icmp', (s) => (s.origin_probe = { method: 'icmp', assumed_rtt: '1ms' }), 'services[0].origin_probe.assumed_rtt', /only used by method none/],
    ['typo in origin_probe', (s) => (s.origin_probe = { method: 'twamp', prot: 862 }), 'services[0].origin_probe.prot', /unknown field/, /did you mean "port"/],
    ['typo of origin_probe itself', (s) => (s.orgin_probe = { method: 'none' }), 'services[0].orgin_probe', /unknown field/, /did you mean "origin_probe"/],
  ]
  it.each(cases)('rejects %s with its path', (_label, mutate, path, message, fix) => {
    const raw = routedRaw()
    mutate(raw.services[0])
    const issues = issuesOf(raw)
    const hit = issues.find((i) => i.path === path)
    expect(hit, JSON.stringify(issues)).toBeDefined()
    expect(hit!.message).toMatch(message)
    expect(hit!.fix).not.toBe('see docs/configuration.md')
    if (fix) expect(hit!.fix).toMatch(fix)
  })

  it('allows redundant on a routed service and pinned paths without redundant', () => {
    const routed = routedRaw()
    routed.services[0].redundant = true
    expect(load(routed).services[0].redundant).toBe(true)
    expect(load(validRaw()).services[0]).toMatchObject({ redundant: false, paths: [['lax', 'sea', 'dal']] })
  })

  it('reports the redundant conflict alongside an unrelated broken field of the same service', () => {
    const raw = validRaw()
    raw.services[0].redundant = true
    raw.services[0].delivery = 'tunnel'
    const paths = issuesOf(raw).map((i) => i.path)
    expect(paths).toEqual(expect.arrayContaining(['services[0].delivery', 'services[0].redundant']))
  })
})
