/**
 * The status page in Debian's headless chromium against a metrics listener
 * serving fixed views (fake-views.ts): every number it shows is exactly the
 * one in the JSON. test/integration/operator-views.test.ts loads it against
 * live relays.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/io/log.js'
import { startMetricsServer, type MetricsServer, type RelayViews } from '../../src/metrics/index.js'
import { dumpDom } from '../support/chromium.js'
import { describeIf, needsTools } from '../support/requirements.js'
import { fakeSnapshot } from './fake-views.js'

const snap = fakeSnapshot()
const views: RelayViews = { status: () => snap.status, map: () => snap.map, routes: () => snap.routes }
let server: MetricsServer | undefined
let dom = ''

describeIf(needsTools('chromium'), 'status page in headless chromium (fixed views)', () => {
  beforeAll(async () => {
    server = await startMetricsServer({ listen: { host: '127.0.0.1', port: 0 }, statusPage: true }, views, silentLogger)
    dom = await dumpDom(`http://127.0.0.1:${server.address().port}/`)
  }, 90_000)

  afterAll(async () => {
    await server?.close()
  })

  it('loads and names the relay', () => {
    expect(dom).toContain('data-loaded="true"')
    expect(dom).toContain('<title>Overpass relay lax</title>')
    expect(dom).not.toMatch(/id="error">[^<]/)
  })

  it('shows each directed relay edge with its exact delay, and down edges as down', () => {
    const cells = [...dom.matchAll(/<td[^>]* data-from="(\w+)" data-to="(\w+)" data-delay-ms="([^"]+)" data-up="(\w+)"([^>]*)>([^<]*)/g)]
    const edges = snap.map.edges.filter((e) => !e.to.startsWith('origin:'))
    expect(cells.map((c) => `${c[1]}>${c[2]}`).sort()).toEqual(edges.map((e) => `${e.from}>${e.to}`).sort())
    for (const [, from, to, delay, up, attrs, text] of cells) {
      const e = edges.find((x) => x.from === from && x.to === to)!
      expect(Number(delay)).toBe(e.delayMs)
      expect(up).toBe(String(e.up))
      expect(text).toBe(e.up ? e.delayMs.toFixed(2) : 'down')
      if (e.up) expect(attrs).toMatch(/background: rgb\(/)
    }
  })

  it('shows the route with its delay, direct delay and gain', () => {
    expect(dom).toMatch(/<tr data-service="game" data-direction="forward"><td class="name">game<\/td><td class="name">forward<\/td><td class="name">lax › sea › dal<\/td><td>32\.50<\/td><td>45\.00<\/td><td>27\.8%<\/td>/)
  })

  it('shows peers with their sessions, and drops by reason and service', () => {
    expect(dom).toMatch(/<tr data-peer="sea">.*?<td class="name up">up<\/td><td>10<\/td><td>1000<\/td><td>12<\/td><td>1300<\/td>/s)
    expect(dom).toMatch(/<tr data-peer="dal">.*?<td class="name downtext">down<\/td>/s)
    expect(dom).toMatch(/<td class="name">unknown_source<\/td><td class="name"><\/td><td>4<\/td>/)
    expect(dom).toMatch(/<td class="name">oversize<\/td><td class="name">game<\/td><td>2<\/td>/)
  })
})
