/**
 * Every `overpass_*` metric family and where its value comes from in the
 * views (metrics/views.ts). Names follow Prometheus conventions: base units
 * in the name (seconds, bytes, ratio), `_total` on counters, one family per
 * quantity with labels for the parts. docs/operating.md (Metrics) lists them.
 */
import type { FamilyDefiner } from './scrape-registry.js'
import { ORIGIN_PREFIX, routeChangeKey, type StatusView } from './views.js'
import type { PathChoice } from '../route/types.js'

export interface BuildInfo {
  version: string
}

const ms = (v: number): number => v / 1000
const pct = (v: number): number => v / 100
const num = (v: unknown): number => (typeof v === 'number' ? v : 0)

export function defineFamilies(d: FamilyDefiner, build: BuildInfo): void {
  d.gauge('overpass_build_info', 'Overpass version, Node.js version, relay id and crypto backend; always 1.', ['version', 'node_version', 'relay', 'crypto_backend'], (set, s) =>
    set({ version: build.version, node_version: process.version, relay: s.status.relay, crypto_backend: s.status.crypto_backend }, 1))
  d.gauge('overpass_uptime_seconds', 'Seconds since the relay started.', [], (set, s) => set({}, s.status.uptime_s))
  definePeers(d)
  defineDrops(d)
  defineServices(d)
  defineMap(d)
  defineRoutes(d)
  defineWorkers(d)
  defineL3(d)
  defineDegraded(d)
}

/** Degraded control plane (docs/routing.md) and direct fallback (docs/operating.md). */
function defineDegraded(d: FamilyDefiner): void {
  d.gauge('overpass_control_plane_degraded', '1 while stale map columns are kept because their relays are still heard (map updates lost), else 0.', [], (set, s) => {
    const cp = s.status.control_plane
    if (cp !== undefined) set({}, cp.degraded ? 1 : 0)
  })
  d.gauge('overpass_control_plane_held_columns', 'Map columns kept stale in degraded mode.', [], (set, s) => {
    const cp = s.status.control_plane
    if (cp !== undefined) set({}, cp.held.length)
  })
  d.gauge('overpass_service_direct_flows', 'Flows the ingress sends straight to the origin (fallback: direct, no overlay path).', ['service'], (set, s) => {
    for (const [service, v] of Object.entries(s.status.services)) if (v.direct !== undefined) set({ service }, num(v.direct.flows))
  })
  d.gauge('overpass_service_draining', 'Services removed by a live change and still draining (1): new flows refused, existing ones carry on until the drain ends.', ['service'], (set, s) => {
    for (const [service, v] of Object.entries(s.status.services)) if (v.draining === true) set({ service }, 1)
  })
}

function definePeers(d: FamilyDefiner): void {
  const peer = (field: string) => (set: (l: { peer: string }, v: number) => void, s: { status: StatusView }) => {
    for (const [id, p] of Object.entries(s.status.peers)) set({ peer: id }, num(p[field]))
  }
  d.counter('overpass_peer_received_packets_total', 'Overlay packets received from the peer (data, probes, control).', ['peer'], peer('packets_in'))
  d.counter('overpass_peer_received_bytes_total', 'Overlay bytes received from the peer.', ['peer'], peer('bytes_in'))
  d.counter('overpass_peer_sent_packets_total', 'Overlay packets sent to the peer.', ['peer'], peer('packets_out'))
  d.counter('overpass_peer_sent_bytes_total', 'Overlay bytes sent to the peer.', ['peer'], peer('bytes_out'))
  d.gauge('overpass_peer_session_up', '1 when an encrypted session with the peer is usable, else 0.', ['peer'], (set, s) => {
    for (const [id, p] of Object.entries(s.status.peers)) set({ peer: id }, p.session === true ? 1 : 0)
  })
  // The crypto endpoint lists peers by their crypto index: `status.peers[id].index` (the order of `status.peers` before a live change).
  const crypto = (field: string) => (set: (l: { peer: string }, v: number) => void, s: { status: StatusView }) => {
    const ids = peerIdsByIndex(s.status)
    const peers = (s.status.crypto as { peers?: ({ peer: number } & Record<string, unknown>)[] } | undefined)?.peers ?? []
    for (const p of peers) if (ids[p.peer] !== undefined) set({ peer: ids[p.peer] }, num(p[field]))
  }
  d.counter('overpass_peer_handshakes_initiated_total', 'Handshake initiations sent to the peer.', ['peer'], crypto('handshakesInitiated'))
  d.counter('overpass_peer_handshake_responses_total', 'Handshake responses sent to the peer.', ['peer'], crypto('handshakeResponsesSent'))
  d.counter('overpass_peer_handshake_timeouts_total', 'Handshakes with the peer that got no answer in time.', ['peer'], crypto('handshakeTimeouts'))
  d.counter('overpass_peer_sessions_established_total', 'Sessions established with the peer (first handshake and every rekey).', ['peer'], crypto('sessionsUp'))
  d.gauge('overpass_peer_session_age_seconds', 'Age of the current session with the peer.', ['peer'], (set, s) => {
    const ids = peerIdsByIndex(s.status)
    const peers = (s.status.crypto as { peers?: { peer: number; sessionAgeMs: number | null }[] } | undefined)?.peers ?? []
    for (const p of peers) if (ids[p.peer] !== undefined && p.sessionAgeMs !== null) set({ peer: ids[p.peer] }, ms(p.sessionAgeMs))
  })
}

