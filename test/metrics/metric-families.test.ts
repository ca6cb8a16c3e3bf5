import { describe, expect, it } from 'vitest'
import { createScrapeRegistry, defineFamilies } from '../../src/metrics/index.js'
import { promtoolProblems } from '../support/promtool.js'
import { itIf, needsTools } from '../support/requirements.js'
import { fakeSnapshot } from './fake-views.js'

const render = (snap = fakeSnapshot()) => createScrapeRegistry((d) => defineFamilies(d, { version: '9.9.9' }), { defaultMetrics: false }).render(snap)

describe('Prometheus metric families', () => {
  it('exports per-peer traffic, sessions and handshakes under the peer id', async () => {
    const text = await render()
    expect(text).toContain('overpass_peer_received_packets_total{peer="sea"} 10')
    expect(text).toContain('overpass_peer_sent_bytes_total{peer="dal"} 400')
    expect(text).toContain('overpass_peer_session_up{peer="sea"} 1')
    expect(text).toContain('overpass_peer_session_up{peer="dal"} 0')
    expect(text).toContain('overpass_peer_handshakes_initiated_total{peer="dal"} 3')
    expect(text).toContain('overpass_peer_handshake_timeouts_total{peer="dal"} 2')
    expect(text).toContain('overpass_peer_session_age_seconds{peer="sea"} 5')
    expect(text).not.toContain('overpass_peer_session_age_seconds{peer="dal"}')
  })

  it('exports relay-wide and per-service drops in one family, by reason', async () => {
    const text = await render()
    expect(text).toContain('overpass_drops_total{reason="unknown_source",service=""} 4')
    expect(text).toContain('overpass_drops_total{reason="oversize",service="game"} 2')
  })

  it('exports every directed edge in seconds and ratios, and origin legs apart', async () => {
    const text = await render()
    expect(text).toContain('overpass_edge_delay_seconds{from="lax",to="sea"} 0.0125')
    expect(text).toContain('overpass_edge_jitter_seconds{from="sea",to="dal"} 0.001')
    expect(text).toContain('overpass_edge_loss_ratio{from="sea",to="dal"} 0.02')
    expect(text).toContain('overpass_edge_up{from="lax",to="dal"} 0')
    expect(text).not.toContain('to="origin:game"')
    expect(text).toContain('overpass_origin_leg_delay_seconds{service="game",exit="dal"} 0.001')
    expect(text).toContain('overpass_origin_leg_up{service="game",exit="dal"} 1')
  })

  it('exports the current route against direct, its length and its changes', async () => {
    const text = await render()
    const l = 'service="game",direction="forward",ingress="lax",exit="dal"'
    expect(text).toContain(`overpass_route_info{${l},path="lax>sea>dal"} 1`)
    expect(text).toContain(`overpass_route_hops{${l}} 2`)
    expect(text).toContain(`overpass_route_delay_seconds{${l}} 0.0325`)
    expect(text).toContain(`overpass_route_direct_delay_seconds{${l}} 0.045`)
    expect(text).toContain('overpass_route_changes_total{service="game",direction="forward"} 3')
  })

  it('exports sticky-exit moves per service and path-check demotions and reports', async () => {
    const snap = fakeSnapshot()
    snap.status.services.game.flow_exit_moves = 4
    snap.routes.path_checks = { demotions: 3, by_reason: { loss: 2, delay: 1 }, reports_sent: 0, reports_received: 17, demoted_edges: [], recent: [] }
    const text = await render(snap)
    expect(text).toContain('overpass_flow_exit_moves_total{service="game"} 4')
    expect(text).toContain('overpass_path_demotions_total{reason="loss"} 2')
    expect(text).toContain('overpass_path_demotions_total{reason="delay"} 1')
    expect(text).toContain('overpass_path_reports_total{direction="sent"} 0')
    expect(text).toContain('overpass_path_reports_total{direction="received"} 17')
  })

  it('exports no path-check series on a relay without path reports', async () => {
    const text = await render()
    expect(text).not.toMatch(/^overpass_path_demotions_total/m)
    expect(text).not.toMatch(/^overpass_path_reports_total/m)
  })

  it('exports flows, sockets, workers and build info', async () => {
    const text = await render()
    expect(text).toContain('overpass_service_flows{service="game",role="ingress"} 5')
    expect(text).toContain('overpass_service_packets_total{service="game",side="client",direction="in"} 7')
    expect(text).toContain('overpass_socket_packets_total{socket="overlay",worker="0",direction="rx"} 300')
    expect(text).toContain('overpass_socket_send_dropped_total{socket="overlay",worker="0"} 2')
    expect(text).toContain('overpass_workers 1')
    expect(text).toContain('overpass_worker_flows{worker="0",service="game",role="ingress"} 5')
    expect(text).toMatch(/overpass_build_info\{version="9\.9\.9",node_version="v\d+[^"]*",relay="lax",crypto_backend="sodium"\} 1/)
    expect(text).toContain('overpass_router_events_total{event="route_computations"} 9')
  })

  it('exports degraded mode and direct-fallback flows', async () => {
    const snap = fakeSnapshot()
    snap.status.control_plane = { degraded: true, degraded_for_s: 12.5, degraded_since: '2026-12-07T06:30:00.000Z', held: ['sea', 'dal'] }
    snap.status.services.game.direct = { flows: 3, packets_out: 9, bytes_out: 90, packets_in: 8, bytes_in: 80 }
    const text = await render(snap)
    expect(text).toContain('overpass_control_plane_degraded 1')
    expect(text).toContain('overpass_control_plane_held_columns 2')
    expect(text).toContain('overpass_service_direct_flows{service="game"} 3')
  })

  it('exports a draining service, and stops exporting it once it is gone', async () => {
    const scrape = createScrapeRegistry((d) => defineFamilies(d, { version: '1' }), { defaultMetrics: false })
    const snap = fakeSnapshot()
    expect(await scrape.render(snap)).not.toContain('overpass_service_draining{')
    snap.status.services.game.draining = true
    expect(await scrape.render(snap)).toContain('overpass_service_draining{service="game"} 1')
    delete (snap.status.services as Record<string, unknown>).game
    expect(await scrape.render(snap)).not.toMatch(/overpass_service_\w+\{service="game"/)
  })

  it('stops exporting a peer or edge that is gone from the views', async () => {
    const scrape = createScrapeRegistry((d) => defineFamilies(d, { version: '1' }), { defaultMetrics: false })
    const snap = fakeSnapshot()
    expect(await scrape.render(snap)).toContain('peer="dal"')
    delete snap.status.peers.dal
    snap.map.edges = snap.map.edges.filter((e) => e.to !== 'dal')
    const text = await scrape.render(snap)
    expect(text).not.toContain('peer="dal"')
    expect(text).not.toContain('to="dal"')
  })

  it('names every family overpass_* with a unit or _total, and counters only with _total', async () => {
    const text = await render()
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => ({ name: m[1], type: m[2] }))
    expect(types.length).toBeGreaterThan(30)
    for (const t of types) {
      expect(t.name).toMatch(/^overpass_/)
      expect(t.name.endsWith('_total')).toBe(t.type === 'counter')
    }
  })

  itIf(needsTools('promtool'), 'passes promtool check metrics', async () => {
    const snap = fakeSnapshot()
    snap.status.services.game.flow_exit_moves = 1
    snap.routes.path_checks = { demotions: 1, by_reason: { loss: 1, delay: 0 }, reports_sent: 2, reports_received: 3, demoted_edges: [], recent: [] }
    expect(promtoolProblems(await createScrapeRegistry((d) => defineFamilies(d, { version: '1' })).render(snap))).toBe('')
  })
})
