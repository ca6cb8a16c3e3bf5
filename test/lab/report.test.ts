import { describe, expect, it } from 'vitest'
import { renderHtml } from '../../lab/report/html.js'
import { formatSummary } from '../../lab/report/text.js'
import { seriesJson } from '../../lab/report/write.js'
import type { L3Result, LabResult } from '../../lab/run/result.js'

const pair = { site: 'br1', pop: 'lax', dc: 'dc', host: '10.1.0.2', target: '10.9.0.2', return_exit: 'dal', family: 4 as const }

function l3(foreign: { addr: string; packets: number }[]): L3Result {
  return {
    pairs: [pair],
    ping: [{ ...pair, sent: 10, received: 10, rtt_min_ms: 40.1, rtt_avg_ms: 41.2, rtt_max_ms: 44.9 }],
    tcp: [{ ...pair, bytes: 5_000_000, seconds: 2, mbps: 20, retransmits: 3 }],
    capture: [{ dc: 'dc', interfaces: ['cni-dal'], filter: 'ip', packets: 120, sources: [{ addr: '10.1.0.2', packets: 120, protos: { icmp: 20, tcp: 100 } }], foreign: foreign.map((f) => ({ ...f, protos: {} })) }],
  }
}

function result(l3Part?: L3Result): LabResult {
  return {
    scenario: 'sites', run: 'optest', flows: [], events: [], relay_events: [], origin_events: [], map: [],
    emulator: { backend: 'emulator', delay_error_p50_ms: 0.1, delay_error_p99_ms: 0.4, delay_error_max_ms: 3, delay_error_over_ms: { '0.5': 9, '1': 2, '2': 1, '5': 0 }, samples: 4000, realtime: true, host_steal_ms: 20, window_ms: 9500 },
    wan: { pops: ['lax', 'dal'], delayMs: [[0, 12], [12, 0]] },
    ...(l3Part ? { l3: l3Part } : {}),
  }
}

describe('lab reports', () => {
  it('show the L3 ping, TCP and capture results in the HTML page', () => {
    const html = renderHtml(result(l3([])), new Map())
    expect(html).toContain('L3 mode: branch hosts to the data centre')
    expect(html).toContain('<td>10/10</td>')
    expect(html).toContain('40.1 / 41.2 / 44.9')
    expect(html).toContain('<td>20.0</td><td>3</td>')
    expect(html).toContain('none: every packet carries a branch host address')
  })

  it('flag a rewritten source address in red', () => {
    const html = renderHtml(result(l3([{ addr: '198.19.0.5', packets: 7 }])), new Map())
    expect(html).toContain('<td class="bad">198.19.0.5 ×7 (rewritten by an exit?)</td>')
    expect(formatSummary(result(l3([{ addr: '198.19.0.5', packets: 7 }])))).toContain('OTHER SOURCES (rewritten?): 198.19.0.5 x7')
  })

  it('have no L3 section without L3 sites, and report host steal next to the emulator error', () => {
    const html = renderHtml(result(), new Map())
    expect(html).not.toContain('L3 mode')
    expect(html).toContain('host steal 20 ms')
    expect(formatSummary(result())).toContain('host steal 20 ms in 9.5 s')
  })

  it('write every packet row of every flow to series.json as plain JSON', () => {
    const series = new Map([['call/overpass', { sent: 3, originDuplicates: 1, clientDuplicates: 0, rows: [[0, 0, 20.5, 30, 20.5, 50.5], [2, 40, 21, null, 61, null]] as [number, number, number, number | null, number, number | null][] }]])
    const parsed = JSON.parse(seriesJson(result(), series))
    expect(parsed.columns).toEqual(['seq', 'sent_ms', 'forward_ms', 'reverse_ms', 'origin_rx_ms', 'client_rx_ms'])
    expect(parsed.flows['call/overpass']).toEqual({ sent: 3, origin_duplicates: 1, client_duplicates: 0, rows: [[0, 0, 20.5, 30, 20.5, 50.5], [2, 40, 21, null, 61, null]] })
  })
})