/** Peer id by crypto index (a removed peer's index stays empty; without `index`, the listing order). */
function peerIdsByIndex(status: StatusView): string[] {
  const ids: string[] = []
  Object.entries(status.peers).forEach(([id, p], order) => {
    const index = typeof p.index === 'number' ? p.index : order
    ids[index] = id
  })
  return ids
}

function defineDrops(d: FamilyDefiner): void {
  d.counter('overpass_drops_total', 'Packets dropped, by reason (docs/operating.md, Drop reasons); service is empty for drops not tied to a service.', ['reason', 'service'], (set, s) => {
    for (const [reason, n] of Object.entries(s.status.drops)) set({ reason, service: '' }, n)
    for (const [service, v] of Object.entries(s.status.services)) for (const [reason, n] of Object.entries(v.drops)) set({ reason, service }, n)
  })
}

function defineServices(d: FamilyDefiner): void {
  d.gauge('overpass_service_flows', 'Active flows of the service at this relay, by role (ingress or exit).', ['service', 'role'], (set, s) => {
    for (const [service, v] of Object.entries(s.status.services)) {
      set({ service, role: 'ingress' }, v.ingress_flows)
      set({ service, role: 'exit' }, v.exit_flows)
    }
  })
  const traffic = (unit: 'packets' | 'bytes') => (set: (l: { service: string; side: string; direction: string }, v: number) => void, s: { status: StatusView }) => {
    for (const [service, v] of Object.entries(s.status.services)) {
      for (const side of ['client', 'origin'] as const) {
        set({ service, side, direction: 'in' }, num(v[side][`${unit}_in`]))
        set({ service, side, direction: 'out' }, num(v[side][`${unit}_out`]))
      }
    }
  }
  d.counter('overpass_service_packets_total', 'Service datagrams exchanged with clients (side=client) or the origin (side=origin), by direction seen from this relay.', ['service', 'side', 'direction'], traffic('packets'))
  d.counter('overpass_flow_exit_moves_total', 'Live flows of the service moved to another exit because theirs failed or lost its origin leg (sticky exits, dataplane/flow-exits.ts).', ['service'], (set, s) => {
    for (const [service, v] of Object.entries(s.status.services)) if (v.flow_exit_moves !== undefined) set({ service }, v.flow_exit_moves)
  })
  d.counter('overpass_service_bytes_total', 'Service payload bytes exchanged with clients or the origin, by direction seen from this relay.', ['service', 'side', 'direction'], traffic('bytes'))
}

function defineMap(d: FamilyDefiner): void {
  type EdgeLabels = { from: string; to: string }
  const relayEdge = (pick: (e: ViewEdge) => number) => (set: (l: EdgeLabels, v: number) => void, s: { map: { edges: ViewEdge[] } }) => {
    for (const e of s.map.edges) if (!e.to.startsWith(ORIGIN_PREFIX)) set({ from: e.from, to: e.to }, pick(e))
  }
  d.gauge('overpass_edge_delay_seconds', 'One-way delay of the directed edge from -> to, offset-corrected, as `overpass map` shows it.', ['from', 'to'], relayEdge((e) => ms(e.delayMs)))
  d.gauge('overpass_edge_jitter_seconds', 'Jitter of the directed edge.', ['from', 'to'], relayEdge((e) => ms(e.jitterMs)))
  d.gauge('overpass_edge_loss_ratio', 'Probe loss on the directed edge, 0 to 1.', ['from', 'to'], relayEdge((e) => pct(e.lossPct)))
  d.gauge('overpass_edge_up', '1 when the directed edge is usable for routing, else 0.', ['from', 'to'], relayEdge((e) => (e.up ? 1 : 0)))
  d.gauge('overpass_edge_age_seconds', 'Age of the newest measurement of the edge this relay holds.', ['from', 'to'], relayEdge((e) => ms(e.ageMs)))
  type LegLabels = { service: string; exit: string }
  const leg = (pick: (e: ViewEdge) => number) => (set: (l: LegLabels, v: number) => void, s: { map: { edges: ViewEdge[] } }) => {
    for (const e of s.map.edges) if (e.to.startsWith(ORIGIN_PREFIX)) set({ service: e.to.slice(ORIGIN_PREFIX.length), exit: e.from }, pick(e))
  }
  d.gauge('overpass_origin_leg_delay_seconds', 'One-way delay from the exit to the service origin (origin probe).', ['service', 'exit'], leg((e) => ms(e.delayMs)))
  d.gauge('overpass_origin_leg_jitter_seconds', 'Jitter of the exit to origin leg.', ['service', 'exit'], leg((e) => ms(e.jitterMs)))
  d.gauge('overpass_origin_leg_loss_ratio', 'Origin probe loss, 0 to 1.', ['service', 'exit'], leg((e) => pct(e.lossPct)))
  d.gauge('overpass_origin_leg_up', '1 when the exit reaches the origin (origin probe answered), else 0.', ['service', 'exit'], leg((e) => (e.up ? 1 : 0)))
}

