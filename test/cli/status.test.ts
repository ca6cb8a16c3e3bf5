import { describe, expect, it } from 'vitest'
import { formatStatus } from '../../src/cli/commands/status.js'
import type { RelayStats } from '../../src/dataplane/index.js'

const base: RelayStats = { relay: 'lax', uptime_s: 3, crypto_backend: 'sodium', peers: {}, services: {}, drops: {} }

describe('overpass status text', () => {
  it('shows the TUN and ICMP counters of an L3 relay', () => {
    const text = formatStatus({
      ...base,
      l3: { tun: 'op3lax', mtu: 1388, flows: 2, tun_packets_in: 10, tun_bytes_in: 840, tun_packets_out: 9, tun_bytes_out: 756, icmp_errors_sent: 1, packets_fragmented: 4, tcp_mss_clamped: 3 },
    })
    expect(text).toContain('l3  tun op3lax  mtu 1388  flows 2')
    expect(text).toContain('tun: in 10 pkts / 840 B, out 9 pkts / 756 B')
    expect(text).toContain('icmp errors sent 1, packets fragmented 4, tcp mss clamped 3')
  })

  it('shows the network version, what is held aside and why, and a rollback', () => {
    const text = formatStatus({
      ...base,
      network_version: {
        running: 4, on_disk: 5, newest: 6, floor: 6,
        held: { version: 6, reason: 'waiting_canaries', detail: 'waiting until canaries sea have run it healthily for 300 s' },
        waiting_for: ['sea'],
        last_rollback: { from: 3, to: 2, afterMs: 4200 },
        counters: {},
      },
    } as RelayStats)
    expect(text).toContain('network version 4 (version 5 on disk, runs after a restart)')
    expect(text).toContain('  held aside: version 6, waiting canaries: waiting until canaries sea have run it healthily for 300 s (waiting for sea)')
    expect(text).toContain('  rolled back from version 3 to 2: every peer was lost 4.2 s after applying it')
    expect(formatStatus(base)).not.toContain('network version')
  })

  it('lists the endpoints of a peer that has several, in use or spare, with their health', () => {
    const peer = { index: 0, endpoint: '198.51.100.1:7001', session: true, packets_in: 1, bytes_in: 2, packets_out: 3, bytes_out: 4 }
    const text = formatStatus({
      ...base,
      peers: {
        dal: {
          ...peer,
          endpoints: [
            { endpoint: '192.0.2.1:7001', active: false, health: 'down' },
            { endpoint: '198.51.100.1:7001', active: true, health: 'up' },
            { endpoint: '[2001:db8::1]:7001', active: false, health: 'up', rtt_ms: 41.5 },
          ],
        },
        sea: peer,
      },
    })
    expect(text).toContain('endpoints: 192.0.2.1:7001 (spare, down), 198.51.100.1:7001 (in use, up), [2001:db8::1]:7001 (spare, up 41.5 ms)')
    expect(text.match(/endpoints:/g)).toHaveLength(1)
  })

  it('has no l3 block for an L4-only relay', () => {
    expect(formatStatus(base)).not.toContain('l3  tun')
  })

  it('shows the batched overlay and service sockets\' counters, with datagrams per batch', () => {
    const sock = { rxPackets: 300, rxBatches: 40, rxTruncated: 1, rxErrors: 0, txPackets: 290, txBatches: 29, txDropped: 2, txErrors: 0, txLastErrno: 0, txUnaddressable: 0 }
    const text = formatStatus({ ...base, overlay_socket: sock, service_sockets: { 'game@0.0.0.0:27015': { ...sock, rxPackets: 80, rxBatches: 10 } } })
    expect(text).toContain('overlay socket (batched): rx 300 pkts in 40 batches (7.5/batch), truncated 1, errors 0; tx 290 pkts in 29 sendmmsg batches, dropped 2, errors 0')
    expect(text).toContain('service socket game@0.0.0.0:27015 (batched): rx 80 pkts in 10 batches (8.0/batch)')
    expect(formatStatus(base)).not.toContain('overlay socket')
    expect(formatStatus(base)).not.toContain('service socket')
  })

  it('sums the exit\'s origin sockets in one line, with the last errno when sends failed', () => {
    const text = formatStatus({ ...base, origin_sockets: { rxPackets: 50, rxTruncated: 0, rxErrors: 2, txPackets: 60, txDropped: 0, txErrors: 3, txLastErrno: 111, txMisaddressed: 0 } })
    expect(text).toContain('origin sockets (all exit flows): rx 50 pkts, truncated 0, errors 2; tx 60 pkts, dropped 0, errors 3 (last errno 111)')
    expect(formatStatus(base)).not.toContain('origin sockets')
  })

  it('says when the control plane is degraded, since when, and whose updates are missing', () => {
    const text = formatStatus({ ...base, control_plane: { degraded: true, degraded_for_s: 42.5, degraded_since: '2026-12-07T06:30:00.000Z', held: ['sea', 'dal'] } })
    expect(text).toContain('control plane degraded since 2026-12-07T06:30:00.000Z (42.5 s): no map updates from sea, dal, still heard; forwarding on their last columns')
    expect(formatStatus({ ...base, control_plane: { degraded: false, held: [] } })).toContain('control plane ok')
  })

  it('shows how many live flows an ingress moved to another exit', () => {
    const svc = { roles: ['ingress'], ingress_flows: 2, exit_flows: 0, flow_exit_moves: 3, client: {}, origin: {}, drops: {} }
    expect(formatStatus({ ...base, services: { game: svc } })).toContain('  game (ingress)  flows: ingress 2, exit 0  exit moves 3')
    expect(formatStatus({ ...base, services: { game: { ...svc, roles: ['exit'] } } })).not.toContain('exit moves')
  })

  it('shows the direct fallback of a service that has it', () => {
    const svc = { roles: ['ingress'], ingress_flows: 2, exit_flows: 0, client: {}, origin: {}, drops: {}, direct: { flows: 1, packets_out: 5, bytes_out: 50, packets_in: 4, bytes_in: 40 } }
    expect(formatStatus({ ...base, services: { game: svc } })).toContain('    direct:  1 flow now straight to the origin (no overlay path); out 5 pkts / 50 B, in 4 pkts / 40 B')
  })
})
