/** A fixed view snapshot of a relay `lax` with two peers, one routed service and a batched overlay socket. */
import type { ViewSnapshot } from '../../src/metrics/index.js'

export function fakeSnapshot(): ViewSnapshot {
  const sock = { rxPackets: 300, rxBatches: 40, rxTruncated: 1, rxErrors: 0, txPackets: 290, txBatches: 29, txDropped: 2, txErrors: 0, txLastErrno: 0 }
  return {
    status: {
      relay: 'lax',
      uptime_s: 42,
      crypto_backend: 'sodium',
      peers: {
        sea: { endpoint: '127.0.0.1:7002', session: true, packets_in: 10, bytes_in: 1000, packets_out: 12, bytes_out: 1300 },
        dal: { endpoint: '127.0.0.1:7003', session: false, packets_in: 0, bytes_in: 0, packets_out: 3, bytes_out: 400 },
      },
      services: {
        game: {
          roles: ['ingress'],
          ingress_flows: 5,
          exit_flows: 0,
          client: { packets_in: 7, bytes_in: 700, packets_out: 6, bytes_out: 600 },
          origin: { packets_in: 0, bytes_in: 0, packets_out: 0, bytes_out: 0 },
          drops: { oversize: 2 },
        },
      },
      drops: { unknown_source: 4 },
      crypto: {
        total: { rxPackets: 10, txPackets: 15 },
        peers: [
          { peer: 0, handshakesInitiated: 1, handshakeResponsesSent: 0, sessionsUp: 1, handshakeTimeouts: 0, sessionAgeMs: 5000 },
          { peer: 1, handshakesInitiated: 3, handshakeResponsesSent: 0, sessionsUp: 0, handshakeTimeouts: 2, sessionAgeMs: null },
        ],
      },
      overlay_socket: sock,
      router: { route_computations: 9, route_switches: 1 },
    },
    map: {
      relay: 'lax',
      edges: [
        { from: 'lax', to: 'sea', delayMs: 12.5, pseudoMs: 12.5, jitterMs: 0.4, lossPct: 0, up: true, ageMs: 20 },
        { from: 'sea', to: 'dal', delayMs: 20, pseudoMs: 25, jitterMs: 1, lossPct: 2, up: true, ageMs: 50 },
        { from: 'lax', to: 'dal', delayMs: 45, pseudoMs: 45, jitterMs: 0, lossPct: 100, up: false, ageMs: 3000 },
        { from: 'dal', to: 'origin:game', delayMs: 1, pseudoMs: 1, jitterMs: 0.1, lossPct: 0, up: true, ageMs: 100 },
      ],
    },
    routes: {
      relay: 'lax',
      forward: [{ service: 'game', path: ['lax', 'sea', 'dal'], delayMs: 32.5, directDelayMs: 45, sinceMs: 1 }],
      reply: [],
      history: [],
      changes: { 'game/forward': 3 },
    },
  }
}