interface ViewEdge {
  from: string
  to: string
  delayMs: number
  jitterMs: number
  lossPct: number
  up: boolean
  ageMs: number
}

type RouteLabels = { service: string; direction: string; ingress: string; exit: string }

function eachRoute(s: { routes: { forward: PathChoice[]; reply: PathChoice[] } }, fn: (labels: RouteLabels, p: PathChoice) => void): void {
  // Forward paths run ingress -> exit, reply paths exit -> ingress.
  for (const p of s.routes.forward) fn({ service: p.service, direction: 'forward', ingress: p.path[0], exit: p.path[p.path.length - 1] }, p)
  for (const p of s.routes.reply) fn({ service: p.service, direction: 'reply', ingress: p.path[p.path.length - 1], exit: p.path[0] }, p)
}

function defineRoutes(d: FamilyDefiner): void {
  const labels = ['service', 'direction', 'ingress', 'exit'] as const
  d.gauge('overpass_route_info', 'The current path of the service in this direction (path: relays joined by ">"); always 1.', [...labels, 'path'], (set, s) =>
    eachRoute(s, (l, p) => set({ ...l, path: p.path.join('>') }, 1)))
  d.gauge('overpass_route_hops', 'Relay-to-relay hops on the current path (1 = direct).', labels, (set, s) => eachRoute(s, (l, p) => set(l, p.path.length - 1)))
  d.gauge('overpass_route_delay_seconds', 'Expected one-way delay of the current path.', labels, (set, s) => eachRoute(s, (l, p) => set(l, ms(p.delayMs))))
  d.gauge('overpass_route_direct_delay_seconds', 'One-way delay of the direct edge between the path\'s ends, for comparison.', labels, (set, s) =>
    eachRoute(s, (l, p) => {
      if (p.directDelayMs !== undefined) set(l, ms(p.directDelayMs))
    }))
  d.counter('overpass_route_changes_total', 'Times the path of the service in this direction changed (or was lost) since start.', ['service', 'direction'], (set, s) => {
    for (const [key, n] of Object.entries(s.routes.changes)) {
      const cut = key.lastIndexOf('/')
      set({ service: key.slice(0, cut), direction: key.slice(cut + 1) }, n)
    }
    // Routes that never changed still export 0, so rate() has a series from the start.
    eachRoute(s, (l) => {
      if (s.routes.changes[routeChangeKey(l.service, l.direction as 'forward' | 'reply')] === undefined) set({ service: l.service, direction: l.direction }, 0)
    })
  })
  // Path reports (control/path-reports.ts): absent on a relay without a path meter.
  d.counter('overpass_path_demotions_total', 'Paths demoted because their data fared worse than the map predicted, by reason (loss or delay).', ['reason'], (set, s) => {
    const c = s.routes.path_checks
    if (c === undefined) return
    set({ reason: 'loss' }, c.by_reason.loss)
    set({ reason: 'delay' }, c.by_reason.delay)
  })
  // One family with a direction label: a labelled family without series is absent, where a bare one would show a misleading 0.
  d.counter('overpass_path_reports_total', 'Path reports (data counters and timestamps the exit echoes to the ingress) this relay sent as an exit or received as an ingress.', ['direction'], (set, s) => {
    const c = s.routes.path_checks
    if (c === undefined) return
    set({ direction: 'sent' }, c.reports_sent)
    set({ direction: 'received' }, c.reports_received)
  })
  d.counter('overpass_router_events_total', 'Control-plane events and rejects by kind (route computations, malformed probes or map updates, ...).', ['event'], (set, s) => {
    for (const [event, n] of Object.entries(s.status.router ?? {})) set({ event }, n)
  })
}

