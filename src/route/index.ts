/**
 * route/ owns the latency map and path choice: it floods each relay's
 * measured inbound edges (from probe/) to every relay, keeps the directed
 * map, and picks per service the fastest (exit, path) from an ingress and
 * the fastest reply path from an exit, with profile penalties, damping,
 * flap damping of the edges it measures, an edge-disjoint backup, and local
 * demotions of edges its own traffic found bad (demotions.ts). It
 * also owns the control messages' fields (control-message.ts; their strict
 * msgpack byte form is control/control-codec.ts) and the canonical encoding
 * that map columns are signed over (column-signature.ts; the signer is
 * injected). Sans-IO: the caller passes nowMs and delivers the messages it returns.
 * docs/routing.md and docs/one-way-latency.md.
 *
 *   const router = createRouter({ self: 'lax', relays, services })
 *   every 10 ms:  for (const m of router.tick(clock.nowMs())) send(m)
 *   on receive:   router.onProbe(now, from, bytes) / router.onControl(now, from, msg)
 *   data path:    router.forwardPath('game')?.path
 */
import { RouterCore } from './router.js'
import type { Router, RouterInit } from './types.js'

export type * from './types.js'
export { RouterConfigError } from './errors.js'
export { MAP_MSG_TYPE, MAP_MSG_VERSION, RESYNC_MSG_TYPE } from './control-message.js'
export type { MapUpdate, EdgeTuple, OriginTuple, ResyncRequest } from './control-message.js'
export { MAX_PATH_RELAYS } from './path-select.js'
export { PROFILES } from './profiles.js'

/** Creates one relay's router. Throws RouterConfigError for an inconsistent init. */
export function createRouter(init: RouterInit): Router {
  return new RouterCore(init)
}
