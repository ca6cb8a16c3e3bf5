/**
 * packaging/grafana/overpass-dashboard.json: well-formed, has the panels
 * docs/operating.md describes, and queries only metric families the relay
 * exports (checked against the registry's own output), in PromQL that
 * promtool parses. Grafana itself is not installable here.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { createScrapeRegistry, defineFamilies } from '../../src/metrics/index.js'
import { fakeSnapshot } from '../metrics/fake-views.js'
import { itIf, needsTools } from '../support/requirements.js'

const ROOT = path.resolve(import.meta.dirname, '../..')

interface Panel {
  id: number
  title: string
  type: string
  gridPos: { x: number; y: number; w: number; h: number }
  targets: { expr: string; refId: string }[]
  transformations?: { id: string; options: Record<string, string> }[]
}
const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, 'packaging/grafana/overpass-dashboard.json'), 'utf8')) as { uid: string; title: string; panels: Panel[]; templating: { list: { name: string }[] } }
const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr))
let exported = new Set<string>()

beforeAll(async () => {
  const text = await createScrapeRegistry((d) => defineFamilies(d, { version: '1' }), { defaultMetrics: false }).render(fakeSnapshot())
  exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]))
})

const panel = (title: RegExp) => dashboard.panels.find((p) => title.test(p.title))

describe('Grafana dashboard', () => {
  it('has the edge matrix as a from x to heat-map table', () => {
    const matrix = panel(/^Edge matrix/)!
    expect(matrix.targets[0].expr).toContain('overpass_edge_delay_seconds')
    expect(matrix.transformations).toContainEqual({ id: 'groupingToMatrix', options: { columnField: 'to', rowField: 'from', valueField: 'Value' } })
    expect(JSON.stringify(matrix)).toContain('color-background')
  })

  it('has path latency against direct, drops, handshakes and flows', () => {
    const vs = panel(/Path latency vs direct/)!
    expect(vs.targets.map((t) => t.expr).join(' ')).toMatch(/overpass_route_delay_seconds.*overpass_route_direct_delay_seconds/)
    expect(panel(/^Drops/)!.targets[0].expr).toContain('overpass_drops_total')
    expect(panel(/Handshakes/)!.targets[0].expr).toContain('overpass_peer_handshakes_initiated_total')
    expect(panel(/^Flows/)!.targets[0].expr).toContain('overpass_service_flows')
  })

  it('queries only metric families the relay exports, each filtered by the $instance variable', () => {
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'instance'])
    for (const e of exprs) {
      const names = e.match(/overpass_[a-z_]+/g) ?? []
      expect(names.length, e).toBeGreaterThan(0)
      for (const n of names) expect(exported, n).toContain(n)
      expect(e.match(/\{instance=~"\$instance"\}/g)?.length, e).toBe(names.length)
    }
  })

  it('has unique panel ids and no overlapping panels', () => {
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length)
    const cells = new Set<string>()
    for (const p of dashboard.panels) {
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), p.title).toBe(false)
          cells.add(`${x},${y}`)
        }
      }
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24)
    }
  })

  itIf(needsTools('promtool'), 'every query is PromQL that promtool parses', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overpass-grafana-'))
    try {
      const rules = ['groups:', '  - name: dashboard', '    rules:', ...exprs.flatMap((e, i) => [`      - record: dashboard:q${i}`, `        expr: ${JSON.stringify(e.replaceAll('$instance', '.*'))}`])]
      fs.writeFileSync(path.join(dir, 'rules.yml'), rules.join('\n') + '\n')
      expect(() => execFileSync('promtool', ['check', 'rules', path.join(dir, 'rules.yml')], { stdio: 'pipe' })).not.toThrow()
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