type Sock = Record<string, number>

/** Every batched socket of the relay: overlay per worker, service sockets, the exit's origin sockets (summed). */
function eachSocket(st: StatusView, fn: (labels: { socket: string; worker: string }, o: Sock) => void): void {
  if (st.workers !== undefined) {
    for (const w of st.workers) if (w.overlay_socket) fn({ socket: 'overlay', worker: String(w.worker) }, w.overlay_socket)
  } else if (st.overlay_socket) fn({ socket: 'overlay', worker: '0' }, st.overlay_socket)
  for (const [name, o] of Object.entries(st.service_sockets ?? {})) fn({ socket: `service:${name}`, worker: '0' }, o)
  if (st.origin_sockets) fn({ socket: 'origin', worker: '0' }, st.origin_sockets)
}

function defineWorkers(d: FamilyDefiner): void {
  d.gauge('overpass_workers', 'Data-plane workers (threads) of the relay.', [], (set, s) => set({}, s.status.worker_count ?? 1))
  d.gauge('overpass_worker_flows', 'Active flows per worker, service and role.', ['worker', 'service', 'role'], (set, s) => {
    const list = s.status.workers ?? [{ worker: 0, services: s.status.services }]
    for (const w of list) {
      for (const [service, v] of Object.entries(w.services)) {
        set({ worker: String(w.worker), service, role: 'ingress' }, v.ingress_flows)
        set({ worker: String(w.worker), service, role: 'exit' }, v.exit_flows)
      }
    }
  })
  const labels = ['socket', 'worker', 'direction'] as const
  const both = (rx: string, tx: string) => (set: (l: { socket: string; worker: string; direction: string }, v: number) => void, s: { status: StatusView }) =>
    eachSocket(s.status, (l, o) => {
      if (o[rx] !== undefined) set({ ...l, direction: 'rx' }, o[rx])
      if (o[tx] !== undefined) set({ ...l, direction: 'tx' }, o[tx])
    })
  const one = (field: string) => (set: (l: { socket: string; worker: string }, v: number) => void, s: { status: StatusView }) =>
    eachSocket(s.status, (l, o) => {
      if (o[field] !== undefined) set(l, o[field])
    })
  d.counter('overpass_socket_packets_total', 'Datagrams through the relay\'s native UDP sockets (absent with OVERPASS_UDP=dgram).', labels, both('rxPackets', 'txPackets'))
  d.counter('overpass_socket_batches_total', 'recvmmsg (rx) and sendmmsg (tx) calls; packets / batches is the batching achieved.', labels, both('rxBatches', 'txBatches'))
  d.counter('overpass_socket_errors_total', 'Receive and send errors on the socket.', labels, both('rxErrors', 'txErrors'))
  d.counter('overpass_socket_truncated_total', 'Datagrams too large for the receive buffer, dropped.', ['socket', 'worker'], one('rxTruncated'))
  d.counter('overpass_socket_send_dropped_total', 'Sends refused because the socket buffer was full (raise wmem_max).', ['socket', 'worker'], one('txDropped'))
}

function defineL3(d: FamilyDefiner): void {
  const l3 = (field: string) => (set: (l: Record<string, string>, v: number) => void, s: { status: StatusView }) => {
    if (s.status.l3 !== undefined) set({}, num(s.status.l3[field]))
  }
  d.gauge('overpass_l3_flows', 'Active L3 flows (relays with an l3: section).', [], l3('flows'))
  d.counter('overpass_l3_tun_packets_total', 'Packets read from (direction=in) and written to (out) the TUN device.', ['direction'], (set, s) => {
    if (s.status.l3 === undefined) return
    set({ direction: 'in' }, num(s.status.l3.tun_packets_in))
    set({ direction: 'out' }, num(s.status.l3.tun_packets_out))
  })
  d.counter('overpass_l3_tun_bytes_total', 'Bytes read from (in) and written to (out) the TUN device.', ['direction'], (set, s) => {
    if (s.status.l3 === undefined) return
    set({ direction: 'in' }, num(s.status.l3.tun_bytes_in))
    set({ direction: 'out' }, num(s.status.l3.tun_bytes_out))
  })
  d.counter('overpass_l3_icmp_errors_sent_total', 'ICMP errors the relay sent into the TUN (too big, unreachable, time exceeded).', [], l3('icmp_errors_sent'))
  d.counter('overpass_l3_fragmented_packets_total', 'IPv4 packets without DF fragmented to fit the TUN MTU.', [], l3('packets_fragmented'))
  d.counter('overpass_l3_mss_clamped_total', 'TCP SYNs whose MSS option was lowered.', [], l3('tcp_mss_clamped'))
}
