/**
 * The L3 part of the HTML report (runs with L3 sites): per branch host,
 * ping and TCP across the overlay, and what the data centre's capture saw,
 * with any source that is not a branch host shown in red: that would mean
 * an exit rewrote the packet.
 */
import { forPair, type L3Result } from '../run/result.js'
import { esc } from './svg.js'

const num = (x: number | undefined, digits = 1): string => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits))

export function l3Html(l3: L3Result): string {
  const rows = l3.pairs.map((p) => {
    const ping = forPair(l3.ping, p)
    const tcp = forPair(l3.tcp, p)
    const pingCells = !ping || ping.skipped
      ? `<td colspan="2">${esc(ping?.skipped ?? 'not run')}</td>`
      : `<td>${ping.received}/${ping.sent}</td><td>${num(ping.rtt_min_ms)} / ${num(ping.rtt_avg_ms)} / ${num(ping.rtt_max_ms)}</td>`
    const tcpCells = !tcp || tcp.skipped
      ? `<td colspan="2">${esc(tcp?.skipped ?? 'not run')}</td>`
      : tcp.error
        ? `<td colspan="2" class="bad">failed: ${esc(tcp.error)}</td>`
        : `<td>${num(tcp.mbps)}</td><td>${tcp.retransmits ?? '-'}</td>`
    return `<tr><th>${esc(p.site)}</th><td>${esc(p.host)}</td><td>${esc(p.dc)} ${esc(p.target)}</td><td>${esc(p.return_exit)}</td>${pingCells}${tcpCells}</tr>`
  }).join('')
  const pairs = `<table><tr><th>site</th><th>branch host</th><th>data centre</th><th>replies via</th><th>ping recv/sent</th><th>rtt min/avg/max ms</th><th>TCP Mbit/s</th><th>retransmits</th></tr>${rows}</table>`
  const captures = l3.capture.map((c) => {
    const srcs = c.sources.map((s) => `${esc(s.addr)} (${Object.entries(s.protos).map(([k, v]) => `${esc(k)} ${v}`).join(', ')})`).join('<br>') || 'none'
    const foreign = c.foreign.length === 0
      ? '<td class="good">none: every packet carries a branch host address</td>'
      : `<td class="bad">${c.foreign.map((s) => `${esc(s.addr)} ×${s.packets}`).join('<br>')} (rewritten by an exit?)</td>`
    return `<tr><th>${esc(c.dc)}</th><td>${esc(c.interfaces.join(', '))}</td><td>${c.packets}</td><td style="text-align:left">${srcs}</td>${foreign}${c.error ? `<td class="bad">${esc(c.error)}</td>` : ''}</tr>`
  }).join('')
  const capture = l3.capture_skipped
    ? `<p>Source-address capture skipped: ${esc(l3.capture_skipped)}</p>`
    : `<table><tr><th>data centre</th><th>interfaces</th><th>packets</th><th>branch sources</th><th>other sources</th></tr>${captures}</table>`
  return `<h2>L3 mode: branch hosts to the data centre, across the overlay</h2>${pairs}
<h3>Source addresses seen at the data centre (capture)</h3>${capture}`
}
