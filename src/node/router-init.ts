/**
 * A relay config's control plane: the router's init (every relay probes
 * every peer; unpinned services are routed).
 */
import type { RelayConfig, ServiceConfig } from '../config/types.js'
import type { ColumnAuth, RouterInit } from '../route/types.js'

/**
 * The ingress relays the router plans for. An L3 service's ingress is every
 * relay with `l3:`, but a relay only knows its own file, and the router only
 * needs the ingress list for this relay's own forward route (and an exit's
 * reply routes, which L3 never uses: a reply is a new TUN packet). So an L3
 * relay names itself; any other relay names the exits, which gives it no
 * route to compute (it is no exit without `l3:`, config/l3.ts checks that).
 */
export function routerIngress(config: RelayConfig, s: ServiceConfig): string[] {
  if (s.mode === 'l3') return config.l3 !== undefined ? [config.relay.id] : s.exits
  return [...new Set(s.ingress.map((i) => i.relay))]
}

/** `bootId`: fresh per start, so peers accept our map again at once after a restart. */
export function routerInit(config: RelayConfig, bootId: number, random: () => number, columnAuth?: ColumnAuth): RouterInit {
  const r = config.routing
  return {
    self: config.relay.id,
    relays: [config.relay.id, ...config.peers.map((p) => p.id)],
    services: config.services
      .filter((s) => s.paths.length === 0)
      .map((s) => ({ name: s.name, ingress: routerIngress(config, s), exits: s.exits, profile: s.profile, redundant: s.redundant })),
    probeIntervalMs: r.probeIntervalMs,
    lossDownAfter: r.lossDownAfter,
    hopCostMs: r.hopCostMs,
    maxLossPct: r.maxLossPct,
    floodIntervalMs: r.floodIntervalMs,
    bootId,
    random,
    ...(columnAuth !== undefined ? { columnAuth } : {}),
  }
}
